// Every shipped catalogue, for the chat app (the dashboard stays English and never
// imports this). To add a language: see web/README.md, "Translations".

import { ar } from './ar';
import { de } from './de';
import { en, type Catalogue } from './en';
import { es } from './es';
import { fr } from './fr';
import type { I18n } from './context';
import type { Locale, LocaleChoice } from './locale';
import { makeTranslator } from './translate';

export const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { en, de, fr, es, ar };

/** The chat app's translator and formats for the visitor's language. */
export function i18nFor(choice: LocaleChoice): I18n {
  return { ...choice, t: makeTranslator(CATALOGUES[choice.language]) };
}
