import { describe, expect, it } from 'vitest';
import { charCount, validateEmail, validateMessageText, validatePreChat } from './validation';

describe('validation mirrors the server limits', () => {
  const ok = { user_name: 'John', user_email: '', subject: 'Order', message: '' };

  it.each([
    ['empty name', { ...ok, user_name: '   ' }, 'user_name'],
    ['name of 101 characters', { ...ok, user_name: 'a'.repeat(101) }, 'user_name'],
    ['empty subject', { ...ok, subject: '' }, 'subject'],
    ['subject of 201 characters', { ...ok, subject: 's'.repeat(201) }, 'subject'],
    ['email without @', { ...ok, user_email: 'john.example.com' }, 'user_email'],
    ['email of 255 characters', { ...ok, user_email: `${'a'.repeat(243)}@example.com` }, 'user_email'],
    ['first message of 8193 characters', { ...ok, message: 'm'.repeat(8193) }, 'message'],
  ])('rejects %s', (_name, input, field) => {
    const errors = validatePreChat(input);
    expect(Object.keys(errors)).toEqual([field]);
  });

  it('accepts the limits exactly, and an empty optional email and message', () => {
    expect(validatePreChat({ user_name: 'a'.repeat(100), user_email: '', subject: 's'.repeat(200), message: 'm'.repeat(8192) })).toEqual({});
    expect(validateEmail(`${'a'.repeat(242)}@example.com`)).toBeUndefined();
  });

  it('counts characters as the server does (code points, after trimming)', () => {
    expect(charCount('😀😀')).toBe(2);
    expect(validateMessageText(`  ${'😀'.repeat(8192)}  `)).toBeUndefined();
    expect(validateMessageText('😀'.repeat(8193))).toMatch(/at most 8192/);
    expect(validateMessageText('   ')).toMatch(/empty/);
  });
});
