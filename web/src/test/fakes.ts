// Test doubles: a WebSocket the test drives by hand, and a clock that only moves when told.

import type { Scheduler, WakeSource, WebSocketLike } from '../shared/socket';
import type { ChatMessage, ClientFrame, Notice, Ticket } from '../shared/protocol';

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  sent: ClientFrame[] = [];
  closedWith: number | null = null;
  /** Every close() call, with its code (undefined: closed without one). */
  closeCalls: (number | undefined)[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close(code?: number): void {
    this.closeCalls.push(code);
    this.closedWith = code ?? 1005; // what the peer reads when no code is given
    this.readyState = 3;
  }
  // ---- driven by the test ----
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  receive(frame: unknown): void {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(frame) }));
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' } as CloseEvent);
  }
  sentOfType<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}

export class SocketFactory {
  sockets: FakeWebSocket[] = [];
  create = (url: string): FakeWebSocket => {
    const ws = new FakeWebSocket(url);
    this.sockets.push(ws);
    return ws;
  };
  get last(): FakeWebSocket {
    const ws = this.sockets[this.sockets.length - 1];
    if (!ws) throw new Error('no socket yet');
    return ws;
  }
}

/** Stands in for the browser's online / visibilitychange events. */
export class FakeWakeSource {
  private readonly listeners = new Set<() => void>();
  readonly subscribe: WakeSource = (onWake) => {
    this.listeners.add(onWake);
    return () => {
      this.listeners.delete(onWake);
    };
  };
  get listenerCount(): number {
    return this.listeners.size;
  }
  fire(): void {
    for (const fn of [...this.listeners]) fn();
  }
}

export class FakeScheduler implements Scheduler {
  now = 0;
  private next = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };
  clearTimeout = (id: number): void => {
    this.timers.delete(id);
  };
  get pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}

export function ticket(overrides: Partial<Ticket> = {}): Ticket {
  return {
    id: 45,
    session_id: 'sess-1',
    user_id: null,
    supporter_id: null,
    supporter_name: null,
    subject: 'Order not arrived',
    status: 'open',
    priority: 'medium',
    user_email: 'john@example.com',
    user_name: 'John Doe',
    created_at: '2025-12-26T10:00:00Z',
    updated_at: '2025-12-26T10:00:00Z',
    closed_at: null,
    last_seq: 0,
    unread_count: 0,
    last_message_preview: null,
    waiting_since: null,
    labels: [],
    ...overrides,
  };
}

export function msg(seq: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id: 100 + seq,
    ticket_id: 45,
    seq,
    sender_type: 'user',
    sender_id: null,
    sender_name: 'John Doe',
    message: `message ${seq}`,
    is_read: false,
    created_at: '2025-12-26T10:00:00Z',
    client_msg_id: null,
    ...overrides,
  };
}

/** A feed Notice (issue 20) for ticket 45: one visitor message, by default. */
export function notice(seq: number, overrides: Partial<Notice> = {}): Notice {
  return {
    ticket_id: 45,
    seq,
    at: '2025-12-26T10:00:00Z',
    sender_type: 'user',
    visitor_messages: 1,
    preview: `message ${seq}`,
    waiting_since: '2025-12-26T10:00:00Z',
    unread: 1,
    ...overrides,
  };
}

/** The feed's `notices` frame. */
export const noticesFrame = (...notices: Notice[]) => ({ type: 'notices', data: { notices } });

export const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
