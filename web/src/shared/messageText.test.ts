import { describe, expect, it } from 'vitest';
import { collapsedText, linkify } from './messageText';

describe('linkify', () => {
  it('finds http and https links, leaving the rest as text', () => {
    expect(linkify('see https://shop.example.com/orders/42 and http://a.test')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://shop.example.com/orders/42', href: 'https://shop.example.com/orders/42' },
      { kind: 'text', text: ' and ' },
      { kind: 'link', text: 'http://a.test', href: 'http://a.test/' },
    ]);
  });

  it('keeps sentence punctuation out of the link, and a balanced parenthesis in', () => {
    expect(linkify('Go to https://x.test/a.')).toEqual([
      { kind: 'text', text: 'Go to ' },
      { kind: 'link', text: 'https://x.test/a', href: 'https://x.test/a' },
      { kind: 'text', text: '.' },
    ]);
    expect(linkify('(https://x.test/a)')[1]).toEqual({ kind: 'link', text: 'https://x.test/a', href: 'https://x.test/a' });
    expect(linkify('https://en.wikipedia.test/wiki/A_(b)')[0]).toMatchObject({ kind: 'link', text: 'https://en.wikipedia.test/wiki/A_(b)' });
  });

  it('never links other schemes or markup', () => {
    for (const t of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'www.example.com', 'ftp://x.test', '<a href="https://x.test">x</a>']) {
      const parts = linkify(t);
      if (t.startsWith('<a')) {
        expect(parts.filter((p) => p.kind === 'link').map((p) => p.text)).toEqual(['https://x.test']);
      } else {
        expect(parts).toEqual([{ kind: 'text', text: t }]);
      }
    }
  });

  it('returns the whole text when there is no link, and nothing for empty text', () => {
    expect(linkify('hello')).toEqual([{ kind: 'text', text: 'hello' }]);
    expect(linkify('')).toEqual([]);
  });
});

describe('collapsedText', () => {
  it('leaves ordinary messages whole', () => {
    expect(collapsedText('short')).toBeNull();
    expect(collapsedText('x'.repeat(1000))).toBeNull();
    expect(collapsedText(Array(20).fill('a line').join('\n'))).toBeNull();
  });

  it('collapses a very long message to its start, on a word boundary', () => {
    const long = 'word '.repeat(1600); // 8,000 characters
    const short = collapsedText(long);
    expect(short).not.toBeNull();
    expect(short!.length).toBeLessThanOrEqual(361);
    expect(short!.length).toBeGreaterThan(280);
    expect(short!.endsWith('word…')).toBe(true);
  });

  it('collapses many short lines', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
    const short = collapsedText(lines, { maxChars: 5000, maxLines: 16, showChars: 5000, showLines: 8 })!;
    expect(short.split('\n')).toHaveLength(8);
  });
});
