// Which language the visitor gets (issue 14, point 9). Shared by the loader (its few
// strings) and the chat app (everything else), so both always agree; the loader also
// hands its choice to the iframe as `?locale=`. Kept tiny: it ships in widget.js.

/** The languages shipped, English first (the fallback). */
export const LOCALES = ['en', 'de', 'fr', 'es', 'ar'] as const;
export type Locale = (typeof LOCALES)[number];

/** Languages written right to left. */
const RTL: readonly Locale[] = ['ar'];

export interface LocaleChoice {
  /** The catalogue to use. */
  language: Locale;
  /** The BCP 47 tag for Intl (dates, times), e.g. `de-AT` when the browser says so. */
  tag: string;
  dir: 'ltr' | 'rtl';
}

// A language subtag, then optional script/region/variant subtags: enough to refuse
// junk before it reaches Intl (which throws on a malformed tag).
const TAG_RE = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i;

function supported(tag: string | null | undefined): Locale | null {
  if (!tag || !TAG_RE.test(tag.trim())) return null;
  const base = tag.trim().split('-')[0].toLowerCase();
  return (LOCALES as readonly string[]).includes(base) ? (base as Locale) : null;
}

/**
 * The visitor's language: the script tag's `data-locale` when it names a shipped
 * language (a region falls back to its language: `de-AT` → `de`), else the first of
 * the browser's languages that does, else English. Dates use the most precise tag
 * known for that language (`data-locale="de"` with a browser in `de-AT` → `de-AT`).
 */
export function pickLocale(dataLocale: string | null | undefined, languages: readonly string[] = []): LocaleChoice {
  for (const candidate of [dataLocale, ...languages]) {
    const language = supported(candidate);
    if (!language || !candidate) continue;
    let tag = candidate.trim();
    if (!tag.includes('-')) tag = languages.find((l) => supported(l) === language && l.includes('-')) ?? tag;
    return { language, tag, dir: RTL.includes(language) ? 'rtl' : 'ltr' };
  }
  return { language: 'en', tag: 'en', dir: 'ltr' };
}

/** Puts `{name}` parameters into a template; unknown placeholders stay as they are. */
export function interpolate(template: string, params: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
