// The chat app's side of the postMessage protocol (../shared/embed.ts): posts only to
// the host origin it was given, and listens only to that origin's parent window.

import { asHostToChatEvent, type ChatToHostEvent, type HostToChatEvent } from '../shared/embed';

export interface HostBridge {
  readonly connected: boolean;
  post(event: ChatToHostEvent): void;
  listen(handler: (event: HostToChatEvent) => void): () => void;
}

export function createHostBridge(hostOrigin: string | null, win: Window = window): HostBridge {
  const parent = win.parent !== win ? win.parent : null;
  if (!hostOrigin || !parent) {
    return { connected: false, post: () => undefined, listen: () => () => undefined };
  }
  return {
    connected: true,
    post: (event) => parent.postMessage(event, hostOrigin),
    listen: (handler) => {
      const onMessage = (e: MessageEvent): void => {
        if (e.origin !== hostOrigin || e.source !== parent) return;
        const event = asHostToChatEvent(e.data);
        if (event) handler(event);
      };
      win.addEventListener('message', onMessage);
      return () => win.removeEventListener('message', onMessage);
    },
  };
}
