// Pure helpers for drawing a message's text: links (http and https only, as parts
// the view turns into React elements, never HTML) and collapsing very long text.

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Punctuation that usually ends a sentence rather than the URL.
const TRAILING = /[.,;:!?)\]}'"»]+$/;

/** Splits text into plain parts and http(s) links. Nothing else (javascript:, data:, www.) becomes a link. */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const start = m.index ?? 0;
    let raw = m[0];
    const trail = TRAILING.exec(raw);
    if (trail) {
      // Keep a closing parenthesis that has its opening one inside the URL.
      let cut = trail[0];
      if (cut.startsWith(')') && raw.includes('(')) cut = cut.slice(1);
      raw = raw.slice(0, raw.length - cut.length);
    }
    let href: string;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
      href = u.href;
    } catch {
      continue;
    }
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

export interface CollapseLimits {
  /** Longer than this many characters collapses. */
  maxChars: number;
  /** More lines than this collapses. */
  maxLines: number;
  /** What a collapsed message shows: at most this many characters… */
  showChars: number;
  /** …and lines. */
  showLines: number;
}

// About 20 lines of a widget bubble at most, then "Show more".
export const COLLAPSE_LIMITS: CollapseLimits = { maxChars: 1000, maxLines: 20, showChars: 360, showLines: 8 };

/** The start of a long text to show collapsed, or null when it is short enough to show whole. */
export function collapsedText(text: string, limits: CollapseLimits = COLLAPSE_LIMITS): string | null {
  const lines = text.split('\n');
  if (text.length <= limits.maxChars && lines.length <= limits.maxLines) return null;
  let short = lines.slice(0, limits.showLines).join('\n');
  const keep = limits.showChars;
  if (short.length > keep) {
    short = short.slice(0, keep);
    const space = short.lastIndexOf(' ');
    if (space > keep * 0.8) short = short.slice(0, space);
  }
  return `${short.trimEnd()}…`;
}
