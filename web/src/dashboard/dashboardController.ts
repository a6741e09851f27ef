// State of the agent dashboard, framework-free: login, the ticket queue (REST, then
// live through the agent feed socket, never polled), unread counts, the chats that are
// open (one ConversationController each, kept alive while the agent switches between
// them), and the alerts for new tickets and messages.
//
// Feed recovery: the feed carries no seq, so whenever it may have missed frames (it
// reconnected, or the server sent `resync_required` with scope "queue") the queue is
// loaded again through REST with the current filters; open chats are left alone (each
// has its own ticket socket with `since`). `ticket_created` and `ticket_updated` both
// upsert, and a copy older than the newest one seen (by `updated_at`) is ignored.

import { ApiClient, ApiError } from '../shared/api';
import { uploadAttachment, type UploadFn } from '../shared/attachments/upload';
import { ConversationController } from '../shared/conversation';
import type { Agent, ChosenStatus, Notice, OutboxEmail, ServerFrame, Ticket, TicketPriority, TicketRating, TicketStatus } from '../shared/protocol';
import {
  browserScheduler,
  ReconnectingSocket,
  type LivenessPolicy,
  type Scheduler,
  type SocketState,
  type WakeSource,
  type WebSocketFactory,
} from '../shared/socket';
import { Store } from '../shared/store';
import { isOlderTicket } from '../shared/ticketVersion';
import { agentFeedUrl, supporterSocketPath, wsUrl } from '../shared/urls';
import { Alerts, type AlertPermission } from './alerts';
import { DeskSettings } from './deskSettings';
import { DeskTools } from './deskTools';
import { Outbox } from './outbox';
import { Reports } from './reports';
import { Webhooks } from './webhooks';
import { stars, type RatingNotice } from './TicketRating';
import { ActivityReporter, isGivenToMe } from './presence';
import { Team } from './team';
import { VisitorContextController } from './visitorContext';
import { DEFAULT_FILTERS, feedScope, matchesFilters, statusFilterValues, keepNewerConversation, upsertTicket, withNotice, type QueueFilters } from './queue';

/** Wait before reopening a feed the server closed with a final code while the login is valid. */
const FEED_RESTART_MS = 10_000;

export interface DashboardState {
  auth: 'checking' | 'signed_out' | 'signed_in';
  agent: Agent | null;
  loginError: string | null;
  loggingIn: boolean;
  tickets: Ticket[];
  nextCursor: string | null;
  loadingTickets: boolean;
  listError: string | null;
  filters: QueueFilters;
  /** Unread visitor messages per ticket id (the server's count; 0 for the chat in front). */
  unread: Readonly<Record<number, number>>;
  openChats: number[];
  activeChat: number | null;
  feed: SocketState;
  permission: AlertPermission;
  soundOn: boolean;
  /** A failed action to show (e.g. an invalid status change). */
  actionError: string | null;
  /** My own status change on its way to the server (the switch shows it already). */
  savingStatus: boolean;
  /** Tickets given to me without my asking (auto-assignment, a teammate's transfer):
   *  each is opened as a tab and announced once, until dismissed. */
  assignedToMe: AssignedNotice[];
  /** The chat whose reply box (or Join) should take focus: set when the agent opens a ticket. */
  focusRequest: { ticketId: number; at: number } | null;
  /** Ratings that just arrived (issue 18), each shown once until dismissed or opened. */
  ratingNotices: RatingNotice[];
}

/** A ticket someone else (the router, a teammate) gave me. */
export interface AssignedNotice {
  ticketId: number;
  subject: string;
  userName: string;
}

/** How many "assigned to you" notices stay on screen (the oldest go first). */
const MAX_ASSIGNED_NOTICES = 3;
/** How many new-rating notices stay on screen (the oldest go first). */
const MAX_RATING_NOTICES = 3;

export interface DashboardOptions {
  api: ApiClient;
  alerts: Alerts;
  createSocket?: WebSocketFactory;
  /** Whether the agent is looking at the page (visible and focused). */
  isAttentive?: () => boolean;
  /** Socket timing and wake-up sources, for the feed and every chat (tests inject fakes). */
  scheduler?: Scheduler;
  random?: () => number;
  liveness?: LivenessPolicy;
  wake?: WakeSource;
  /** The clock of the activity throttle (default Date.now). */
  now?: () => number;
  /** Where the open chat tabs are kept across reloads (default: localStorage). */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
}

/** The open chat tabs as kept across a reload, per agent. */
export interface SavedTabs {
  open: number[];
  active: number | null;
}

const TABS_KEY = 'livesupport.dashboard.tabs.';

/** Reads saved tabs, dropping anything malformed. */
export function parseSavedTabs(raw: string | null): SavedTabs {
  try {
    const v: unknown = raw === null ? null : JSON.parse(raw);
    if (typeof v !== 'object' || v === null) return { open: [], active: null };
    const { open, active } = v as { open?: unknown; active?: unknown };
    const ids = Array.isArray(open) ? open.filter((x): x is number => Number.isInteger(x) && x > 0).slice(0, 20) : [];
    return { open: [...new Set(ids)], active: typeof active === 'number' && ids.includes(active) ? active : (ids[ids.length - 1] ?? null) };
  } catch {
    return { open: [], active: null };
  }
}

function defaultStorage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}

export class DashboardController {
  readonly store: Store<DashboardState>;
  /** Canned responses and the labels in use. */
  readonly tools: DeskTools;
  /** The desk's settings page (admins). */
  readonly settings: DeskSettings;
  /** Every agent with status, capacity and load (issue 16). */
  readonly team: Team;
  /** The email outbox of the settings page (admins, issue 18). */
  readonly outbox: Outbox;
  /** The Reports page (every agent, issue 19). */
  readonly reports: Reports;
  /** The webhooks of the settings page (admins, issue 19). */
  readonly webhooks: Webhooks;
  private readonly api: ApiClient;
  private readonly alerts: Alerts;
  private readonly opts: DashboardOptions;
  private feed: ReconnectingSocket | null = null;
  private feedOpenedBefore = false;
  private readonly chats = new Map<number, ConversationController>();
  /** The visitor context beside each open chat. */
  private readonly contexts = new Map<number, VisitorContextController>();
  /** Highest message seq heard of per ticket (the list, ticket frames, notices, open
   *  chats' sockets): a notice below it is older than what the dashboard holds. */
  private readonly seenSeq = new Map<number, number>();
  /** Newest copy of every ticket seen (REST or frames), so a late, older copy is ignored. */
  private readonly latest = new Map<number, Ticket>();
  /** Tickets the feed changed while the current list request was out (null: none out). */
  private changedDuringReload: Set<number> | null = null;
  private listRequest = 0;
  /** Tickets I am taking myself (Join, Assign to me) while the request is out: the
   *  feed's copy with me as the agent is then my own doing, not a new assignment. */
  private readonly takingMyself = new Set<number>();
  /** Sends `activity` on the feed when the agent uses the page (at most once a minute). */
  private readonly activity: ActivityReporter;
  private statusRequest = 0;

  constructor(options: DashboardOptions) {
    this.opts = options;
    this.api = options.api;
    this.alerts = options.alerts;
    this.tools = new DeskTools(options.api);
    this.settings = new DeskSettings(options.api);
    this.team = new Team(options.api);
    this.outbox = new Outbox(options.api);
    this.reports = new Reports(options.api);
    this.webhooks = new Webhooks(options.api);
    this.activity = new ActivityReporter(() => this.feed?.send({ type: 'activity' }) ?? false, options.scheduler ?? browserScheduler, options.now);
    this.store = new Store<DashboardState>({
      auth: 'checking',
      agent: null,
      loginError: null,
      loggingIn: false,
      tickets: [],
      nextCursor: null,
      loadingTickets: false,
      listError: null,
      filters: DEFAULT_FILTERS,
      unread: {},
      openChats: [],
      activeChat: null,
      feed: 'idle',
      permission: options.alerts.permission,
      soundOn: options.alerts.soundOn,
      actionError: null,
      savingStatus: false,
      assignedToMe: [],
      focusRequest: null,
      ratingNotices: [],
    });
  }

  get state(): DashboardState {
    return this.store.get();
  }

  chat(ticketId: number): ConversationController | undefined {
    return this.chats.get(ticketId);
  }

  visitorContext(ticketId: number): VisitorContextController | undefined {
    return this.contexts.get(ticketId);
  }

  // ---- auth ----

  async start(): Promise<void> {
    try {
      const agent = await this.api.me();
      this.signedIn(agent);
    } catch (err) {
      this.store.update({ auth: 'signed_out', loginError: err instanceof ApiError && err.status === 401 ? null : this.describe(err) });
    }
  }

  async login(email: string, password: string): Promise<void> {
    this.store.update({ loggingIn: true, loginError: null });
    this.alerts.unlockAudio();
    try {
      const { agent } = await this.api.login(email.trim(), password);
      this.store.update({ loggingIn: false });
      this.signedIn(agent);
    } catch (err) {
      const message =
        err instanceof ApiError && (err.code === 'invalid_credentials' || err.status === 401)
          ? 'Wrong email or password.'
          : err instanceof ApiError && err.code === 'rate_limited'
            ? `Too many attempts. Try again${err.retryAfter ? ` in ${err.retryAfter} seconds` : ' later'}.`
            : this.describe(err);
      this.store.update({ loggingIn: false, loginError: message });
    }
  }

  async logout(): Promise<void> {
    const agent = this.state.agent;
    try {
      // Signing out on purpose forgets the tabs (a shared computer); an expired
      // session keeps them for the next sign-in.
      if (agent) this.tabStorage?.removeItem(TABS_KEY + agent.id);
    } catch {
      // nothing kept
    }
    try {
      await this.api.logout();
    } catch {
      // signed out locally either way
    }
    this.signedOut(null);
  }

  private signedIn(agent: Agent): void {
    this.store.update({ auth: 'signed_in', agent, loginError: null });
    void this.reloadTickets();
    void this.tools.loadLabels();
    void this.loadAgents();
    this.startFeed();
    this.restoreTabs(agent);
  }

  private get tabStorage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null {
    return this.opts.storage === undefined ? defaultStorage() : this.opts.storage;
  }

  /** Reopens the chat tabs this agent had open before a reload. */
  private restoreTabs(agent: Agent): void {
    let saved: SavedTabs;
    try {
      saved = parseSavedTabs(this.tabStorage?.getItem(TABS_KEY + agent.id) ?? null);
    } catch {
      return;
    }
    for (const id of saved.open) this.openChat(id, false);
    if (saved.active !== null) this.activate(saved.active);
  }

  private saveTabs(): void {
    const agent = this.state.agent;
    if (!agent) return;
    try {
      this.tabStorage?.setItem(TABS_KEY + agent.id, JSON.stringify({ open: this.state.openChats, active: this.state.activeChat }));
    } catch {
      // storage full or blocked: tabs just do not survive a reload
    }
  }

  private signedOut(message: string | null): void {
    this.feed?.stop();
    this.feed = null;
    this.feedOpenedBefore = false;
    this.activity.stop();
    this.takingMyself.clear();
    this.team.reset();
    for (const c of this.chats.values()) c.dispose();
    this.chats.clear();
    this.contexts.clear();
    this.seenSeq.clear();
    this.latest.clear();
    this.changedDuringReload = null;
    this.tools.reset();
    this.store.update({
      auth: 'signed_out',
      agent: null,
      tickets: [],
      unread: {},
      openChats: [],
      activeChat: null,
      feed: 'idle',
      assignedToMe: [],
      ratingNotices: [],
      savingStatus: false,
      loginError: message,
    });
  }

  /** Any 401 means the cookie is gone or expired: back to the login form. */
  private handleError(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) {
      this.signedOut('Your session has ended. Please sign in again.');
      return;
    }
    this.store.update({ actionError: this.describe(err) });
  }

  private describe(err: unknown): string {
    return err instanceof ApiError ? err.message : 'Something went wrong.';
  }

  dismissError(): void {
    this.store.update({ actionError: null });
  }

  // ---- queue ----

  setFilters(patch: Partial<QueueFilters>): void {
    const before = this.state.filters.assigned;
    this.store.update({ filters: { ...this.state.filters, ...patch } });
    // The feed carries the notices this queue can show: tell it when that changes.
    if (this.state.filters.assigned !== before) this.sendScope();
    void this.reloadTickets();
  }

  async reloadTickets(): Promise<void> {
    const request = ++this.listRequest;
    const { filters } = this.state;
    const changed = new Set<number>();
    this.changedDuringReload = changed;
    this.store.update({ loadingTickets: true, listError: null });
    try {
      const list = await this.api.listTickets({
        status: statusFilterValues(filters.status),
        priority: filters.priority === 'any' ? undefined : [filters.priority],
        assigned: filters.assigned === 'any' ? undefined : filters.assigned,
        q: filters.q || undefined,
        label: filters.label ? [filters.label] : undefined,
      });
      if (request !== this.listRequest) return; // a newer filter won
      this.changedDuringReload = null;
      // Known tickets given to me while the feed was away (a reload after a reconnect).
      const given = list.tickets.filter((t) => {
        const before = this.latest.get(t.id);
        return before !== undefined && !isOlderTicket(t, before) && this.givenToMe(before, t);
      });
      const unread: Record<number, number> = { ...this.state.unread };
      // The answer is a snapshot: a feed frame that came while it was on its way may be newer.
      let tickets = list.tickets.map((t) => this.remember(t));
      for (const t of tickets) {
        unread[t.id] = this.isWatching(t.id) ? 0 : t.unread_count;
        this.seenSeq.set(t.id, Math.max(this.seenSeq.get(t.id) ?? 0, t.last_seq));
      }
      for (const id of changed) {
        const t = this.latest.get(id);
        if (t) tickets = upsertTicket(tickets, t, this.belongsInQueue(t, tickets));
      }
      this.store.update({ tickets, nextCursor: list.next_cursor, loadingTickets: false, unread });
      for (const t of given) this.openAssigned(t);
    } catch (err) {
      if (request !== this.listRequest) return;
      this.changedDuringReload = null;
      this.store.update({ loadingTickets: false, listError: this.describe(err) });
      if (err instanceof ApiError && err.status === 401) this.handleError(err);
    }
  }

  async loadMoreTickets(): Promise<void> {
    const { nextCursor, filters } = this.state;
    if (!nextCursor) return;
    try {
      const list = await this.api.listTickets({
        status: statusFilterValues(filters.status),
        priority: filters.priority === 'any' ? undefined : [filters.priority],
        assigned: filters.assigned === 'any' ? undefined : filters.assigned,
        q: filters.q || undefined,
        label: filters.label ? [filters.label] : undefined,
        cursor: nextCursor,
      });
      let tickets = this.state.tickets;
      const unread = { ...this.state.unread };
      for (const t of list.tickets.map((x) => this.remember(x))) {
        tickets = upsertTicket(tickets, t, true);
        unread[t.id] = t.unread_count;
      }
      this.store.update({ tickets, nextCursor: list.next_cursor, unread });
    } catch (err) {
      this.handleError(err);
    }
  }

  /** Keeps the newer of this copy and the one held; returns the copy to use. */
  private remember(ticket: Ticket): Ticket {
    const held = this.latest.get(ticket.id);
    if (held && isOlderTicket(ticket, held)) return held;
    this.latest.set(ticket.id, ticket);
    return ticket;
  }

  /** Upserts a ticket learnt from a frame or a REST answer; returns false for a stale copy. */
  private applyTicket(ticket: Ticket): boolean {
    if (this.remember(ticket) !== ticket) return false;
    this.changedDuringReload?.add(ticket.id);
    const row = keepNewerConversation(ticket, this.state.tickets.find((t) => t.id === ticket.id));
    this.store.update({ tickets: upsertTicket(this.state.tickets, row, this.belongsInQueue(row, this.state.tickets)) });
    this.chats.get(ticket.id)?.applyTicket(ticket);
    return true;
  }

  private belongsInQueue(ticket: Ticket, tickets: readonly Ticket[]): boolean {
    const { filters, agent } = this.state;
    const listed = tickets.some((t) => t.id === ticket.id);
    // The server's search also matches message text, which we cannot check here: a
    // listed ticket stays while the other filters still hold.
    return (
      matchesFilters(ticket, filters, agent) || (listed && filters.q.trim() !== '' && matchesFilters(ticket, { ...filters, q: '' }, agent))
    );
  }

  // ---- live feed ----

  private startFeed(): void {
    this.feed?.stop();
    this.feedOpenedBefore = false;
    this.feed = new ReconnectingSocket({
      // The scope on the URL too, so the first frames already match the queue.
      url: () => agentFeedUrl(feedScope(this.state.filters.assigned)),
      createSocket: this.opts.createSocket,
      scheduler: this.opts.scheduler,
      random: this.opts.random,
      liveness: this.opts.liveness,
      wake: this.opts.wake,
      onFrame: (frame) => this.handleFeedFrame(frame),
      onStateChange: (state) => {
        this.store.update({ feed: state });
        if (state === 'open') {
          // The server counts a feed opening as activity.
          this.activity.connected();
          // On every (re)connect: the filter may have changed while the feed was away.
          this.sendScope();
          // After a gap in the feed, the list may be stale: fetch it once (no polling).
          if (this.feedOpenedBefore) void this.reloadTickets();
          // The team on every opening: frames may have been missed, and my own status
          // turns online only now that a dashboard socket is open.
          void this.loadAgents();
          this.feedOpenedBefore = true;
        }
        if (state === 'ended') void this.feedEnded();
      },
    });
    this.feed.start();
  }

  /** The server closed the feed for good: a dead login goes back to the form, else retry later. */
  private async feedEnded(): Promise<void> {
    const feed = this.feed;
    try {
      await this.api.me();
      window.setTimeout(() => {
        if (this.feed === feed && this.state.auth === 'signed_in') feed?.start();
      }, FEED_RESTART_MS);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.signedOut('Your session has ended. Please sign in again.');
    }
  }

  private handleFeedFrame(frame: ServerFrame): void {
    switch (frame.type) {
      // Both upsert: after an outage the server may send `ticket_updated` for a ticket we
      // never saw, or `ticket_created` again for one we hold.
      case 'ticket_created':
      case 'ticket_updated': {
        const { ticket } = frame;
        const before = this.latest.get(ticket.id);
        const isNew = before === undefined;
        if (!this.applyTicket(ticket)) return;
        if (this.givenToMe(before, ticket)) this.openAssigned(ticket);
        if (!isNew) return;
        this.store.update({ unread: { ...this.state.unread, [ticket.id]: this.isWatching(ticket.id) ? 0 : ticket.unread_count } });
        this.seenSeq.set(ticket.id, Math.max(this.seenSeq.get(ticket.id) ?? 0, ticket.last_seq));
        if (frame.type === 'ticket_created') {
          this.alerts.notify(`New ticket: ${ticket.subject}`, `${ticket.user_name}`, `ticket-${ticket.id}`, () => this.openChat(ticket.id));
        }
        return;
      }
      case 'resync_required':
        // The server could not keep the feed whole: what the queue holds may be stale.
        void this.reloadTickets();
        return;
      case 'agent_updated':
        this.applyAgent(frame.agent);
        return;
      case 'rating_created':
        this.ratingArrived(frame.data.ticket_id, frame.data.rating);
        return;
      case 'notices':
        for (const notice of frame.data.notices) this.applyNotice(notice);
        return;
      default:
        // The feed sends no `message` or `system` frames (issue 20): open chats read
        // their messages on their own sockets.
        return;
    }
  }

  /** Which tickets' notices the feed should carry, for the queue's current filters. */
  private sendScope(): void {
    this.feed?.send({ type: 'scope', data: { scope: feedScope(this.state.filters.assigned) } });
  }

  /** A feed Notice: a listed ticket has new messages. The row takes the server's preview,
   *  waiting time and unread count; visitor messages alert unless the agent is watching.
   *  A ticket the queue does not list is left alone (the filters decide the list, and a
   *  ticket frame inserts a ticket that belongs). */
  private applyNotice(notice: Notice): void {
    const id = notice.ticket_id;
    const row = this.state.tickets.find((t) => t.id === id);
    if (!row) return;
    // Older than what the dashboard holds (another node's late Notice): ignored. An equal
    // seq may come twice and is applied again.
    const held = Math.max(row.last_seq, this.seenSeq.get(id) ?? 0);
    if (notice.seq < held) return;
    const isNewer = notice.seq > row.last_seq;
    this.seenSeq.set(id, notice.seq);
    const watching = this.isWatching(id);
    this.store.update({
      tickets: this.state.tickets.map((t) => (t.id === id ? withNotice(t, notice) : t)),
      unread: { ...this.state.unread, [id]: watching ? 0 : notice.unread },
    });
    // Once per message: a Notice that came twice, or repeats what the list already holds,
    // does not ring again.
    if (!isNewer || notice.visitor_messages <= 0 || watching) return;
    this.alerts.notify(`${row.user_name || 'Visitor'} (${row.subject})`, notice.preview ?? 'New message', `ticket-${id}`, () => this.openChat(id));
  }

  /** The agent has this ticket's chat in front of them right now. */
  private isWatching(ticketId: number): boolean {
    return this.state.activeChat === ticketId && (this.opts.isAttentive?.() ?? true);
  }

  // ---- chats ----

  /** Opens (or shows) a ticket's chat; `show` false only adds the tab, behind the active one. */
  openChat(ticketId: number, focus = true, show = true): void {
    const ticket = this.state.tickets.find((t) => t.id === ticketId);
    if (!this.chats.has(ticketId)) {
      const context = new VisitorContextController(() => this.api.getTicketContext(ticketId));
      this.contexts.set(ticketId, context);
      const c = new ConversationController({
        self: 'supporter',
        onReady: () => context.connected(),
        onPage: (page) => context.applyPage(page),
        loadTicket: async () => ticket ?? (await this.api.getTicket(ticketId)),
        fetchPage: (page) => this.api.getTicketMessages(ticketId, page),
        socketUrl: (since) => wsUrl(supporterSocketPath(c.state.ticket?.session_id ?? ticket?.session_id ?? ''), { since }),
        onTicket: (t) => {
          if (this.remember(t) !== t) return;
          if (this.state.tickets.some((x) => x.id === t.id)) this.store.update({ tickets: upsertTicket(this.state.tickets, t, true) });
        },
        onIncoming: (msgs) => {
          const top = msgs[msgs.length - 1].seq;
          this.seenSeq.set(ticketId, Math.max(this.seenSeq.get(ticketId) ?? 0, top));
        },
        createSocket: this.opts.createSocket,
        scheduler: this.opts.scheduler,
        random: this.opts.random,
        liveness: this.opts.liveness,
        wake: this.opts.wake,
      });
      this.chats.set(ticketId, c);
      this.store.update({ openChats: [...this.state.openChats, ticketId] });
      c.open().catch((err: unknown) => {
        c.store.update({ notice: this.describe(err), connection: 'ended' });
        if (err instanceof ApiError && err.status === 401) this.handleError(err);
      });
      void context.load();
    }
    if (!show) {
      this.saveTabs();
      return;
    }
    this.activate(ticketId);
    if (focus) this.store.update({ focusRequest: { ticketId, at: (this.state.focusRequest?.at ?? 0) + 1 } });
  }

  activate(ticketId: number | null): void {
    this.store.update({ activeChat: ticketId });
    this.refreshAttention();
    this.saveTabs();
  }

  closeChat(ticketId: number): void {
    this.chats.get(ticketId)?.dispose();
    this.chats.delete(ticketId);
    this.contexts.delete(ticketId);
    const openChats = this.state.openChats.filter((id) => id !== ticketId);
    const activeChat = this.state.activeChat === ticketId ? (openChats[openChats.length - 1] ?? null) : this.state.activeChat;
    this.store.update({ openChats, activeChat });
    this.refreshAttention();
    this.saveTabs();
  }

  /** Called on focus/visibility changes: the active chat reads as messages arrive. */
  refreshAttention(): void {
    const attentive = this.opts.isAttentive?.() ?? true;
    for (const [id, c] of this.chats) c.setAttentive(attentive && id === this.state.activeChat);
    const active = this.state.activeChat;
    if (attentive && active !== null && (this.state.unread[active] ?? 0) !== 0) {
      this.store.update({ unread: { ...this.state.unread, [active]: 0 } });
    }
  }

  // ---- ticket actions ----

  /** Stores a private note; it reaches every open chat of the ticket through its
   *  socket (a `note` frame). Rejects with the server's error, for the composer. */
  async writeNote(ticketId: number, text: string, clientMsgId: string): Promise<void> {
    await this.api.createNote(ticketId, text, clientMsgId);
  }

  /** Uploads a file to a ticket as this agent (issue 17); the login cookie goes along. */
  uploadTo(ticketId: number): UploadFn {
    return (req) => uploadAttachment({ ...req, url: this.api.ticketAttachmentUrl(ticketId) });
  }

  /** Queues an email of the ticket's public history to `email` (issue 18). Rejects
   *  with the server's error, for the dialog to show. */
  async emailTranscript(ticketId: number, email: string): Promise<OutboxEmail> {
    return this.api.emailTicketTranscript(ticketId, email);
  }

  /** A path on the service (an attachment's `url`) as a URL. */
  serviceUrl(path: string): string {
    return this.api.url(path);
  }

  async assignToMe(ticketId: number): Promise<void> {
    await this.takeMyself(ticketId, () => this.api.assignTicket(ticketId));
  }

  /** Joins an open ticket's chat (the visitor is told); else takes it over. */
  async join(ticketId: number): Promise<void> {
    const status = this.chats.get(ticketId)?.state.ticket?.status ?? this.state.tickets.find((t) => t.id === ticketId)?.status;
    await this.takeMyself(ticketId, () => (status === 'open' ? this.api.joinTicket(ticketId) : this.api.assignTicket(ticketId)));
  }

  /** Hands the ticket to a teammate (API.md transfer: the visitor is told who joined). */
  async transfer(ticketId: number, agentId: number): Promise<void> {
    if (agentId === this.state.agent?.id) {
      await this.takeMyself(ticketId, () => this.api.transferTicket(ticketId, agentId));
      return;
    }
    await this.act(() => this.api.transferTicket(ticketId, agentId));
  }

  private async takeMyself(ticketId: number, call: () => Promise<Ticket>): Promise<void> {
    this.takingMyself.add(ticketId);
    try {
      await this.act(call);
    } finally {
      this.takingMyself.delete(ticketId);
    }
  }

  async setStatus(ticketId: number, status: TicketStatus): Promise<void> {
    await this.act(() => this.api.updateTicket(ticketId, { status }));
  }

  async setPriority(ticketId: number, priority: TicketPriority): Promise<void> {
    await this.act(() => this.api.updateTicket(ticketId, { priority }));
  }

  /** Replaces the ticket's labels; the labels in use are read again for the autocomplete. */
  async setLabels(ticketId: number, labels: readonly string[]): Promise<void> {
    await this.act(() => this.api.updateTicket(ticketId, { labels }));
    void this.tools.loadLabels();
  }

  private async act(call: () => Promise<Ticket>): Promise<void> {
    this.store.update({ actionError: null });
    try {
      const ticket = await call();
      this.applyTicket(ticket);
    } catch (err) {
      this.handleError(err);
    }
  }

  // ---- the team: presence and capacity ----

  /** The team with statuses and loads (any agent may read it); again after a feed gap. */
  async loadAgents(): Promise<void> {
    try {
      const agents = await this.team.load();
      const me = this.state.agent;
      const listed = me ? agents.find((a) => a.id === me.id) : undefined;
      if (me && listed && !this.state.savingStatus) this.store.update({ agent: { ...me, ...listed } });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.handleError(err);
    }
  }

  private applyAgent(agent: Agent): void {
    this.team.apply(agent);
    const me = this.state.agent;
    if (me && me.id === agent.id && !this.state.savingStatus) this.store.update({ agent: { ...me, ...agent } });
    else if (me && me.id === agent.id) this.store.update({ agent: { ...me, ...agent, status: me.status } });
  }

  /** The agent chose online or away: shown at once, put back if the server refuses. */
  async setMyStatus(status: ChosenStatus): Promise<void> {
    const me = this.state.agent;
    if (!me) return;
    const request = ++this.statusRequest;
    const previous = me.status;
    this.store.update({ agent: { ...me, status }, savingStatus: true, actionError: null });
    try {
      const updated = await this.api.setMyStatus(status);
      if (request !== this.statusRequest) return;
      const current = this.state.agent ?? me;
      this.store.update({ agent: { ...current, ...updated }, savingStatus: false });
      this.team.apply(updated);
    } catch (err) {
      if (request !== this.statusRequest) return;
      const current = this.state.agent;
      if (current) this.store.update({ agent: { ...current, status: previous }, savingStatus: false });
      if (err instanceof ApiError && err.status !== 401) this.store.update({ actionError: `Your status could not be changed: ${err.message}` });
      else this.handleError(err);
    }
  }

  /** The agent used the page (a key, a click, a touch, focus): keeps them online. */
  recordActivity(): void {
    if (this.state.auth === 'signed_in') this.activity.input();
  }

  /** Admins: how many chats auto-assignment may give an agent. Rejects with the server's error. */
  async setMaxChats(agentId: number, maxChats: number): Promise<void> {
    this.applyAgent(await this.team.setMaxChats(agentId, maxChats));
  }

  // ---- tickets given to me ----

  /** The ticket became mine now, and not through my own Join or Assign to me. */
  private givenToMe(before: Ticket | undefined, after: Ticket): boolean {
    const me = this.state.agent?.id;
    return me !== undefined && isGivenToMe(before, after, me, this.takingMyself.has(after.id));
  }

  /** Opens the chat as a tab (shown at once when no other chat is), notifies, and
   *  keeps a notice until dismissed; the agent's reply box keeps the focus. */
  private openAssigned(ticket: Ticket): void {
    const showNow = this.state.activeChat === null;
    this.openChat(ticket.id, false, showNow);
    const notice: AssignedNotice = { ticketId: ticket.id, subject: ticket.subject, userName: ticket.user_name };
    const others = this.state.assignedToMe.filter((n) => n.ticketId !== ticket.id);
    this.store.update({ assignedToMe: [...others, notice].slice(-MAX_ASSIGNED_NOTICES) });
    this.alerts.notify(`Assigned to you: ${ticket.subject}`, ticket.user_name, `assigned-${ticket.id}`, () => this.openChat(ticket.id));
  }

  dismissAssigned(ticketId: number): void {
    this.store.update({ assignedToMe: this.state.assignedToMe.filter((n) => n.ticketId !== ticketId) });
  }

  /** "Show" on a notice: the chat comes to the front and the notice goes. */
  showAssigned(ticketId: number): void {
    this.dismissAssigned(ticketId);
    this.openChat(ticketId);
  }

  // ---- new ratings ----

  /** A visitor rated a ticket (the feed's `rating_created`, right after the
   *  `ticket_updated` carrying it): a notice that opens it. A ticket this dashboard never
   *  heard of (filtered out before it loaded) has no subject to show: ignored. */
  private ratingArrived(ticketId: number, rating: TicketRating): void {
    const ticket = this.latest.get(ticketId) ?? this.chats.get(ticketId)?.state.ticket ?? undefined;
    const score = Math.round(rating.score);
    if (!ticket || score < 1 || score > 5) return;
    const notice: RatingNotice = { ticketId, subject: ticket.subject, score };
    const others = this.state.ratingNotices.filter((n) => n.ticketId !== ticketId);
    this.store.update({ ratingNotices: [...others, notice].slice(-MAX_RATING_NOTICES) });
    // A desktop notification, without the beep that calls for an answer.
    this.alerts.notify(`${stars(score)} rating on “${ticket.subject}” (#${ticketId})`, rating.comment ?? '', `rating-${ticketId}`, () => this.showRating(ticketId), false);
  }

  dismissRating(ticketId: number): void {
    this.store.update({ ratingNotices: this.state.ratingNotices.filter((n) => n.ticketId !== ticketId) });
  }

  /** A click on a rating notice: the ticket's chat comes to the front and the notice goes. */
  showRating(ticketId: number): void {
    this.dismissRating(ticketId);
    this.openChat(ticketId);
  }

  // ---- alerts ----

  async enableAlerts(): Promise<void> {
    const permission = await this.alerts.enable();
    this.store.update({ permission });
  }

  setSound(on: boolean): void {
    this.alerts.soundOn = on;
    if (on) this.alerts.unlockAudio();
    this.store.update({ soundOn: on });
  }

  dispose(): void {
    this.feed?.stop();
    this.activity.stop();
    for (const c of this.chats.values()) c.dispose();
    this.chats.clear();
  }
}
