// The loader reports the host page to the chat app (issue 15, point 4): when the app
// comes up and on single-page navigation, without breaking the host page's history.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installWidget, NAVIGATION_REPORT_DELAY_MS } from './loader';

const SERVICE = 'https://support.example.com';

function install(): { iframe: HTMLIFrameElement; posts: unknown[] } {
  const s = document.createElement('script');
  s.src = `${SERVICE}/widget.js`;
  installWidget(s);
  const root = document.getElementById('livesupport-widget')?.shadowRoot;
  if (!root) throw new Error('widget not installed');
  root.querySelector('button')?.dispatchEvent(new Event('pointerenter'));
  const iframe = root.querySelector('iframe') as HTMLIFrameElement;
  const posts: unknown[] = [];
  // jsdom gives a shadow-root iframe no window: the chat app's window is a stand-in.
  const target = {
    postMessage: (data: unknown, origin: string) => {
      expect(origin).toBe(SERVICE);
      posts.push(data);
    },
  } as unknown as Window;
  Object.defineProperty(iframe, 'contentWindow', { value: target });
  window.dispatchEvent(new MessageEvent('message', { data: { type: 'livesupport:ready' }, origin: SERVICE, source: target as MessageEventSource }));
  return { iframe, posts };
}

const pages = (posts: unknown[]) => posts.filter((p) => (p as { type: string }).type === 'livesupport:page');

describe('the loader reports the host page', () => {
  const originalPush = history.pushState;
  const originalReplace = history.replaceState;
  beforeEach(() => {
    vi.useFakeTimers();
    document.title = 'Home';
  });
  afterEach(() => {
    window.LiveSupport?.destroy();
    vi.useRealTimers();
    history.replaceState(null, '', '/');
  });

  it('sends the current page when the chat app comes up', () => {
    const { posts } = install();
    expect(pages(posts)).toEqual([{ type: 'livesupport:page', url: window.location.href, title: 'Home', referrer: document.referrer }]);
  });

  it('follows pushState, replaceState, popstate and hashchange, with the title the app sets after navigating', () => {
    const { posts } = install();
    posts.length = 0;
    history.pushState({ id: 1 }, '', '/product/boots');
    document.title = 'Hiking boots';
    expect(history.state).toEqual({ id: 1 }); // the host page's own call still works
    expect(window.location.pathname).toBe('/product/boots');
    vi.advanceTimersByTime(NAVIGATION_REPORT_DELAY_MS);
    expect(pages(posts)).toEqual([{ type: 'livesupport:page', url: `${window.location.origin}/product/boots`, title: 'Hiking boots', referrer: document.referrer }]);

    history.replaceState(null, '', '/cart');
    window.dispatchEvent(new PopStateEvent('popstate'));
    vi.advanceTimersByTime(NAVIGATION_REPORT_DELAY_MS);
    expect(pages(posts)).toHaveLength(2); // two navigations at once: one report, the newest
    expect((pages(posts)[1] as { url: string }).url).toBe(`${window.location.origin}/cart`);

    window.dispatchEvent(new HashChangeEvent('hashchange'));
    vi.advanceTimersByTime(NAVIGATION_REPORT_DELAY_MS);
    expect(pages(posts)).toHaveLength(3);
  });

  it('puts history back as it was when destroyed', () => {
    install();
    expect(history.pushState).not.toBe(originalPush);
    window.LiveSupport?.destroy();
    expect(history.pushState).toBe(originalPush);
    expect(history.replaceState).toBe(originalReplace);
  });

  it('sends nothing before the chat app is loaded', () => {
    const s = document.createElement('script');
    s.src = `${SERVICE}/widget.js`;
    installWidget(s);
    history.pushState(null, '', '/elsewhere');
    expect(() => vi.advanceTimersByTime(NAVIGATION_REPORT_DELAY_MS)).not.toThrow();
    expect(document.getElementById('livesupport-widget')?.shadowRoot?.querySelector('iframe')).toBeNull();
  });
});
