// widget.js: the loader any page includes with one script tag.
//   <script src="https://support.example.com/widget.js" async
//           data-position="right" data-color="#2563eb" data-greeting="Hi! How can we help?"></script>
// No framework: it draws a launcher button (with an unread badge) inside a shadow root,
// so the host page's CSS cannot reach it, and opens the chat app in an iframe served by
// the service. Host and iframe talk only through origin-checked, namespaced postMessage
// (see ../shared/embed.ts). widget.ts is the entry, built as one self-contained IIFE:
// dist/widget.js.

import { asChatToHostEvent, GREETING_MAX, parseOrigin, safeColor, type HostToChatEvent } from '../shared/embed';
import { lazyChatFrame } from './chatFrame';

export interface LiveSupportApi {
  open(): void;
  close(): void;
  toggle(): void;
  destroy(): void;
  readonly unread: number;
}

declare global {
  interface Window {
    LiveSupport?: LiveSupportApi;
  }
}

const DEFAULT_COLOR = '#2563eb';
const SVG_NS = 'http://www.w3.org/2000/svg';

const CSS = `
:host{all:initial}
.ls-launcher{position:fixed;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;
 background:var(--ls-color);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;
 display:flex;align-items:center;justify-content:center;padding:0;font:600 13px system-ui,sans-serif}
.ls-launcher:focus-visible{outline:3px solid #111;outline-offset:3px}
.ls-launcher svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.ls-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;
 border-radius:10px;background:#dc2626;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}
.ls-badge[hidden],.ls-panel[hidden]{display:none}
.ls-panel{position:fixed;bottom:88px;width:380px;height:min(620px,calc(100vh - 110px));border-radius:14px;overflow:hidden;
 box-shadow:0 10px 40px rgba(0,0,0,.3);background:#fff;z-index:2147483001}
.ls-panel iframe{width:100%;height:100%;border:0;display:block}
.ls-left{left:20px}.ls-right{right:20px}
@media (max-width:480px){
 .ls-panel{inset:0;width:100%;height:100%;border-radius:0}
 .ls-open .ls-launcher{display:none}
}
.ls-panel[aria-busy="true"]::before{content:"";position:absolute;top:50%;left:50%;width:28px;height:28px;margin:-17px;
 border:3px solid #d1d5db;border-top-color:var(--ls-color);border-radius:50%;animation:ls-spin .8s linear infinite}
@keyframes ls-spin{to{transform:rotate(360deg)}}
@media (prefers-color-scheme:dark){.ls-panel{background:#111827}.ls-panel[aria-busy="true"]::before{border-color:#4b5563;border-top-color:var(--ls-color)}}`;

function icon(doc: Document): SVGSVGElement {
  const svg = doc.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = doc.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z');
  svg.appendChild(path);
  return svg;
}

function addStyles(doc: Document, root: ShadowRoot): void {
  // Constructed stylesheets are not blocked by a host page's strict style-src.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    return;
  } catch {
    const style = doc.createElement('style');
    style.textContent = CSS;
    root.appendChild(style);
  }
}

/** Installs the widget described by `script`'s src and data- attributes. */
export function installWidget(script: HTMLScriptElement, win: Window = window): LiveSupportApi | null {
  if (win.LiveSupport) return win.LiveSupport;
  const doc = win.document;
  let serviceOrigin: string | null;
  try {
    serviceOrigin = parseOrigin(script.dataset.serviceUrl ?? '') ?? new URL(script.src, win.location.href).origin;
  } catch {
    return null;
  }
  if (!serviceOrigin || serviceOrigin === 'null') return null;
  const origin = serviceOrigin;

  const position = script.dataset.position === 'left' ? 'left' : 'right';
  const color = safeColor(script.dataset.color) ?? DEFAULT_COLOR;
  const greeting = (script.dataset.greeting ?? '').slice(0, GREETING_MAX);

  const params = new URLSearchParams();
  const hostOrigin = parseOrigin(win.location.origin);
  if (hostOrigin) params.set('host', hostOrigin);
  params.set('color', color);
  if (greeting) params.set('greeting', greeting);

  const container = doc.createElement('div');
  container.id = 'livesupport-widget';
  const root = container.attachShadow({ mode: 'open' });
  addStyles(doc, root);
  const wrap = doc.createElement('div');
  wrap.style.setProperty('--ls-color', color);

  const launcher = doc.createElement('button');
  launcher.type = 'button';
  launcher.className = `ls-launcher ls-${position}`;
  launcher.appendChild(icon(doc));
  const badge = doc.createElement('span');
  badge.className = 'ls-badge';
  badge.setAttribute('aria-hidden', 'true');
  badge.hidden = true;
  launcher.appendChild(badge);

  const panel = doc.createElement('div');
  panel.className = `ls-panel ls-${position}`;
  panel.hidden = true;
  const iframe = doc.createElement('iframe');
  iframe.title = 'Support chat';
  iframe.setAttribute('allow', 'clipboard-write');

  wrap.append(panel, launcher);
  root.appendChild(wrap);
  (doc.body ?? doc.documentElement).appendChild(container);
  // The iframe joins the panel on intent only (chatFrame.ts).
  const frame = lazyChatFrame({ win, launcher, panel, iframe, src: `${origin}/support/chat?${params.toString()}` });

  let isOpen = false;
  let unread = 0;

  const post = (event: HostToChatEvent): void => {
    iframe.contentWindow?.postMessage(event, origin);
  };

  const render = (): void => {
    wrap.className = isOpen ? 'ls-open' : '';
    panel.hidden = !isOpen;
    launcher.setAttribute('aria-expanded', String(isOpen));
    const shown = !isOpen && unread > 0;
    badge.hidden = !shown;
    badge.textContent = shown ? (unread > 99 ? '99+' : String(unread)) : '';
    launcher.setAttribute(
      'aria-label',
      isOpen ? 'Close support chat' : shown ? `Open support chat, ${unread} unread` : 'Open support chat',
    );
  };

  const open = (): void => {
    if (isOpen) return;
    frame.load();
    isOpen = true;
    render();
    post({ type: 'livesupport:open' });
    iframe.focus();
  };
  const close = (): void => {
    if (!isOpen) return;
    isOpen = false;
    render();
    post({ type: 'livesupport:hidden' });
    launcher.focus();
  };

  const onMessage = (e: MessageEvent): void => {
    // Only the chat app we embedded, from the service's exact origin.
    if (e.origin !== origin || e.source !== iframe.contentWindow) return;
    const event = asChatToHostEvent(e.data);
    if (!event) return;
    switch (event.type) {
      case 'livesupport:ready':
        frame.ready();
        post({ type: isOpen ? 'livesupport:open' : 'livesupport:hidden' });
        break;
      case 'livesupport:unread':
        unread = event.count;
        render();
        break;
      case 'livesupport:close':
        close();
        break;
      case 'livesupport:conversation':
        frame.rememberConversation(event.active);
        break;
    }
  };

  launcher.addEventListener('click', () => (isOpen ? close() : open()));
  win.addEventListener('message', onMessage);
  render();

  const api: LiveSupportApi = {
    open,
    close,
    toggle: () => (isOpen ? close() : open()),
    destroy: () => {
      win.removeEventListener('message', onMessage);
      frame.destroy();
      container.remove();
      if (win.LiveSupport === api) delete win.LiveSupport;
    },
    get unread() {
      return unread;
    },
  };
  win.LiveSupport = api;
  return api;
}
