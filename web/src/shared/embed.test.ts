import { describe, expect, it } from 'vitest';
import { asChatToHostEvent, asHostToChatEvent, parseOrigin, safeColor } from './embed';

describe('postMessage protocol guards', () => {
  it('accepts only namespaced, well-formed events', () => {
    expect(asChatToHostEvent({ type: 'livesupport:unread', count: 3 })).toEqual({ type: 'livesupport:unread', count: 3 });
    expect(asChatToHostEvent({ type: 'livesupport:unread', count: -1 })).toBeNull();
    expect(asChatToHostEvent({ type: 'livesupport:unread', count: '3' })).toBeNull();
    expect(asChatToHostEvent({ type: 'unread', count: 3 })).toBeNull();
    expect(asChatToHostEvent('livesupport:close')).toBeNull();
    expect(asChatToHostEvent({ type: 'livesupport:close' })).toEqual({ type: 'livesupport:close' });
    expect(asHostToChatEvent({ type: 'livesupport:open' })).toEqual({ type: 'livesupport:open' });
    expect(asHostToChatEvent({ type: 'livesupport:open', focus: false })).toEqual({ type: 'livesupport:open', focus: false });
    expect(asHostToChatEvent({ type: 'livesupport:open', focus: 'no' })).toEqual({ type: 'livesupport:open' });
    expect(asChatToHostEvent({ type: 'livesupport:preview', preview: { name: 'Alice', text: 'x'.repeat(500) } })).toEqual({ type: 'livesupport:preview', preview: { name: 'Alice', text: 'x'.repeat(140) } });
    expect(asChatToHostEvent({ type: 'livesupport:preview', preview: null })).toEqual({ type: 'livesupport:preview', preview: null });
    expect(asChatToHostEvent({ type: 'livesupport:preview', preview: { name: 1 } })).toBeNull();
    expect(asHostToChatEvent({ type: 'livesupport:unread', count: 1 })).toBeNull();
  });

  it('carries whether the visitor has a conversation, as a boolean only', () => {
    expect(asChatToHostEvent({ type: 'livesupport:conversation', active: true })).toEqual({ type: 'livesupport:conversation', active: true });
    expect(asChatToHostEvent({ type: 'livesupport:conversation', active: false })).toEqual({ type: 'livesupport:conversation', active: false });
    expect(asChatToHostEvent({ type: 'livesupport:conversation', active: 'yes' })).toBeNull();
    expect(asChatToHostEvent({ type: 'livesupport:conversation' })).toBeNull();
  });

  it('accepts exact http(s) origins only', () => {
    expect(parseOrigin('https://shop.example.com')).toBe('https://shop.example.com');
    expect(parseOrigin('https://shop.example.com/')).toBeNull();
    expect(parseOrigin('javascript:alert(1)')).toBeNull();
    expect(parseOrigin('null')).toBeNull();
    expect(parseOrigin('*')).toBeNull();
  });

  it('accepts only plain colours', () => {
    expect(safeColor('#2563eb')).toBe('#2563eb');
    expect(safeColor('teal')).toBe('teal');
    expect(safeColor('red;background:url(x)')).toBeNull();
    expect(safeColor('#12345')).toBeNull();
  });
});
