import { describe, expect, it } from 'vitest';
import { takeResumeToken, type AddressBar } from './resumeLink';

function bar(href: string) {
  const replaced: string[] = [];
  const address: AddressBar = { href, replace: (url) => replaced.push(url) };
  return { address, replaced };
}

describe('takeResumeToken', () => {
  it('takes the token and removes it from the address, keeping the other parameters and the hash', () => {
    const { address, replaced } = bar('https://desk.example.com/support/chat?locale=de&resume=abc.DEF-123&color=%23000#top');
    expect(takeResumeToken(address)).toBe('abc.DEF-123');
    expect(replaced).toEqual(['/support/chat?locale=de&color=%23000#top']);
  });

  it('leaves an address without a token alone', () => {
    const { address, replaced } = bar('https://desk.example.com/support/chat?locale=fr');
    expect(takeResumeToken(address)).toBeNull();
    expect(replaced).toEqual([]);
  });

  it('removes an empty token and trades nothing', () => {
    const { address, replaced } = bar('https://desk.example.com/support/chat?resume=');
    expect(takeResumeToken(address)).toBeNull();
    expect(replaced).toEqual(['/support/chat']);
  });
});
