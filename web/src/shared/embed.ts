// The postMessage protocol between the host page (widget.js) and the chat iframe.
// Every event is namespaced ("livesupport:…"); each side accepts only events from the
// other side's exact origin and window, and posts only to that exact origin.
//
//   iframe → host   livesupport:ready                     the chat app is running
//                   livesupport:unread   { count }        unread agent messages
//                   livesupport:close                     the visitor minimised the chat
//                   livesupport:conversation { active }   whether the visitor has a conversation
//                                                         (the loader then loads the app early
//                                                         on the next page view: ../widget/chatFrame.ts)
//                   livesupport:preview  { preview }      the newest unread agent reply
//                                                         ({ name, text } or null), shown
//                                                         next to the launcher as text
//   host → iframe   livesupport:open     { focus? }       the panel is shown (read, focus
//                                                         unless focus: false)
//                   livesupport:hidden                    the panel is hidden (count unread)
//                   livesupport:page { url, title, referrer }  the host page the visitor is on: on
//                                                         start, when the app comes up, and on
//                                                         single-page navigation (the app sends
//                                                         it on as a `page` frame, throttled)

export const EVENT_PREFIX = 'livesupport:';

export type ChatToHostEvent =
  | { type: 'livesupport:ready' }
  | { type: 'livesupport:unread'; count: number }
  | { type: 'livesupport:close' }
  | { type: 'livesupport:conversation'; active: boolean }
  | { type: 'livesupport:preview'; preview: MessagePreview | null };

export interface MessagePreview {
  name: string;
  text: string;
}

/** Characters of an agent's reply the chat app hands the host page for the preview. */
export const PREVIEW_MAX = 140;

/** `focus: false`: the panel was opened without the visitor asking (restored on a new page). */
export type HostToChatEvent =
  | { type: 'livesupport:open'; focus?: boolean }
  | { type: 'livesupport:hidden' }
  | { type: 'livesupport:page'; url: string; title: string; referrer: string };

/** Longest host page URL (and referrer) and title the chat app takes from the loader. */
export const PAGE_URL_MAX = 2048;
export const PAGE_TITLE_MAX = 300;

function typeOf(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null;
  const t = (data as { type?: unknown }).type;
  return typeof t === 'string' && t.startsWith(EVENT_PREFIX) ? t : null;
}

export function asChatToHostEvent(data: unknown): ChatToHostEvent | null {
  switch (typeOf(data)) {
    case 'livesupport:ready':
      return { type: 'livesupport:ready' };
    case 'livesupport:close':
      return { type: 'livesupport:close' };
    case 'livesupport:preview': {
      const p = (data as { preview?: unknown }).preview;
      if (p === null) return { type: 'livesupport:preview', preview: null };
      if (typeof p !== 'object' || p === undefined) return null;
      const { name, text } = p as { name?: unknown; text?: unknown };
      if (typeof name !== 'string' || typeof text !== 'string') return null;
      return { type: 'livesupport:preview', preview: { name: name.slice(0, 80), text: text.slice(0, PREVIEW_MAX) } };
    }
    case 'livesupport:unread': {
      const count = (data as { count?: unknown }).count;
      return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? { type: 'livesupport:unread', count } : null;
    }
    case 'livesupport:conversation': {
      const active = (data as { active?: unknown }).active;
      return typeof active === 'boolean' ? { type: 'livesupport:conversation', active } : null;
    }
    default:
      return null;
  }
}

export function asHostToChatEvent(data: unknown): HostToChatEvent | null {
  const t = typeOf(data);
  if (t === 'livesupport:open') return (data as { focus?: unknown }).focus === false ? { type: t, focus: false } : { type: t };
  if (t === 'livesupport:page') {
    const { url, title, referrer } = data as { url?: unknown; title?: unknown; referrer?: unknown };
    if (typeof url !== 'string' || url.length > PAGE_URL_MAX || !/^https?:\/\//i.test(url)) return null;
    return {
      type: t,
      url,
      title: typeof title === 'string' ? title.slice(0, PAGE_TITLE_MAX) : '',
      referrer: typeof referrer === 'string' && referrer.length <= PAGE_URL_MAX ? referrer : '',
    };
  }
  return t === 'livesupport:hidden' ? { type: t } : null;
}

/** A colour for CSS from a data- attribute or query parameter, or null when unsafe/invalid. */
export function safeColor(value: string | null | undefined): string | null {
  if (!value) return null;
  const v = value.trim();
  return /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(v) || /^[a-z]{3,20}$/i.test(v) ? v : null;
}

/** An http(s) origin exactly as `location.origin` spells it, or null. */
export function parseOrigin(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin === value ? value : null;
  } catch {
    return null;
  }
}

export const GREETING_MAX = 280;
