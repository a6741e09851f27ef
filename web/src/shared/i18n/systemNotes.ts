// The server writes the system notes a visitor sees in English (src/domain/ticket.rs,
// `Note::status` and the join note). The chat app shows the known ones in the
// visitor's language: each English template of the `system.*` keys is matched as a
// whole against the text, its `{name}` taken from the match. Anything else (a note
// the server words differently one day) is shown exactly as the server sent it.

import { en, type MessageKey } from './en';
import type { Translate } from './translate';

const SYSTEM_KEYS = (Object.keys(en) as MessageKey[]).filter((k) => k.startsWith('system.'));

const PATTERNS = SYSTEM_KEYS.map((key) => {
  const names: string[] = [];
  const source = en[key]
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]);
      return '(.+)';
    })
    .join('');
  return { key, names, re: new RegExp(`^${source}$`) };
});

/** A server system note in the translator's language, or as it came when unknown. */
export function localiseSystemNote(text: string, t: Translate): string {
  for (const { key, names, re } of PATTERNS) {
    const m = re.exec(text);
    if (m) return t(key, Object.fromEntries(names.map((n, i) => [n, m[i + 1]])));
  }
  return text;
}
