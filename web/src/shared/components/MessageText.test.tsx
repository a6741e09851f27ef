import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MessageText } from './MessageText';

describe('MessageText', () => {
  it('makes http(s) links safe links, the rest literal text, marked dir=auto', () => {
    const { container } = render(<MessageText text={'Track it at https://x.test/t?id=1 <b>now</b> javascript:alert(1)'} />);
    const link = screen.getByRole('link', { name: 'https://x.test/t?id=1' });
    expect(link.getAttribute('href')).toBe('https://x.test/t?id=1');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(container.querySelectorAll('a')).toHaveLength(1);
    expect(container.querySelector('b')).toBeNull();
    expect(container.querySelector('p')!.getAttribute('dir')).toBe('auto');
    expect(container.textContent).toContain('<b>now</b> javascript:alert(1)');
  });

  it('collapses a very long message with Show more / Show less', () => {
    const long = 'lorem ipsum '.repeat(700);
    const { container } = render(<MessageText text={long} />);
    const p = container.querySelector('p')!;
    expect(p.textContent!.length).toBeLessThan(800);
    fireEvent.click(screen.getByRole('button', { name: 'Show more' }));
    expect(p.textContent).toBe(long);
    expect(screen.getByRole('button', { name: 'Show less' }).getAttribute('aria-expanded')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Show less' }));
    expect(p.textContent!.length).toBeLessThan(800);
  });

  it('has no button for an ordinary message', () => {
    render(<MessageText text="Hello" />);
    expect(screen.queryByRole('button')).toBeNull();
  });
});
