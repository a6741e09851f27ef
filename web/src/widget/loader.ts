// widget.js: the loader any page includes with one script tag.
//   <script src="https://support.example.com/widget.js" async
//           data-position="right" data-color="#2563eb" data-greeting="Hi! How can we help?"
//           data-locale="de"></script>
// No framework: it draws a launcher button (with an unread badge) inside a shadow root,
// so the host page's CSS cannot reach it, and opens the chat app in an iframe served by
// the service. Host and iframe talk only through origin-checked, namespaced postMessage
// (see ../shared/embed.ts). widget.ts is the entry, built as one self-contained IIFE:
// dist/widget.js.
// Language: data-locale, else the browser's languages, else English (../shared/i18n/
// locale.ts); the loader names its own few controls from loaderStrings.ts and hands
// its choice to the chat app as `?locale=`.

import { textColorOn } from '../shared/contrast';
import { asChatToHostEvent, GREETING_MAX, parseOrigin, safeColor, type HostToChatEvent, type MessagePreview } from '../shared/embed';
import { lazyChatFrame } from './chatFrame';
import { interpolate, pickLocale } from '../shared/i18n/locale';
import { LOADER_STRINGS } from '../shared/i18n/loaderStrings';

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
/** In the host page's localStorage (so per host origin): whether the panel was open. */
export const OPEN_STATE_KEY = 'livesupport:widget-open';
/** The panel covers the whole screen at this width and below (see the CSS). */
const FULL_SCREEN_QUERY = '(max-width: 480px)';
const SVG_NS = 'http://www.w3.org/2000/svg';
/** After a single-page navigation, the page is reported this much later (its title set). */
export const NAVIGATION_REPORT_DELAY_MS = 100;

const CSS = `
:host{all:initial}
.ls-launcher{position:fixed;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;
 background:var(--ls-color);color:var(--ls-on-color,#fff);box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;
 display:flex;align-items:center;justify-content:center;padding:0;font:600 13px system-ui,sans-serif}
.ls-launcher:focus-visible{outline:3px solid #111;outline-offset:3px}
.ls-launcher svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.ls-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;
 border-radius:10px;background:#dc2626;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}
.ls-badge[hidden],.ls-panel[hidden],.ls-preview[hidden],.ls-launcher svg[hidden]{display:none}
.ls-preview{position:fixed;bottom:86px;max-width:min(280px,calc(100vw - 40px));box-sizing:border-box;padding:10px 14px;
 border:0;border-radius:12px;background:#fff;color:#111827;box-shadow:0 6px 24px rgba(0,0,0,.2);z-index:2147483000;
 font:14px/1.4 system-ui,sans-serif;text-align:start;cursor:pointer;display:flex;flex-direction:column;gap:2px;min-height:44px}
.ls-preview:focus-visible{outline:3px solid #111;outline-offset:3px}
.ls-preview-name{font-weight:700;font-size:13px}
.ls-preview-text{overflow:hidden;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow-wrap:anywhere}
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

const CHAT_ICON = 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z';
const CLOSE_ICON = 'M6 6l12 12M18 6L6 18';

function icon(doc: Document, d: string): SVGSVGElement {
  const svg = doc.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = doc.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', d);
  svg.appendChild(path);
  return svg;
}

function readOpenState(win: Window): boolean {
  try {
    return win.localStorage.getItem(OPEN_STATE_KEY) === 'open';
  } catch {
    return false;
  }
}

function writeOpenState(win: Window, open: boolean): void {
  try {
    if (open) win.localStorage.setItem(OPEN_STATE_KEY, 'open');
    else win.localStorage.removeItem(OPEN_STATE_KEY);
  } catch {
    // storage blocked: the panel just will not stay open across pages
  }
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
  const nav = win.navigator;
  const locale = pickLocale(script.dataset.locale, nav.languages ?? [nav.language]);
  const text = LOADER_STRINGS[locale.language];

  const params = new URLSearchParams();
  const hostOrigin = parseOrigin(win.location.origin);
  if (hostOrigin) params.set('host', hostOrigin);
  params.set('color', color);
  if (greeting) params.set('greeting', greeting);
  params.set('locale', locale.tag);

  const container = doc.createElement('div');
  container.id = 'livesupport-widget';
  const root = container.attachShadow({ mode: 'open' });
  addStyles(doc, root);
  const wrap = doc.createElement('div');
  wrap.style.setProperty('--ls-color', color);
  wrap.style.setProperty('--ls-on-color', textColorOn(color));
  wrap.lang = locale.language;
  wrap.dir = locale.dir;

  const launcher = doc.createElement('button');
  launcher.type = 'button';
  launcher.className = `ls-launcher ls-${position}`;
  const chatIcon = icon(doc, CHAT_ICON);
  const closeIcon = icon(doc, CLOSE_ICON);
  launcher.append(chatIcon, closeIcon);
  const badge = doc.createElement('span');
  badge.className = 'ls-badge';
  badge.setAttribute('aria-hidden', 'true');
  badge.hidden = true;
  launcher.appendChild(badge);

  // The newest unread agent reply, as text (never HTML), while minimised.
  const previewButton = doc.createElement('button');
  previewButton.type = 'button';
  previewButton.className = `ls-preview ls-${position}`;
  previewButton.hidden = true;
  const previewName = doc.createElement('span');
  previewName.className = 'ls-preview-name';
  const previewText = doc.createElement('span');
  previewText.className = 'ls-preview-text';
  previewText.dir = 'auto'; // the agent's words, in whatever script they wrote
  previewButton.append(previewName, previewText);

  const panel = doc.createElement('div');
  panel.className = `ls-panel ls-${position}`;
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', text.panel);
  const iframe = doc.createElement('iframe');
  iframe.title = text.panel;
  iframe.setAttribute('allow', 'clipboard-write');

  wrap.append(panel, launcher, previewButton);
  root.appendChild(wrap);
  (doc.body ?? doc.documentElement).appendChild(container);
  // The iframe joins the panel on intent only (chatFrame.ts).
  const frame = lazyChatFrame({ win, launcher, panel, iframe, src: `${origin}/support/chat?${params.toString()}` });

  let isOpen = false;
  let unread = 0;
  let preview: MessagePreview | null = null;
  let lockedOverflow: string | null = null;
  let openedWithFocus = false;

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
    chatIcon.toggleAttribute('hidden', isOpen);
    closeIcon.toggleAttribute('hidden', !isOpen);
    previewButton.hidden = isOpen || !preview || !shown;
    previewName.textContent = preview?.name ?? '';
    previewText.textContent = preview?.text ?? '';
    previewButton.setAttribute('aria-label', preview ? interpolate(text.newMessageFrom, { name: preview.name, text: preview.text }) : text.newMessage);
    lockScroll(isOpen && win.matchMedia?.(FULL_SCREEN_QUERY).matches === true);
    launcher.setAttribute(
      'aria-label',
      isOpen ? text.close : shown ? interpolate(text.openUnread, { count: unread }) : text.open,
    );
  };

  // While the panel covers the screen, the host page must not scroll behind it.
  const lockScroll = (lock: boolean): void => {
    const el = doc.documentElement;
    if (lock && lockedOverflow === null) {
      lockedOverflow = el.style.overflow;
      el.style.overflow = 'hidden';
    } else if (!lock && lockedOverflow !== null) {
      el.style.overflow = lockedOverflow;
      lockedOverflow = null;
    }
  };

  const open = (focus = true): void => {
    if (isOpen) return;
    frame.load();
    isOpen = true;
    openedWithFocus = focus;
    writeOpenState(win, true);
    render();
    post(focus ? { type: 'livesupport:open' } : { type: 'livesupport:open', focus: false });
    if (focus) iframe.focus();
  };
  const close = (): void => {
    if (!isOpen) return;
    isOpen = false;
    writeOpenState(win, false);
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
        reportPage();
        // The app may come up after the panel opened: it focuses only if that open asked to.
        post(isOpen ? (openedWithFocus ? { type: 'livesupport:open' } : { type: 'livesupport:open', focus: false }) : { type: 'livesupport:hidden' });
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
      case 'livesupport:preview':
        preview = event.preview;
        render();
        break;
    }
  };

  // The host page, for the agent's view of the visitor (the chat app throttles and
  // sends it; before the app is loaded there is no one to tell, and it asks on ready).
  // Single-page navigation: history.pushState/replaceState are wrapped (the page's own
  // calls go through untouched), popstate and hashchange are heard. A short delay lets
  // the app set the new page's title first.
  const reportPage = (): void =>
    post({ type: 'livesupport:page', url: win.location.href, title: doc.title, referrer: doc.referrer });
  let navTimer = 0;
  const onNavigate = (): void => {
    win.clearTimeout(navTimer);
    navTimer = win.setTimeout(reportPage, NAVIGATION_REPORT_DELAY_MS);
  };
  const history = win.history;
  const HISTORY_CALLS = ['pushState', 'replaceState'] as const;
  const originals = { pushState: history.pushState, replaceState: history.replaceState };
  const wrappers = { pushState: history.pushState, replaceState: history.replaceState };
  for (const name of HISTORY_CALLS) {
    const original = originals[name];
    history[name] = wrappers[name] = function (this: History, ...args: Parameters<History['pushState']>) {
      const result = original.apply(this, args);
      onNavigate();
      return result;
    };
  }
  win.addEventListener('popstate', onNavigate);
  win.addEventListener('hashchange', onNavigate);

  // Escape closes the panel from anywhere on the host page too (inside the iframe the
  // chat app asks for it with livesupport:close).
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape' && isOpen && !e.defaultPrevented) close();
  };
  const onResize = (): void => render();

  launcher.addEventListener('click', () => (isOpen ? close() : open()));
  previewButton.addEventListener('click', () => open());
  win.addEventListener('message', onMessage);
  doc.addEventListener('keydown', onKey);
  win.addEventListener('resize', onResize);
  render();
  // The panel stays open across the host site's pages (as the visitor left it), without
  // taking the focus from the page that just loaded.
  if (readOpenState(win)) open(false);

  const api: LiveSupportApi = {
    open: () => open(),
    close,
    toggle: () => (isOpen ? close() : open()),
    destroy: () => {
      lockScroll(false);
      win.removeEventListener('message', onMessage);
      frame.destroy();
      doc.removeEventListener('keydown', onKey);
      win.removeEventListener('resize', onResize);
      win.removeEventListener('popstate', onNavigate);
      win.removeEventListener('hashchange', onNavigate);
      win.clearTimeout(navTimer);
      // Unwrap only what is still ours (a later script may have wrapped it again).
      for (const name of HISTORY_CALLS) if (history[name] === wrappers[name]) history[name] = originals[name];
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
