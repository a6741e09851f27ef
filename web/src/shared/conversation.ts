// The state of one open conversation, for either side: the guest's chat app
// (self = 'user') and each chat the agent has open in the dashboard (self = 'supporter').
// It loads the ticket and its latest history through REST, then follows the ticket's
// socket with `since` = the last seq it holds, so history and live traffic join with no
// gap and no duplicate. React containers subscribe to `store`; presenters only draw.

import type { PageQuery } from './api';
import { ApiError } from './api';
import { applyRead, countUnread, maxSeq, mergeMessages, readMarkFromHistory } from './messageLog';
import type { ChatMessage, MessagePage, PageReport, SenderType, ServerFrame, Ticket, VisitedPage } from './protocol';
import { TicketChannel, type ChannelState, type PendingMessage } from './ticketChannel';
import type { LivenessPolicy, Scheduler, WakeSource, WebSocketFactory } from './socket';
import { browserScheduler } from './socket';
import { nextReadMark } from './readOnSight';
import { newClientMsgId } from './ids';
import { Store } from './store';
import { isOlderTicket } from './ticketVersion';
import { TypingIndicator, TypingNotifier } from './typing';
import { validateMessageText } from './validation';

export type ConnectionView = ChannelState | 'loading';

export interface ConversationState {
  ticket: Ticket | null;
  messages: ChatMessage[];
  outbox: readonly PendingMessage[];
  connection: ConnectionView;
  /** Delay before the next reconnect try, while reconnecting. */
  retryInMs: number | null;
  hasMoreBefore: boolean;
  loadingOlder: boolean;
  /** Display name of the other side while it types. */
  peerTyping: string | null;
  /** Whether the other side has a socket open (from presence frames), unknown at first. */
  peerOnline: boolean | null;
  /** Our own read mark over the other side's messages. */
  readUpTo: number;
  unread: number;
  /** A transient problem to show (e.g. rate limited), or why loading failed. */
  notice: string | null;
  /** Why the conversation cannot go on (closed ticket, revoked login…), or null. */
  endedReason: 'closed' | 'gone' | 'unauthorized' | 'policy' | null;
  /** The visitor's place in the queue while the ticket waits for an agent (API.md
   *  `queue` frames, `ready.data.queue_position`); null when unknown or not waiting. */
  queue: QueueState | null;
}

export interface QueueState {
  /** 1 = next. */
  position: number;
  /** Agents online now; null until the first `queue` frame says. */
  agentsOnline: number | null;
}

export interface ConversationOptions {
  self: 'user' | 'supporter';
  loadTicket: () => Promise<Ticket>;
  fetchPage: (page: PageQuery) => Promise<MessagePage>;
  socketUrl: (since: number) => string;
  initialOutbox?: readonly PendingMessage[];
  initialReadUpTo?: number;
  onOutboxChange?: (outbox: readonly PendingMessage[]) => void;
  onReadUpToChange?: (seq: number) => void;
  onTicket?: (ticket: Ticket) => void;
  onIncoming?: (messages: ChatMessage[]) => void;
  /** The socket is ready (every connect and reconnect). */
  onReady?: () => void;
  /** Agents: the visitor is on a new page (live `page` frames). */
  onPage?: (page: VisitedPage) => void;
  pageSize?: number;
  /**
   * Read on sight (the visitor's chat app): being attentive marks nothing read by itself;
   * the view calls markSeen() with what was actually on screen.
   */
  readOnSight?: boolean;
  createSocket?: WebSocketFactory;
  scheduler?: Scheduler;
  random?: () => number;
  liveness?: LivenessPolicy;
  wake?: WakeSource;
}

export const HISTORY_PAGE_SIZE = 50;

export function initialConversationState(): ConversationState {
  return {
    ticket: null,
    messages: [],
    outbox: [],
    connection: 'loading',
    retryInMs: null,
    hasMoreBefore: false,
    loadingOlder: false,
    peerTyping: null,
    peerOnline: null,
    readUpTo: 0,
    unread: 0,
    notice: null,
    endedReason: null,
    queue: null,
  };
}

export class ConversationController {
  readonly store = new Store<ConversationState>(initialConversationState());
  private readonly opts: ConversationOptions;
  private readonly peer: SenderType;
  private channel: TicketChannel | null = null;
  private readonly typingOut: TypingNotifier;
  private readonly typingIn: TypingIndicator;
  private attentive = false;
  private disposed = false;

  constructor(options: ConversationOptions) {
    this.opts = options;
    this.peer = options.self === 'user' ? 'supporter' : 'user';
    const scheduler = options.scheduler ?? browserScheduler;
    this.typingOut = new TypingNotifier((t) => this.channel?.sendTyping(t) ?? false, scheduler);
    this.typingIn = new TypingIndicator((name) => this.store.update({ peerTyping: name }), scheduler);
    this.store.update({ outbox: options.initialOutbox ?? [], readUpTo: options.initialReadUpTo ?? 0 });
  }

  get state(): ConversationState {
    return this.store.get();
  }

  /** Loads the ticket and its latest page, then goes live. Rejects with ApiError (e.g. 404). */
  async open(): Promise<void> {
    const ticket = await this.opts.loadTicket();
    const page = await this.opts.fetchPage({ before_seq: ticket.last_seq + 1, limit: this.opts.pageSize ?? HISTORY_PAGE_SIZE });
    if (this.disposed) return;
    const messages = mergeMessages([], page.messages);
    const readUpTo = Math.max(this.state.readUpTo, readMarkFromHistory(messages, this.peer));
    this.setTicket(ticket);
    this.setMessages(messages, { hasMoreBefore: page.has_more, readUpTo });
    if (ticket.status === 'closed') {
      this.store.update({ connection: 'ended', endedReason: 'closed' });
      return;
    }
    this.startChannel(maxSeq(messages));
  }

  private startChannel(since: number): void {
    const channel = new TicketChannel({
      url: (s) => this.opts.socketUrl(s),
      initialSeq: since,
      initialOutbox: this.state.outbox,
      fetchAfter: (after) => this.opts.fetchPage({ after_seq: after, limit: 500 }),
      createSocket: this.opts.createSocket,
      scheduler: this.opts.scheduler,
      random: this.opts.random,
      liveness: this.opts.liveness,
      wake: this.opts.wake,
      listener: {
        onMessages: (msgs) => this.receive(msgs),
        onFrame: (frame) => this.handleFrame(frame),
        onOutbox: (outbox) => {
          this.store.update({ outbox });
          this.opts.onOutboxChange?.(outbox);
        },
        onState: (state, info) => {
          const endedReason =
            state === 'ended'
              ? info.closeCode === 4409 || info.closeCode === 1000
                ? 'closed'
                : info.closeCode === 4404
                  ? 'gone'
                  : info.closeCode === 4401
                    ? 'unauthorized'
                    : 'policy'
              : this.state.endedReason;
          this.store.update({
            connection: state,
            retryInMs: state === 'reconnecting' ? (info.delayMs ?? null) : null,
            endedReason,
          });
          if (state !== 'online') this.typingIn.clear();
        },
      },
    });
    this.channel = channel;
    channel.start();
  }

  /** Sends a chat message; returns a validation error instead when the text is not sendable. */
  send(text: string): string | undefined {
    const error = validateMessageText(text);
    if (error) return error;
    if (this.disposed || this.state.endedReason) return 'This chat has ended.';
    this.typingOut.stop();
    if (!this.channel) {
      // Still loading the ticket and its history (the composer shows at once): the
      // message waits in the outbox, which the channel sends once its socket is ready.
      const pending: PendingMessage = { client_msg_id: newClientMsgId(), message: text.trim(), created_at: new Date().toISOString(), state: 'queued' };
      const outbox = [...this.state.outbox, pending];
      this.store.update({ outbox });
      this.opts.onOutboxChange?.(outbox);
      return undefined;
    }
    this.channel.send(text.trim());
    return undefined;
  }

  retry(clientMsgId: string): void {
    this.channel?.retry(clientMsgId);
  }

  /**
   * A message of ours stored through REST (an upload's 201): shown at once. Its copy
   * on the socket has the same seq, so merging it again changes nothing (the channel
   * still delivers every seq in order; this only draws one early).
   */
  acceptStored(message: ChatMessage): void {
    if (this.disposed || message.ticket_id !== (this.state.ticket?.id ?? message.ticket_id)) return;
    this.setMessages(mergeMessages(this.state.messages, [message]), {});
  }

  discard(clientMsgId: string): void {
    this.channel?.discard(clientMsgId);
  }

  /** Every edit of the draft: drives our typing indicator on the other side. */
  draftChanged(draft: string): void {
    this.typingOut.input(draft);
  }

  /** While attentive (visible and focused), the other side's messages are read as they come. */
  setAttentive(attentive: boolean): void {
    this.attentive = attentive;
    if (attentive && !this.opts.readOnSight) this.markAllRead();
  }

  /** The reader saw every message up to `seq` on screen: tell the other side, lower the unread count. */
  markSeen(seq: number): void {
    const { messages, readUpTo } = this.state;
    const upTo = Math.min(seq, maxSeq(messages));
    if (upTo <= 0) return;
    this.channel?.markRead(upTo); // the channel sends each higher mark once, again after a reconnect
    const lastPeer = messages.reduce((m, x) => (x.sender_type === this.peer && x.seq <= upTo ? Math.max(m, x.seq) : m), 0);
    const mark = nextReadMark(readUpTo, lastPeer);
    if (mark !== null) {
      this.setMessages(messages, { readUpTo: mark });
      this.opts.onReadUpToChange?.(mark);
    }
  }

  markAllRead(): void {
    const { messages, readUpTo } = this.state;
    const last = maxSeq(messages);
    const lastPeer = messages.reduce((m, x) => (x.sender_type === this.peer ? Math.max(m, x.seq) : m), 0);
    if (last > 0) this.channel?.markRead(last);
    if (lastPeer > readUpTo) {
      this.store.update({ readUpTo: lastPeer, unread: 0 });
      this.opts.onReadUpToChange?.(lastPeer);
    } else if (this.state.unread !== 0) {
      this.store.update({ unread: 0 });
    }
  }

  async loadOlder(): Promise<void> {
    const { messages, hasMoreBefore, loadingOlder } = this.state;
    if (!hasMoreBefore || loadingOlder || messages.length === 0) return;
    this.store.update({ loadingOlder: true });
    try {
      const page = await this.opts.fetchPage({ before_seq: messages[0].seq, limit: this.opts.pageSize ?? HISTORY_PAGE_SIZE });
      this.setMessages(mergeMessages(this.state.messages, page.messages), { hasMoreBefore: page.has_more, loadingOlder: false });
    } catch (err) {
      this.store.update({ loadingOlder: false, notice: err instanceof ApiError ? err.message : 'Could not load earlier messages.' });
    }
  }

  reconnectNow(): void {
    this.channel?.reconnectNow();
  }

  /** The visitor's host page (visitor side); false when the socket is not ready. */
  sendPage(page: PageReport): boolean {
    return this.channel?.sendPage(page) ?? false;
  }

  /** A ticket change learnt elsewhere (the agent feed, a REST answer). */
  applyTicket(ticket: Ticket): void {
    this.setTicket(ticket);
  }

  dismissNotice(): void {
    this.store.update({ notice: null });
  }

  dispose(): void {
    this.disposed = true;
    this.typingOut.stop();
    this.channel?.stop();
    this.channel = null;
  }

  private receive(incoming: ChatMessage[]): void {
    if (incoming.some((m) => m.sender_type === this.peer)) this.typingIn.clear();
    this.setMessages(mergeMessages(this.state.messages, incoming), {});
    this.opts.onIncoming?.(incoming);
    if (this.attentive && !this.opts.readOnSight) this.markAllRead();
  }

  private handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        if (frame.data.queue_position !== undefined) this.setQueue(frame.data.queue_position, this.state.queue?.agentsOnline ?? null);
        this.setTicket(frame.data.ticket);
        if (this.attentive && !this.opts.readOnSight) this.markAllRead();
        this.opts.onReady?.();
        return;
      case 'page':
        this.opts.onPage?.(frame.data);
        return;
      case 'queue':
        this.setQueue(frame.data.position, frame.data.agents_online);
        return;
      case 'supporter_joined':
        // An agent is here: the visitor no longer waits in the queue.
        this.setQueue(null, null);
        return;
      case 'ticket_updated':
        this.setTicket(frame.ticket);
        return;
      case 'typing':
        if (frame.data.sender_type === this.peer) this.typingIn.update(frame.data.sender_name || 'Someone', frame.data.is_typing);
        return;
      case 'read':
        if (frame.data.reader_type === this.peer) {
          this.setMessages(applyRead(this.state.messages, frame.data.reader_type, frame.data.up_to_seq), {});
        }
        return;
      case 'presence':
        this.store.update({
          peerOnline: this.opts.self === 'user' ? frame.data.supporter_connected : frame.data.user_connected,
        });
        return;
      case 'error':
        this.store.update({ notice: frame.error.message || frame.error.code });
        return;
      default:
        return;
    }
  }

  private setTicket(ticket: Ticket): void {
    const held = this.state.ticket;
    // A late copy (a retried publish) must not roll the chat back.
    if (held && held.id === ticket.id && isOlderTicket(ticket, held)) return;
    const closed = ticket.status === 'closed';
    this.store.update({ ticket, endedReason: closed ? 'closed' : this.state.endedReason });
    if (ticket.supporter_id !== null || ticket.status !== 'open') this.setQueue(null, null);
    this.opts.onTicket?.(ticket);
  }

  /** Changes the queue state only when it changed, so an identical frame redraws nothing. */
  private setQueue(position: number | null, agentsOnline: number | null): void {
    const held = this.state.queue;
    if (position === null) {
      if (held !== null) this.store.update({ queue: null });
      return;
    }
    if (held && held.position === position && held.agentsOnline === agentsOnline) return;
    this.store.update({ queue: { position, agentsOnline } });
  }

  private setMessages(messages: ChatMessage[], patch: Partial<ConversationState>): void {
    const readUpTo = patch.readUpTo ?? this.state.readUpTo;
    this.store.update({ ...patch, messages, unread: countUnread(messages, this.peer, readUpTo) });
  }
}
