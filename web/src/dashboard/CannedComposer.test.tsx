import { fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { Composer } from '../shared/components/Composer';
import type { CannedResponse } from '../shared/protocol';
import { CannedComposer } from './CannedComposer';

const CANNED: CannedResponse[] = [
  { id: 1, shortcut: 'thanks', title: 'Thank you', body: 'Thanks, {{visitor.name}}!', uses: 7, updated_at: '2026-01-01T00:00:00Z' },
  { id: 2, shortcut: 'refund', title: 'Refund policy', body: 'Hi {{visitor.name}}, refunds of "{{ticket.subject}}" take 5 days. {{agent.name}}', uses: 3, updated_at: '2026-01-01T00:00:00Z' },
  { id: 3, shortcut: 'shipping', title: 'Delivery times', body: 'Parcels leave daily.', uses: 0, updated_at: '2026-01-01T00:00:00Z' },
];

function Harness(props: { canned?: CannedResponse[] | null; onSubmit?: (v: string) => void; onInserted?: (id: number) => void; onNeed?: () => void }) {
  const [value, setValue] = useState('');
  return (
    <CannedComposer
      label="Reply"
      value={value}
      onChange={setValue}
      onSubmit={() => props.onSubmit?.(value)}
      canned={props.canned === undefined ? CANNED : props.canned}
      context={{ ticket: { user_name: 'Jane Roe', user_email: 'jane@example.com', subject: 'Broken zip' }, agent: { name: 'Alice' } }}
      onNeedCanned={() => props.onNeed?.()}
      onInserted={(id) => props.onInserted?.(id)}
    />
  );
}

const box = (): HTMLTextAreaElement => screen.getByLabelText('Reply');
const type = (value: string): void => {
  fireEvent.change(box(), { target: { value } });
};
const options = (): string[] => screen.queryAllByRole('option').map((o) => o.textContent ?? '');

describe('CannedComposer', () => {
  it('opens a listbox on / at the start of an empty line, as an ARIA combobox', () => {
    const onNeed = vi.fn();
    render(<Harness onNeed={onNeed} />);
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(screen.getByRole('textbox', { name: 'Reply' })).toBeTruthy();
    type('/');
    expect(onNeed).toHaveBeenCalledTimes(1);
    const combo = screen.getByRole('combobox', { name: 'Reply' });
    const list = screen.getByRole('listbox', { name: 'Canned responses' });
    expect(combo.getAttribute('aria-expanded')).toBe('true');
    expect(combo.getAttribute('aria-controls')).toBe(list.id);
    expect(options()).toEqual(['/thanks Thank you', '/refund Refund policy', '/shipping Delivery times']);
    expect(combo.getAttribute('aria-activedescendant')).toBe(screen.getAllByRole('option')[0]?.id);
  });

  it('filters by shortcut or title as the agent types after the slash', () => {
    render(<Harness />);
    type('/ref');
    expect(options()).toEqual(['/refund Refund policy']);
    type('/deliv');
    expect(options()).toEqual(['/shipping Delivery times']);
    type('/nothing');
    expect(options()).toEqual([]);
    expect(screen.getByRole('status').textContent).toContain('No canned response matches /nothing');
  });

  it('moves with the arrows and inserts the filled-in body on Enter, without sending', () => {
    const onSubmit = vi.fn();
    const onInserted = vi.fn();
    render(<Harness onSubmit={onSubmit} onInserted={onInserted} />);
    type('/');
    fireEvent.keyDown(box(), { key: 'ArrowDown' });
    const selected = screen.getAllByRole('option').filter((o) => o.getAttribute('aria-selected') === 'true');
    expect(selected.map((o) => o.textContent)).toEqual(['/refund Refund policy']);
    fireEvent.keyDown(box(), { key: 'ArrowUp' });
    fireEvent.keyDown(box(), { key: 'ArrowUp' });
    expect(screen.getAllByRole('option')[2]?.getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(box(), { key: 'ArrowDown' });
    fireEvent.keyDown(box(), { key: 'ArrowDown' });
    fireEvent.keyDown(box(), { key: 'Enter' });
    expect(box().value).toBe('Hi Jane Roe, refunds of "Broken zip" take 5 days. Alice');
    expect(onSubmit).not.toHaveBeenCalled();
    expect(onInserted).toHaveBeenCalledWith(2);
    expect(screen.queryByRole('listbox')).toBeNull();
    // The list is closed: Enter now sends.
    fireEvent.keyDown(box(), { key: 'Enter' });
    expect(onSubmit).toHaveBeenCalledWith('Hi Jane Roe, refunds of "Broken zip" take 5 days. Alice');
  });

  it('inserts on a click, keeping the text before the slash line', () => {
    render(<Harness />);
    type('Hello!\n/th');
    fireEvent.click(screen.getByRole('option', { name: '/thanks Thank you' }));
    expect(box().value).toBe('Hello!\nThanks, Jane Roe!');
  });

  it('closes on Escape; Enter then sends what was typed', () => {
    const onSubmit = vi.fn();
    render(<Harness onSubmit={onSubmit} />);
    type('/zzz');
    fireEvent.keyDown(box(), { key: 'Enter' });
    expect(onSubmit).not.toHaveBeenCalled();
    fireEvent.keyDown(box(), { key: 'Escape' });
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(screen.getByRole('textbox', { name: 'Reply' })).toBeTruthy();
    fireEvent.keyDown(box(), { key: 'Enter' });
    expect(onSubmit).toHaveBeenCalledWith('/zzz');
  });

  it('says it is loading before the list arrives, and never opens inside a sentence', () => {
    render(<Harness canned={null} />);
    type('/');
    expect(screen.getByRole('status').textContent).toContain('Loading canned responses');
    type('and/or');
    expect(screen.queryByRole('listbox')).toBeNull();
  });

  it("leaves the visitor's plain Composer without any list", () => {
    const onSubmit = vi.fn();
    render(<Composer label="Message" value="/" onChange={() => undefined} onSubmit={onSubmit} />);
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(screen.queryByRole('combobox')).toBeNull();
    fireEvent.keyDown(screen.getByLabelText('Message'), { key: 'Enter' });
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });
});
