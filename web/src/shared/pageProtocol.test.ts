import { describe, expect, it } from 'vitest';
import { asHostToChatEvent, PAGE_TITLE_MAX } from './embed';
import { parseServerFrame } from './protocol';

describe('page events and frames', () => {
  it('takes only http(s) pages from the host, with the title cut', () => {
    const ok = asHostToChatEvent({ type: 'livesupport:page', url: 'https://shop.example/a', title: 'x'.repeat(500), referrer: 5 });
    expect(ok).toEqual({ type: 'livesupport:page', url: 'https://shop.example/a', title: 'x'.repeat(PAGE_TITLE_MAX), referrer: '' });
    expect(asHostToChatEvent({ type: 'livesupport:page', url: 'javascript:alert(1)', title: '' })).toBeNull();
    expect(asHostToChatEvent({ type: 'livesupport:page', title: 'no url' })).toBeNull();
  });

  it("parses the agents' live page frame", () => {
    const frame = parseServerFrame(JSON.stringify({ type: 'page', data: { url: 'https://a.example/', title: 'A', referrer: null, at: '2026-01-05T10:00:00Z' } }));
    expect(frame).toEqual({ type: 'page', data: { url: 'https://a.example/', title: 'A', referrer: null, at: '2026-01-05T10:00:00Z' } });
    expect(parseServerFrame(JSON.stringify({ type: 'page', data: { title: 'no url' } }))).toBeNull();
  });
});
