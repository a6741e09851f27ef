// When the chat iframe loads (issue 14, point 10). The chat app is ~75 KB of gzipped
// React, and most storefront page views never open the chat: the loader draws only its
// launcher, and puts the iframe in the panel on the first sign of intent:
//   - the pointer over the launcher, a touch on it, or keyboard focus on it (the app
//     then loads during the few hundred ms before the click, so the click feels
//     instant: more than a pre-connect, the request is already in flight);
//   - a click, or LiveSupport.open() from the page;
//   - a conversation to follow: the chat app says whether the visitor has one
//     (`livesupport:conversation`), and the loader keeps that as one flag in the host
//     page's own localStorage (no id, no text: the session itself stays in the
//     iframe's storage). While the flag is set, each page view loads the app after
//     the host page's load event, when the browser is idle, so new replies raise
//     the unread badge without delaying the page. A request of the loader's own for
//     the unread count was the alternative; it would need the guest's session id
//     (its capability) outside the iframe, on the host page, so no.

/** The host-page localStorage key of the "has a conversation" flag. */
export const CONVERSATION_FLAG_KEY = 'livesupport:conversation';

/** Events on the launcher that show intent, each of which loads the chat app. */
export const INTENT_EVENTS = ['pointerenter', 'pointerdown', 'focus'] as const;

/** How long an idle callback may wait after the load event before it runs anyway. */
const IDLE_TIMEOUT_MS = 3_000;

export interface ChatFrame {
  /** Puts the iframe in the panel (once); the chat app starts loading. */
  load(): void;
  readonly loaded: boolean;
  /** The chat app runs: the panel stops showing that it is loading. */
  ready(): void;
  /** Keeps (or drops) the flag that this visitor has a conversation to follow. */
  rememberConversation(active: boolean): void;
  /** Stops waiting for intent or idle time. */
  destroy(): void;
}

function storage(win: Window): Storage | null {
  try {
    return win.localStorage;
  } catch {
    return null; // blocked (sandboxed page, storage disabled): no flag, load on intent only
  }
}

/** Whether a previous page view left the "has a conversation" flag. */
export function hasConversationFlag(win: Window): boolean {
  try {
    return storage(win)?.getItem(CONVERSATION_FLAG_KEY) === '1';
  } catch {
    return false;
  }
}

export function lazyChatFrame(opts: { win: Window; launcher: HTMLElement; panel: HTMLElement; iframe: HTMLIFrameElement; src: string }): ChatFrame {
  const { win, launcher, panel, iframe, src } = opts;
  let loaded = false;
  let idle: { cancel(): void } | null = null;

  const stopWaiting = (): void => {
    for (const type of INTENT_EVENTS) launcher.removeEventListener(type, load);
    win.removeEventListener('load', whenIdle);
    idle?.cancel();
    idle = null;
  };
  function load(): void {
    if (loaded) return;
    loaded = true;
    stopWaiting();
    iframe.src = src;
    // Busy (a spinner in the panel) until the app says it runs.
    panel.setAttribute('aria-busy', 'true');
    panel.appendChild(iframe);
  }
  function whenIdle(): void {
    if (typeof win.requestIdleCallback === 'function') {
      const handle = win.requestIdleCallback(load, { timeout: IDLE_TIMEOUT_MS });
      idle = { cancel: () => win.cancelIdleCallback(handle) };
    } else {
      const handle = win.setTimeout(load, 0);
      idle = { cancel: () => win.clearTimeout(handle) };
    }
  }

  for (const type of INTENT_EVENTS) launcher.addEventListener(type, load);
  if (hasConversationFlag(win)) {
    if (win.document.readyState === 'complete') whenIdle();
    else win.addEventListener('load', whenIdle, { once: true });
  }

  return {
    load,
    get loaded() {
      return loaded;
    },
    ready: () => panel.removeAttribute('aria-busy'),
    rememberConversation(active) {
      try {
        if (active) storage(win)?.setItem(CONVERSATION_FLAG_KEY, '1');
        else storage(win)?.removeItem(CONVERSATION_FLAG_KEY);
      } catch {
        // storage full or blocked: the next page view loads the app on intent only
      }
    },
    destroy: stopWaiting,
  };
}
