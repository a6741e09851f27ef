import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONVERSATION_FLAG_KEY, INTENT_EVENTS, hasConversationFlag, lazyChatFrame } from './chatFrame';
import { installWidget } from './loader';

const SRC = 'https://support.example.com/support/chat?host=x';

function setup() {
  const launcher = document.createElement('button');
  const panel = document.createElement('div');
  const iframe = document.createElement('iframe');
  document.body.append(launcher, panel);
  const frame = lazyChatFrame({ win: window, launcher, panel, iframe, src: SRC });
  return { launcher, panel, iframe, frame };
}

beforeEach(() => localStorage.clear());
afterEach(() => {
  document.body.replaceChildren();
  localStorage.clear();
  vi.useRealTimers();
});

describe('the chat iframe loads on intent only', () => {
  it('adds no iframe until the visitor shows intent', () => {
    vi.useFakeTimers();
    const { panel, frame } = setup();
    vi.runAllTimers();
    expect(panel.querySelector('iframe')).toBeNull();
    expect(frame.loaded).toBe(false);
  });

  it.each(INTENT_EVENTS)('loads on %s over the launcher, once', (type) => {
    const { launcher, panel, iframe, frame } = setup();
    launcher.dispatchEvent(new Event(type));
    expect(frame.loaded).toBe(true);
    expect(panel.querySelector('iframe')).toBe(iframe);
    expect(iframe.src).toBe(SRC);
    for (const t of INTENT_EVENTS) launcher.dispatchEvent(new Event(t));
    expect(panel.querySelectorAll('iframe')).toHaveLength(1);
  });

  it('shows the panel busy from the load until the app is ready', () => {
    const { panel, frame } = setup();
    expect(panel.hasAttribute('aria-busy')).toBe(false);
    frame.load();
    expect(panel.getAttribute('aria-busy')).toBe('true');
    frame.ready();
    expect(panel.hasAttribute('aria-busy')).toBe(false);
  });

  it('loads when asked (a click opens the panel)', () => {
    const { panel, frame } = setup();
    frame.load();
    frame.load();
    expect(panel.querySelectorAll('iframe')).toHaveLength(1);
  });

  it('stops waiting once destroyed', () => {
    const { launcher, panel, frame } = setup();
    frame.destroy();
    launcher.dispatchEvent(new Event('pointerenter'));
    expect(panel.querySelector('iframe')).toBeNull();
  });
});

describe('a conversation to follow loads the app after the host page is loaded', () => {
  it('keeps and drops one flag in the host page storage, with no id in it', () => {
    const { frame } = setup();
    frame.rememberConversation(true);
    expect(localStorage.getItem(CONVERSATION_FLAG_KEY)).toBe('1');
    expect(hasConversationFlag(window)).toBe(true);
    frame.rememberConversation(false);
    expect(localStorage.getItem(CONVERSATION_FLAG_KEY)).toBeNull();
    expect(hasConversationFlag(window)).toBe(false);
  });

  it('with the flag, loads when the browser is idle after the load event', () => {
    vi.useFakeTimers();
    localStorage.setItem(CONVERSATION_FLAG_KEY, '1');
    const readyState = vi.spyOn(document, 'readyState', 'get').mockReturnValue('loading');
    const { panel } = setup();
    vi.runAllTimers();
    expect(panel.querySelector('iframe')).toBeNull();
    readyState.mockReturnValue('complete');
    window.dispatchEvent(new Event('load'));
    expect(panel.querySelector('iframe')).toBeNull();
    vi.runAllTimers();
    expect(panel.querySelector('iframe')).not.toBeNull();
  });

  it('with the flag on an already loaded page, loads at the next idle moment', () => {
    vi.useFakeTimers();
    localStorage.setItem(CONVERSATION_FLAG_KEY, '1');
    const { panel } = setup();
    expect(panel.querySelector('iframe')).toBeNull();
    vi.runAllTimers();
    expect(panel.querySelector('iframe')).not.toBeNull();
  });

  it('works without storage (blocked): intent only, no error', () => {
    const blocked = vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('blocked', 'SecurityError');
    });
    vi.useFakeTimers();
    const { panel, frame, launcher } = setup();
    frame.rememberConversation(true);
    vi.runAllTimers();
    expect(panel.querySelector('iframe')).toBeNull();
    launcher.dispatchEvent(new Event('focus'));
    expect(panel.querySelector('iframe')).not.toBeNull();
    blocked.mockRestore();
  });

  it('the loader keeps the flag from the chat app, and only from its own iframe', () => {
    const s = document.createElement('script');
    s.src = 'https://support.example.com/widget.js';
    const api = installWidget(s);
    const root = document.getElementById('livesupport-widget')?.shadowRoot;
    root?.querySelector('button')?.dispatchEvent(new Event('pointerenter'));
    const iframe = root?.querySelector('iframe');
    const post = (active: boolean, origin: string, source: MessageEventSource | null | undefined) =>
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'livesupport:conversation', active }, origin, source }));
    post(true, 'https://evil.example.com', iframe?.contentWindow);
    expect(hasConversationFlag(window)).toBe(false);
    post(true, 'https://support.example.com', iframe?.contentWindow);
    expect(hasConversationFlag(window)).toBe(true);
    post(false, 'https://support.example.com', iframe?.contentWindow);
    expect(hasConversationFlag(window)).toBe(false);
    api?.destroy();
  });
});
