import { afterEach, describe, expect, it } from 'vitest';
import { installWidget } from './loader';

const SERVICE = 'https://support.example.com';

function script(attrs: Record<string, string> = {}): HTMLScriptElement {
  const s = document.createElement('script');
  s.src = `${SERVICE}/widget.js`;
  for (const [k, v] of Object.entries(attrs)) s.setAttribute(k, v);
  return s;
}

function parts() {
  const host = document.getElementById('livesupport-widget');
  const root = host?.shadowRoot;
  if (!root) throw new Error('widget not installed');
  const launcher = root.querySelector('button') as HTMLButtonElement;
  const iframe = root.querySelector('iframe') as HTMLIFrameElement;
  const badge = root.querySelector('.ls-badge') as HTMLElement;
  const panel = root.querySelector('.ls-panel') as HTMLElement;
  return { launcher, iframe, badge, panel };
}

/** Hovers the launcher: the iframe loads on intent (chatFrame.ts). */
function hover(): void {
  parts().launcher.dispatchEvent(new Event('pointerenter'));
}

function fromChat(data: unknown, origin = SERVICE, source?: MessageEventSource | null) {
  hover();
  const { iframe } = parts();
  window.dispatchEvent(new MessageEvent('message', { data, origin, source: source === undefined ? iframe.contentWindow : source }));
}

afterEach(() => window.LiveSupport?.destroy());

describe('widget.js loader', () => {
  it('draws a named launcher and an iframe on the service origin with the options', () => {
    installWidget(script({ 'data-position': 'left', 'data-color': '#ff0000', 'data-greeting': 'Hello there' }));
    expect(parts().iframe).toBeNull();
    hover();
    const { launcher, iframe, panel } = parts();
    expect(launcher.getAttribute('aria-label')).toBe('Open support chat');
    expect(launcher.getAttribute('aria-expanded')).toBe('false');
    expect(launcher.className).toContain('ls-left');
    expect(iframe.title).toBe('Support chat');
    const url = new URL(iframe.src);
    expect(url.origin + url.pathname).toBe(`${SERVICE}/support/chat`);
    expect(url.searchParams.get('host')).toBe(window.location.origin);
    expect(url.searchParams.get('color')).toBe('#ff0000');
    expect(url.searchParams.get('greeting')).toBe('Hello there');
    expect(panel.hidden).toBe(true);
  });

  it('opens and closes from the launcher', () => {
    installWidget(script());
    const { launcher, panel } = parts();
    launcher.click();
    expect(panel.hidden).toBe(false);
    expect(launcher.getAttribute('aria-label')).toBe('Close support chat');
    launcher.click();
    expect(panel.hidden).toBe(true);
  });

  it('shows the unread count from the chat app, only while closed', () => {
    installWidget(script());
    fromChat({ type: 'livesupport:unread', count: 2 });
    const { launcher, badge } = parts();
    expect(badge.hidden).toBe(false);
    expect(badge.textContent).toBe('2');
    expect(launcher.getAttribute('aria-label')).toBe('Open support chat, 2 unread');
    launcher.click();
    expect(badge.hidden).toBe(true);
  });

  it('ignores messages from any other origin or window', () => {
    installWidget(script());
    fromChat({ type: 'livesupport:unread', count: 5 }, 'https://evil.example.com');
    fromChat({ type: 'livesupport:unread', count: 5 }, SERVICE, window);
    fromChat({ type: 'unread', count: 5 });
    expect(window.LiveSupport?.unread).toBe(0);
    expect(parts().badge.hidden).toBe(true);
  });

  it('closes when the chat app asks (minimise)', () => {
    installWidget(script());
    window.LiveSupport?.open();
    fromChat({ type: 'livesupport:close' });
    expect(parts().panel.hidden).toBe(true);
  });

  it('installs once, ignores an unsafe colour, and removes itself on destroy', () => {
    const api = installWidget(script({ 'data-color': 'red;x:y' }));
    expect(installWidget(script())).toBe(api);
    expect(document.querySelectorAll('#livesupport-widget')).toHaveLength(1);
    hover();
    expect(new URL(parts().iframe.src).searchParams.get('color')).toBe('#2563eb');
    api?.destroy();
    expect(document.getElementById('livesupport-widget')).toBeNull();
    expect(window.LiveSupport).toBeUndefined();
  });
});
