// One ticket's live stream, on top of ReconnectingSocket, keeping API.md's delivery
// promise on the client side:
//  - messages are handed on in seq order, each exactly once (a seq at or below the last
//    one delivered is a duplicate; a jump is a gap, filled through REST);
//  - every reconnect asks for `since=<last seq delivered>`, so nothing is missed;
//  - `resync_required` pages through REST from the last seq, then reconnects;
//  - outgoing messages wait in an outbox, keyed by client_msg_id, until their own echo
//    (the acknowledgement) comes back; after a reconnect the unacknowledged ones are
//    sent again with the same key, once the server's replay is through, so the server's
//    idempotency turns a lost acknowledgement into no duplicate.
// Framework-free so it can be unit-tested with a fake socket and a fake clock.

import {
  ReconnectingSocket,
  type LivenessPolicy,
  type Scheduler,
  type SocketState,
  type WakeSource,
  type WebSocketFactory,
  browserScheduler,
} from './socket';
import type { BackoffPolicy } from './backoff';
import { newClientMsgId } from './ids';
import { isStoredMessageFrame, type ChatMessage, type ErrorBody, type MessagePage, type PageReport, type ServerFrame } from './protocol';

export interface PendingMessage {
  client_msg_id: string;
  message: string;
  created_at: string;
  /** queued: not on the wire yet; sent: written, waiting for the echo; failed: the server refused it. */
  state: 'queued' | 'sent' | 'failed';
  error?: ErrorBody;
}

export type ChannelState = 'connecting' | 'online' | 'reconnecting' | 'resyncing' | 'stopped' | 'ended';

export interface ChannelStateInfo {
  attempt: number;
  delayMs?: number;
  closeCode?: number;
}

export interface TicketChannelListener {
  /** New messages, ascending by seq, never seen before by this channel. */
  onMessages?(messages: ChatMessage[]): void;
  /** Every non-message frame (ready, typing, read, presence, ticket_updated, error…). */
  onFrame?(frame: ServerFrame): void;
  onOutbox?(outbox: readonly PendingMessage[]): void;
  onState?(state: ChannelState, info: ChannelStateInfo): void;
}

export interface TicketChannelOptions {
  /** Socket URL for a connection that should replay everything after `since`. */
  url: (since: number) => string;
  /** Highest seq the caller already holds (from REST history). */
  initialSeq: number;
  /** Forward page through REST, used for gaps and resync_required. */
  fetchAfter: (afterSeq: number) => Promise<MessagePage>;
  listener: TicketChannelListener;
  initialOutbox?: readonly PendingMessage[];
  createSocket?: WebSocketFactory;
  scheduler?: Scheduler;
  backoff?: BackoffPolicy;
  random?: () => number;
  liveness?: LivenessPolicy;
  wake?: WakeSource;
  newId?: () => string;
  now?: () => Date;
  /** Longest wait for the announced replay before the outbox is flushed anyway. */
  replayWaitMs?: number;
}

/**
 * After a `rate_limited` refusal the outbox holds this long before it sends again: the
 * error's `retry_after` (seconds) when the server gives one, else 2 s (the visitor's
 * steady rate is one message every 2 s), doubling on each refusal in a row up to 16 s.
 */
export function rateLimitDelayMs(error: ErrorBody, refusalsInARow: number): number {
  if (typeof error.retry_after === 'number' && error.retry_after > 0) return Math.min(error.retry_after, 300) * 1000;
  return Math.min(2000 * 2 ** Math.max(0, refusalsInARow - 1), 16_000);
}

export class TicketChannel {
  private readonly socket: ReconnectingSocket;
  private readonly opts: TicketChannelOptions;
  private readonly scheduler: Scheduler;
  private seq: number;
  private outbox: PendingMessage[];
  private replayRemaining = 0;
  private replayTimer: number | null = null;
  private ready = false;
  private resyncing = false;
  private stopped = true;
  private readWanted = 0;
  private readSent = 0;
  /** last_seq of a `ready` that announced more than it replayed, already fetched once. */
  private readyGapHandled = -1;
  /** Set while the outbox waits out a rate limit. */
  private holdTimer: number | null = null;
  private refusalsInARow = 0;

  constructor(options: TicketChannelOptions) {
    this.opts = options;
    this.scheduler = options.scheduler ?? browserScheduler;
    this.seq = options.initialSeq;
    // A message that was on the wire when the page went away may or may not be stored:
    // it goes out again with its key, and the server's idempotency sorts it out.
    this.outbox = (options.initialOutbox ?? []).map((p) => (p.state === 'sent' ? { ...p, state: 'queued' } : { ...p }));
    this.socket = new ReconnectingSocket({
      url: () => this.opts.url(this.seq),
      onFrame: (frame) => this.handleFrame(frame),
      onStateChange: (state, info) => this.handleSocketState(state, info),
      createSocket: options.createSocket,
      scheduler: this.scheduler,
      backoff: options.backoff,
      random: options.random,
      liveness: options.liveness,
      wake: options.wake,
    });
  }

  /** Highest seq delivered so far (what the next reconnect asks `since` for). */
  get lastSeq(): number {
    return this.seq;
  }

  get pending(): readonly PendingMessage[] {
    return this.outbox;
  }

  start(): void {
    this.stopped = false;
    this.socket.start();
  }

  stop(): void {
    this.stopped = true;
    this.clearReplayTimer();
    if (this.holdTimer !== null) this.scheduler.clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.ready = false;
    this.socket.stop();
  }

  reconnectNow(): void {
    this.socket.reconnectNow();
  }

  /** Queues a chat message; it is sent now if connected, else after the next reconnect. */
  send(text: string): PendingMessage {
    const pending: PendingMessage = {
      client_msg_id: (this.opts.newId ?? newClientMsgId)(),
      message: text,
      created_at: (this.opts.now ?? (() => new Date()))().toISOString(),
      state: 'queued',
    };
    this.outbox = [...this.outbox, pending];
    this.flushOutbox();
    this.emitOutbox();
    return pending;
  }

  /** Puts a failed message back in the queue, same key. */
  retry(clientMsgId: string): void {
    this.outbox = this.outbox.map((p) =>
      p.client_msg_id === clientMsgId && p.state === 'failed' ? { client_msg_id: p.client_msg_id, message: p.message, created_at: p.created_at, state: 'queued' } : p,
    );
    this.flushOutbox();
    this.emitOutbox();
  }

  discard(clientMsgId: string): void {
    this.outbox = this.outbox.filter((p) => p.client_msg_id !== clientMsgId);
    this.emitOutbox();
  }

  /** Ephemeral: sent only while connected; returns whether it went out. */
  sendTyping(isTyping: boolean): boolean {
    return this.ready && this.socket.send({ type: 'typing', data: { is_typing: isTyping } });
  }

  /** Ephemeral, visitor sockets only: the host page; returns whether it went out. */
  sendPage(page: PageReport): boolean {
    return this.ready && this.socket.send({ type: 'page', data: page });
  }

  /** Marks everything up to seq read; remembered and sent once connected. */
  markRead(upToSeq: number): void {
    if (upToSeq <= this.readWanted) return;
    this.readWanted = upToSeq;
    this.flushRead();
  }

  private flushRead(): void {
    if (!this.ready || this.readWanted <= this.readSent) return;
    if (this.socket.send({ type: 'read', data: { up_to_seq: this.readWanted } })) this.readSent = this.readWanted;
  }

  private handleSocketState(state: SocketState, info: { attempt: number; delayMs?: number; closeCode?: number }): void {
    if (state !== 'open') {
      this.ready = false;
      this.clearReplayTimer();
      // Frames written to a socket that then dropped may never have arrived.
      if (this.outbox.some((p) => p.state === 'sent')) {
        this.outbox = this.outbox.map((p) => (p.state === 'sent' ? { ...p, state: 'queued' } : p));
        this.emitOutbox();
      }
      // A read sent on a dead socket may be lost; send it again next time.
      this.readSent = 0;
    }
    if (this.resyncing && state === 'idle') return;
    switch (state) {
      case 'connecting':
        this.emitState('connecting', info);
        break;
      case 'open':
        // Wait for `ready` before saying online: it is the server's "you are subscribed".
        break;
      case 'reconnecting':
        this.emitState('reconnecting', info);
        break;
      case 'ended':
        this.emitState('ended', info);
        break;
      case 'idle':
        this.emitState('stopped', info);
        break;
    }
  }

  private handleFrame(frame: ServerFrame): void {
    if (isStoredMessageFrame(frame)) {
      this.handleStored(frame.message);
      if (frame.type === 'supporter_joined') this.opts.listener.onFrame?.(frame);
      return;
    }
    switch (frame.type) {
      case 'ready':
        this.ready = true;
        this.socket.markHealthy();
        this.replayRemaining = Math.max(0, frame.data.replayed);
        this.emitState('online', { attempt: 0 });
        this.opts.listener.onFrame?.(frame);
        this.flushRead();
        if (frame.data.last_seq > this.seq && this.replayRemaining === 0 && this.readyGapHandled !== frame.data.last_seq) {
          // The server has more than it will replay to us: fetch the difference (once per
          // last_seq, so a server that disagrees with its own REST cannot make us loop).
          this.readyGapHandled = frame.data.last_seq;
          void this.resync();
          return;
        }
        if (this.replayRemaining === 0) {
          this.flushOutbox();
        } else {
          this.replayTimer = this.scheduler.setTimeout(() => {
            this.replayTimer = null;
            this.replayRemaining = 0;
            this.flushOutbox();
          }, this.opts.replayWaitMs ?? 3_000);
        }
        return;
      case 'resync_required':
        void this.resync();
        return;
      case 'error':
        if (frame.error.code === 'rate_limited' && frame.client_msg_id && this.outbox.some((p) => p.client_msg_id === frame.client_msg_id)) {
          // Not refused for good: back in the queue (same key), sent again by itself
          // once the limit has passed.
          this.outbox = this.outbox.map((p) =>
            p.client_msg_id === frame.client_msg_id ? { ...p, state: 'queued', error: frame.error } : p,
          );
          this.holdForRateLimit(frame.error);
          this.emitOutbox();
          return;
        }
        if (frame.client_msg_id && this.outbox.some((p) => p.client_msg_id === frame.client_msg_id)) {
          this.outbox = this.outbox.map((p) =>
            p.client_msg_id === frame.client_msg_id ? { ...p, state: 'failed', error: frame.error } : p,
          );
          this.emitOutbox();
          return;
        }
        this.opts.listener.onFrame?.(frame);
        return;
      default:
        this.opts.listener.onFrame?.(frame);
    }
  }

  private handleStored(message: ChatMessage): void {
    if (this.replayRemaining > 0) {
      this.replayRemaining -= 1;
      if (this.replayRemaining === 0) {
        this.clearReplayTimer();
        // flush after this message is processed (its echo may ack an outbox entry)
        queueMicrotask(() => this.flushOutbox());
      }
    }
    this.acknowledge(message);
    if (message.seq <= this.seq) return; // duplicate
    if (message.seq > this.seq + 1) {
      // A gap breaks the promise; fill it from the store rather than show a hole.
      void this.resync();
      return;
    }
    this.seq = message.seq;
    this.opts.listener.onMessages?.([message]);
  }

  private acknowledge(message: ChatMessage): void {
    const key = message.client_msg_id;
    if (!key) return;
    if (!this.outbox.some((p) => p.client_msg_id === key)) return;
    this.outbox = this.outbox.filter((p) => p.client_msg_id !== key);
    this.refusalsInARow = 0;
    this.emitOutbox();
  }

  /** Pages forward through REST from the last delivered seq, then reconnects with since. */
  private async resync(): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    this.clearReplayTimer();
    this.socket.stop();
    this.emitState('resyncing', { attempt: 0 });
    try {
      for (let guard = 0; guard < 1000; guard++) {
        const page = await this.opts.fetchAfter(this.seq);
        const fresh = page.messages.filter((m) => m.seq > this.seq).sort((a, b) => a.seq - b.seq);
        const delivered: ChatMessage[] = [];
        for (const m of fresh) {
          if (m.seq !== this.seq + 1) break; // the store itself is gapless; stop at any oddity
          this.acknowledge(m);
          this.seq = m.seq;
          delivered.push(m);
        }
        if (delivered.length) this.opts.listener.onMessages?.(delivered);
        if (!page.has_more || delivered.length === 0) break;
      }
    } catch {
      // The socket's replay (since=seq) will cover what REST could not give.
    } finally {
      this.resyncing = false;
    }
    if (!this.stopped) this.socket.start();
  }

  private holdForRateLimit(error: ErrorBody): void {
    if (this.holdTimer !== null) return; // one wait for a burst of refusals
    this.refusalsInARow += 1;
    this.holdTimer = this.scheduler.setTimeout(() => {
      this.holdTimer = null;
      this.flushOutbox();
    }, rateLimitDelayMs(error, this.refusalsInARow));
  }

  private flushOutbox(): void {
    if (!this.ready || this.replayRemaining > 0 || this.holdTimer !== null) return;
    let changed = false;
    this.outbox = this.outbox.map((p) => {
      if (p.state !== 'queued') return p;
      const ok = this.socket.send({ type: 'message', message: p.message, client_msg_id: p.client_msg_id });
      if (!ok) return p;
      changed = true;
      return { client_msg_id: p.client_msg_id, message: p.message, created_at: p.created_at, state: 'sent' };
    });
    if (changed) this.emitOutbox();
  }

  private clearReplayTimer(): void {
    if (this.replayTimer !== null) this.scheduler.clearTimeout(this.replayTimer);
    this.replayTimer = null;
  }

  private emitOutbox(): void {
    this.opts.listener.onOutbox?.(this.outbox);
  }

  private emitState(state: ChannelState, info: ChannelStateInfo): void {
    this.opts.listener.onState?.(state, info);
  }
}
