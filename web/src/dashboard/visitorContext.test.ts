import { describe, expect, it } from 'vitest';
import type { VisitedPage, VisitorContext } from '../shared/protocol';
import { mergePages, visitorLocalTime, VisitorContextController, PAGES_SHOWN } from './visitorContext';

const at = (s: number) => new Date(Date.UTC(2026, 0, 5, 10, 0, s)).toISOString();
const visited = (url: string, s: number): VisitedPage => ({ url, title: url, referrer: null, at: at(s) });
const context = (pages: VisitedPage[]): VisitorContext => ({
  pages,
  user_agent: 'ua',
  browser: 'Firefox 121',
  os: 'Windows',
  locale: 'de-DE',
  timezone: 'Europe/Berlin',
  previous_tickets: [],
});

describe('visitor context', () => {
  it('keeps pages newest first, each once, at most 20', () => {
    const many = Array.from({ length: 25 }, (_, i) => visited(`https://a.example/${i}`, i));
    const merged = mergePages([visited('https://a.example/24', 24)], many);
    expect(merged).toHaveLength(PAGES_SHOWN);
    expect(merged[0].url).toBe('https://a.example/24');
    expect(merged[1].url).toBe('https://a.example/23');
  });

  it('puts a live page first and keeps it when the REST answer comes later', async () => {
    let answer: (c: VisitorContext) => void = () => undefined;
    const c = new VisitorContextController(() => new Promise((ok) => (answer = ok)));
    const loading = c.load();
    c.applyPage(visited('https://a.example/live', 9));
    answer(context([visited('https://a.example/old', 1)]));
    await loading;
    expect(c.store.get().context?.pages.map((p) => p.url)).toEqual(['https://a.example/live', 'https://a.example/old']);
    expect(c.store.get().context?.browser).toBe('Firefox 121');
  });

  it('reloads after a reconnect, not on the first connect', async () => {
    let calls = 0;
    const c = new VisitorContextController(async () => {
      calls += 1;
      return context([]);
    });
    c.connected();
    expect(calls).toBe(0);
    c.connected();
    await Promise.resolve();
    expect(calls).toBe(1);
  });

  it("shows the visitor's local time in their time zone", () => {
    const now = new Date(Date.UTC(2026, 0, 5, 10, 30)); // a Monday
    expect(visitorLocalTime('Europe/Berlin', now)).toBe('Mon 11:30');
    expect(visitorLocalTime('Asia/Kolkata', now)).toBe('Mon 16:00');
    expect(visitorLocalTime('Not/AZone', now)).toBeNull();
    expect(visitorLocalTime(null, now)).toBeNull();
  });
});
