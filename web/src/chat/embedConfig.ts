// What the loader tells the chat app through its URL: /support/chat?host=<origin>&color=&greeting=
// The host origin is the only window the app will ever post to.

import { GREETING_MAX, parseOrigin, safeColor } from '../shared/embed';

export interface EmbedConfig {
  /** Origin of the page that embeds us; null when opened directly or unknown. */
  hostOrigin: string | null;
  /** True when running inside a frame (the widget), false when opened as a page. */
  embedded: boolean;
  color: string;
  greeting: string;
}

export const DEFAULT_COLOR = '#2563eb';

export function readEmbedConfig(search: string, embedded: boolean): EmbedConfig {
  const params = new URLSearchParams(search);
  return {
    hostOrigin: embedded ? parseOrigin(params.get('host')) : null,
    embedded,
    color: safeColor(params.get('color')) ?? DEFAULT_COLOR,
    greeting: (params.get('greeting') ?? '').slice(0, GREETING_MAX),
  };
}
