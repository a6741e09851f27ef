// Pure rules of canned responses in the reply box: when `/` opens the list, which
// responses the text after it picks, and the placeholders filled in on insertion.

import type { Agent, CannedResponse, Ticket } from '../shared/protocol';

/** The `/query` being typed: where it starts in the text, and what follows the slash. */
export interface SlashQuery {
  start: number;
  end: number;
  query: string;
}

/**
 * The slash command at the caret, if any: the caret's line holds only `/` and what
 * was typed after it (no space), so `/` opens the list only at the start of an empty
 * line and a slash inside a sentence ("and/or") never does.
 */
export function slashQuery(text: string, caret: number): SlashQuery | null {
  const lineStart = text.lastIndexOf('\n', caret - 1) + 1;
  const nextBreak = text.indexOf('\n', caret);
  const lineEnd = nextBreak === -1 ? text.length : nextBreak;
  if (lineEnd !== caret) return null;
  const line = text.slice(lineStart, caret);
  const match = /^\/([^\s/]*)$/.exec(line);
  return match ? { start: lineStart, end: caret, query: match[1] ?? '' } : null;
}

/** Responses whose shortcut or title holds `query` (any case); shortcuts that start with it
 *  come first, otherwise the server's order (most used first) is kept. */
export function filterCanned(list: readonly CannedResponse[], query: string): CannedResponse[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...list];
  const hits = list.filter((c) => c.shortcut.toLowerCase().includes(q) || c.title.toLowerCase().includes(q));
  const starts = (c: CannedResponse): number => (c.shortcut.toLowerCase().startsWith(q) ? 0 : 1);
  return hits.map((c, i) => ({ c, i })).sort((a, b) => starts(a.c) - starts(b.c) || a.i - b.i).map(({ c }) => c);
}

export interface PlaceholderContext {
  ticket: Pick<Ticket, 'user_name' | 'user_email' | 'subject'> | null;
  agent: Pick<Agent, 'name'> | null;
}

/** The placeholders a body may hold (API.md "Canned responses"). */
export const PLACEHOLDERS = ['visitor.name', 'visitor.email', 'agent.name', 'ticket.subject'] as const;

/**
 * Fills the known placeholders in (spaces inside the braces allowed); an unknown value
 * (a visitor without an email) becomes empty text, and any other `{{…}}` is left as written.
 */
export function fillPlaceholders(body: string, ctx: PlaceholderContext): string {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    'visitor.name': ctx.ticket?.user_name ?? '',
    'visitor.email': ctx.ticket?.user_email ?? '',
    'agent.name': ctx.agent?.name ?? '',
    'ticket.subject': ctx.ticket?.subject ?? '',
  };
  return body.replace(/\{\{\s*([a-z]+\.[a-z]+)\s*\}\}/g, (whole, key: string) =>
    (PLACEHOLDERS as readonly string[]).includes(key) ? values[key as (typeof PLACEHOLDERS)[number]] : whole,
  );
}

/** The text with `slash` replaced by `insert`, and where the caret goes (after it). */
export function replaceSlash(text: string, slash: SlashQuery, insert: string): { text: string; caret: number } {
  return { text: text.slice(0, slash.start) + insert + text.slice(slash.end), caret: slash.start + insert.length };
}
