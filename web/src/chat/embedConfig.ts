// What the loader tells the chat app through its URL:
//   /support/chat?host=<origin>&color=&greeting=&locale=
// The host origin is the only window the app will ever post to. `locale` is the
// loader's choice (the script tag's data-locale, else the browser's languages); opened
// without it (directly, or by an older loader) the app picks from the browser itself.

import { GREETING_MAX, parseOrigin, safeColor } from '../shared/embed';
import { pickLocale, type LocaleChoice } from '../shared/i18n/locale';

export interface EmbedConfig {
  /** Origin of the page that embeds us; null when opened directly or unknown. */
  hostOrigin: string | null;
  /** True when running inside a frame (the widget), false when opened as a page. */
  embedded: boolean;
  color: string;
  greeting: string;
  /** The visitor's language and the locale for dates and times. */
  locale: LocaleChoice;
}

export const DEFAULT_COLOR = '#2563eb';

export function readEmbedConfig(search: string, embedded: boolean, languages: readonly string[] = []): EmbedConfig {
  const params = new URLSearchParams(search);
  return {
    hostOrigin: embedded ? parseOrigin(params.get('host')) : null,
    embedded,
    color: safeColor(params.get('color')) ?? DEFAULT_COLOR,
    greeting: (params.get('greeting') ?? '').slice(0, GREETING_MAX),
    locale: pickLocale(params.get('locale'), languages),
  };
}
