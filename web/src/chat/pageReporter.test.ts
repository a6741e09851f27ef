import { describe, expect, it } from 'vitest';
import { FakeScheduler } from '../test/fakes';
import type { PageReport } from '../shared/protocol';
import { PAGE_REPORT_INTERVAL_MS, PageReporter } from './pageReporter';

function setup(connected = true) {
  const clock = new FakeScheduler();
  const sent: string[] = [];
  const state = { connected };
  const reporter = new PageReporter({
    send: (p) => {
      if (!state.connected) return false;
      sent.push(p.url);
      return true;
    },
    scheduler: clock,
    now: () => clock.now,
  });
  return { clock, sent, state, reporter };
}

const page = (url: string, title = url): PageReport => ({ url, title, referrer: '' });

describe('PageReporter (the chat app throttle)', () => {
  it('sends at most one page a second, the newest one last (trailing)', () => {
    const { clock, sent, reporter } = setup();
    reporter.connected();
    reporter.report(page('https://shop.example/a'));
    expect(sent).toEqual(['https://shop.example/a']);
    clock.advance(100);
    reporter.report(page('https://shop.example/b'));
    clock.advance(100);
    reporter.report(page('https://shop.example/c'));
    expect(sent).toHaveLength(1);
    clock.advance(PAGE_REPORT_INTERVAL_MS - 250);
    expect(sent).toHaveLength(1);
    clock.advance(50);
    expect(sent).toEqual(['https://shop.example/a', 'https://shop.example/c']);
    clock.advance(5_000);
    expect(sent).toHaveLength(2);
  });

  it('does not send the same page twice in a row', () => {
    const { clock, sent, reporter } = setup();
    reporter.connected();
    reporter.report(page('https://shop.example/a'));
    clock.advance(2_000);
    reporter.report(page('https://shop.example/a'));
    expect(sent).toEqual(['https://shop.example/a']);
    reporter.report(page('https://shop.example/a', 'New title'));
    expect(sent).toHaveLength(2);
  });

  it('sends nothing before the ticket exists, then the current page once it is connected', () => {
    const { sent, state, reporter } = setup(false);
    reporter.report(page('https://shop.example/a'));
    reporter.report(page('https://shop.example/b'));
    expect(sent).toEqual([]);
    state.connected = true;
    reporter.connected();
    expect(sent).toEqual(['https://shop.example/b']);
  });

  it('sends the current page again after every reconnect', () => {
    const { clock, sent, reporter } = setup();
    reporter.connected();
    reporter.report(page('https://shop.example/a'));
    clock.advance(3_000);
    reporter.connected();
    expect(sent).toEqual(['https://shop.example/a', 'https://shop.example/a']);
  });

  it('a reconnect within the second waits for it', () => {
    const { clock, sent, reporter } = setup();
    reporter.connected();
    reporter.report(page('https://shop.example/a'));
    clock.advance(200);
    reporter.connected();
    expect(sent).toHaveLength(1);
    clock.advance(800);
    expect(sent).toEqual(['https://shop.example/a', 'https://shop.example/a']);
  });
});
