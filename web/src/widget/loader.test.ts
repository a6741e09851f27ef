import { afterEach, describe, expect, it, vi } from 'vitest';
import { installWidget, OPEN_STATE_KEY } from './loader';

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

afterEach(() => {
  window.LiveSupport?.destroy();
  localStorage.clear();
  document.documentElement.style.overflow = '';
});

function matchWidth(fullScreen: boolean) {
  window.matchMedia = ((query: string) => ({ matches: fullScreen && query.includes('max-width'), media: query })) as unknown as typeof window.matchMedia;
}

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

  it('is a labelled dialog, and Escape on the host page closes it', () => {
    installWidget(script());
    const { launcher, panel } = parts();
    expect(panel.getAttribute('role')).toBe('dialog');
    expect(panel.getAttribute('aria-label')).toBe('Support chat');
    launcher.click();
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(panel.hidden).toBe(true);
    expect(launcher.getAttribute('aria-expanded')).toBe('false');
  });

  it('turns the launcher into a close button while open', () => {
    installWidget(script());
    const { launcher } = parts();
    const [chatIcon, closeIcon] = [...launcher.querySelectorAll('svg')];
    expect(chatIcon.hasAttribute('hidden')).toBe(false);
    expect(closeIcon.hasAttribute('hidden')).toBe(true);
    launcher.click();
    expect(launcher.getAttribute('aria-label')).toBe('Close support chat');
    expect(chatIcon.hasAttribute('hidden')).toBe(true);
    expect(closeIcon.hasAttribute('hidden')).toBe(false);
  });

  it('stays open across pages of the host site (per host origin), without taking the focus', () => {
    installWidget(script());
    parts().launcher.click();
    expect(localStorage.getItem(OPEN_STATE_KEY)).toBe('open');
    window.LiveSupport?.destroy();
    const input = document.body.appendChild(document.createElement('input'));
    input.focus();
    installWidget(script());
    expect(parts().panel.hidden).toBe(false);
    expect(document.activeElement).toBe(input);
    parts().launcher.click();
    expect(localStorage.getItem(OPEN_STATE_KEY)).toBeNull();
    input.remove();
  });

  it('previews the newest unread agent reply as text next to the launcher while minimised', () => {
    installWidget(script());
    fromChat({ type: 'livesupport:unread', count: 1 });
    fromChat({ type: 'livesupport:preview', preview: { name: 'Alice', text: '<b>Your parcel</b> ships today' } });
    const root = document.getElementById('livesupport-widget')!.shadowRoot!;
    const preview = root.querySelector('.ls-preview') as HTMLButtonElement;
    expect(preview.hidden).toBe(false);
    expect(preview.textContent).toBe('Alice<b>Your parcel</b> ships today');
    expect(preview.querySelector('b')).toBeNull();
    preview.click();
    expect(parts().panel.hidden).toBe(false);
    expect(preview.hidden).toBe(true);
    fromChat({ type: 'livesupport:preview', preview: null });
    window.LiveSupport?.close();
    expect(preview.hidden).toBe(true);
  });

  it('picks white or dark launcher text for the brand colour', () => {
    installWidget(script({ 'data-color': '#facc15' }));
    const wrap = document.getElementById('livesupport-widget')!.shadowRoot!.querySelector('div') as HTMLElement;
    expect(wrap.style.getPropertyValue('--ls-on-color')).toBe('#111827');
  });

  it('locks the host page scroll while the panel is full screen (phone), and gives it back', () => {
    const saved = window.matchMedia;
    matchWidth(true);
    try {
      installWidget(script());
      parts().launcher.click();
      expect(document.documentElement.style.overflow).toBe('hidden');
      window.LiveSupport?.close();
      expect(document.documentElement.style.overflow).toBe('');
      matchWidth(false);
      window.LiveSupport?.open();
      expect(document.documentElement.style.overflow).toBe('');
    } finally {
      window.matchMedia = saved;
    }
  });
});

describe('widget.js loader languages', () => {
  afterEach(() => vi.restoreAllMocks());

  it('names its controls in the data-locale language and hands the choice to the chat app', () => {
    vi.spyOn(navigator, 'languages', 'get').mockReturnValue(['fr-FR']);
    installWidget(script({ 'data-locale': 'de' }));
    hover();
    const { launcher, iframe, panel } = parts();
    expect(launcher.getAttribute('aria-label')).toBe('Support-Chat öffnen');
    expect(iframe.title).toBe('Support-Chat');
    expect(panel.getAttribute('aria-label')).toBe('Support-Chat');
    expect(new URL(iframe.src).searchParams.get('locale')).toBe('de');
    fromChat({ type: 'livesupport:unread', count: 2 });
    fromChat({ type: 'livesupport:preview', preview: { name: 'Alice', text: 'Hallo {name}' } });
    expect(launcher.getAttribute('aria-label')).toBe('Support-Chat öffnen, 2 ungelesen');
    const preview = document.getElementById('livesupport-widget')!.shadowRoot!.querySelector('.ls-preview')!;
    expect(preview.getAttribute('aria-label')).toBe('Neue Nachricht von Alice: Hallo {name}');
    launcher.click();
    expect(launcher.getAttribute('aria-label')).toBe('Support-Chat schließen');
  });

  it('without data-locale follows the browser (region falling back), right to left for Arabic', () => {
    vi.spyOn(navigator, 'languages', 'get').mockReturnValue(['it-IT', 'ar-EG']);
    installWidget(script());
    hover();
    const { launcher, iframe } = parts();
    expect(launcher.getAttribute('aria-label')).toBe('فتح دردشة الدعم');
    expect(new URL(iframe.src).searchParams.get('locale')).toBe('ar-EG');
    const wrap = launcher.parentElement!;
    expect(wrap.dir).toBe('rtl');
    expect(wrap.lang).toBe('ar');
  });

  it('falls back to English when nothing shipped is asked for', () => {
    vi.spyOn(navigator, 'languages', 'get').mockReturnValue(['ja-JP']);
    installWidget(script({ 'data-locale': 'it' }));
    expect(parts().launcher.getAttribute('aria-label')).toBe('Open support chat');
  });
});
