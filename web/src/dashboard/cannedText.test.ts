import { describe, expect, it } from 'vitest';
import { fillPlaceholders, filterCanned, replaceSlash, slashQuery } from './cannedText';
import type { CannedResponse } from '../shared/protocol';

const canned = (shortcut: string, title: string, uses = 0): CannedResponse => ({ id: shortcut.length * 100 + uses, shortcut, title, body: `${title} body`, uses, updated_at: '2026-01-01T00:00:00Z' });

describe('slashQuery', () => {
  it('opens only for a slash at the start of an empty line, with what follows it', () => {
    expect(slashQuery('/', 1)).toEqual({ start: 0, end: 1, query: '' });
    expect(slashQuery('/ref', 4)).toEqual({ start: 0, end: 4, query: 'ref' });
    expect(slashQuery('Hello\n/thx', 10)).toEqual({ start: 6, end: 10, query: 'thx' });
    expect(slashQuery('Hello\n/thx\nmore', 10)).toEqual({ start: 6, end: 10, query: 'thx' });
  });

  it('stays closed inside a sentence, after a space, or with the caret elsewhere', () => {
    for (const [text, caret] of [
      ['and/or', 6],
      [' /ref', 5],
      ['/ref done', 9],
      ['/ref', 2],
      ['//', 2],
      ['', 0],
    ] as const) {
      expect(slashQuery(text, caret), `${JSON.stringify(text)} at ${caret}`).toBeNull();
    }
  });
});

describe('filterCanned', () => {
  const list = [canned('thanks', 'Thank you', 9), canned('refund', 'Refund policy', 5), canned('shipping', 'Delivery times and refunds', 1)];

  it('keeps the server order (most used first) without a query', () => {
    expect(filterCanned(list, '').map((c) => c.shortcut)).toEqual(['thanks', 'refund', 'shipping']);
  });

  it('matches shortcut or title in any case, shortcuts starting with the query first', () => {
    expect(filterCanned(list, 'REF').map((c) => c.shortcut)).toEqual(['refund', 'shipping']);
    expect(filterCanned(list, 'delivery').map((c) => c.shortcut)).toEqual(['shipping']);
    expect(filterCanned(list, 'ank').map((c) => c.shortcut)).toEqual(['thanks']);
    expect(filterCanned(list, 'zzz')).toEqual([]);
  });
});

describe('fillPlaceholders', () => {
  const ctx = {
    ticket: { user_name: 'Jane Roe', user_email: null, subject: 'Broken zip' },
    agent: { name: 'Alice' },
  };

  it('fills every known placeholder, spaces inside the braces allowed', () => {
    expect(fillPlaceholders('Hi {{visitor.name}}, about "{{ ticket.subject }}" — {{agent.name}}', ctx)).toBe('Hi Jane Roe, about "Broken zip" — Alice');
  });

  it('leaves an unknown value empty and an unknown placeholder as written', () => {
    expect(fillPlaceholders('Mail: [{{visitor.email}}] {{visitor.phone}} {{x}}', ctx)).toBe('Mail: [] {{visitor.phone}} {{x}}');
  });

  it('repeats a placeholder as often as it appears', () => {
    expect(fillPlaceholders('{{agent.name}}/{{agent.name}}', ctx)).toBe('Alice/Alice');
  });
});

describe('replaceSlash', () => {
  it('replaces the slash command and puts the caret after the insertion', () => {
    const text = 'Hello\n/ref';
    const slash = slashQuery(text, text.length);
    expect(slash).not.toBeNull();
    if (slash) expect(replaceSlash(text, slash, 'We refund.')).toEqual({ text: 'Hello\nWe refund.', caret: 16 });
  });
});
