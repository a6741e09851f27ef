import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MessageList } from './MessageList';
import { msg } from '../../test/fakes';

const HTML = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>alert(1)</script>';

describe('MessageList', () => {
  it('renders message text literally, never as HTML', () => {
    const { container } = render(
      <MessageList
        self="user"
        messages={[msg(1, { message: HTML }), msg(2, { sender_type: 'supporter', sender_name: '<i>Alice</i>', message: HTML })]}
        outbox={[{ client_msg_id: 'k', message: HTML, created_at: '', state: 'queued' }]}
      />,
    );
    const log = screen.getByRole('log', { name: 'Messages' });
    expect(within(log).getAllByText(HTML)).toHaveLength(3);
    expect(within(log).getByText('<i>Alice</i>')).toBeTruthy();
    expect(container.querySelector('img, b, script, i')).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('shows own, agent, system and pending messages with their state', () => {
    render(
      <MessageList
        self="user"
        messages={[msg(1, { is_read: true }), msg(2, { sender_type: 'supporter', sender_name: 'Alice', message: 'Hi John' }), msg(3, { sender_type: 'system', message: 'Alice joined' })]}
        outbox={[{ client_msg_id: 'k1', message: 'pending one', created_at: '', state: 'sent' }, { client_msg_id: 'k2', message: 'failed one', created_at: '', state: 'failed', error: { code: 'rate_limited', message: 'Slow down' } }]}
        onRetry={() => undefined}
        onDiscard={() => undefined}
      />,
    );
    expect(screen.getByText('Read')).toBeTruthy();
    expect(screen.getByText('Alice')).toBeTruthy();
    expect(screen.getByText('Alice joined')).toBeTruthy();
    expect(screen.getByText('Sending…')).toBeTruthy();
    expect(screen.getByText(/Not sent: Slow down/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy();
  });

  it('does not show an outbox entry twice once its echo has arrived', () => {
    render(<MessageList self="user" messages={[msg(1, { message: 'hello', client_msg_id: 'k1' })]} outbox={[{ client_msg_id: 'k1', message: 'hello', created_at: '', state: 'sent' }]} />);
    expect(screen.getAllByText('hello')).toHaveLength(1);
  });
});
