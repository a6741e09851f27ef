// `t(key, params)`: a catalogue's text for a key, with its `{placeholders}` filled in.
// This module knows only English (the dashboard and the shared code's default);
// catalogues.ts brings in the other languages, for the chat app alone.

import { en, type Catalogue, type MessageKey } from './en';
import { interpolate } from './locale';

export type Params = Readonly<Record<string, string | number>>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function makeTranslator(catalogue: Catalogue): Translate {
  return (key, params) => interpolate(catalogue[key], params);
}

/** English: what the dashboard and any code given no translator show. */
export const english: Translate = makeTranslator(en);

/** The `{placeholder}` names of a template, sorted, each once. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}
