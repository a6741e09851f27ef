// The translator for shared components (MessageList, Composer, …): the chat app
// provides the visitor's; without a provider (the dashboard) it is English, with
// dates in the browser's own locale as before.

import { createContext, useContext } from 'react';
import type { LocaleChoice } from './locale';
import { english, type Translate } from './translate';

export interface I18n extends Omit<LocaleChoice, 'tag'> {
  /** Locale for Intl dates and times; undefined: the browser's. */
  tag: string | undefined;
  t: Translate;
}

export const ENGLISH: I18n = { language: 'en', tag: undefined, dir: 'ltr', t: english };

export const I18nContext = createContext<I18n>(ENGLISH);

export function useI18n(): I18n {
  return useContext(I18nContext);
}
