// The wire types of API.md, written once for the chat app, the dashboard and the tests.
// Incoming frames are parsed from `unknown` with small guards, so a malformed frame is
// dropped instead of crashing a view.

export type TicketStatus = 'open' | 'assigned' | 'in_progress' | 'resolved' | 'closed';
export const TICKET_STATUSES: readonly TicketStatus[] = ['open', 'assigned', 'in_progress', 'resolved', 'closed'];

export type TicketPriority = 'low' | 'medium' | 'high' | 'urgent';
export const TICKET_PRIORITIES: readonly TicketPriority[] = ['low', 'medium', 'high', 'urgent'];

export type SenderType = 'user' | 'supporter' | 'system';

/** Allowed status changes (API.md "Status transitions"); the server answers 409 to anything else. */
export const STATUS_TRANSITIONS: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  open: ['assigned', 'closed'],
  assigned: ['in_progress', 'open', 'resolved', 'closed'],
  in_progress: ['assigned', 'resolved', 'closed'],
  resolved: ['in_progress', 'closed'],
  closed: [],
};

/** Default server limits (API.md "Limits"), counted in Unicode characters after trimming. */
export const LIMITS = {
  messageMax: 8192,
  nameMax: 100,
  subjectMax: 200,
  emailMax: 254,
  clientMsgIdMax: 64,
  pageMax: 500,
} as const;

export interface Ticket {
  id: number;
  session_id: string;
  user_id: string | null;
  supporter_id: number | null;
  supporter_name: string | null;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  user_email: string | null;
  user_name: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  last_seq: number;
  unread_count: number;
  /** The start (140 characters) of the newest visitor or agent line; null before one. */
  last_message_preview: string | null;
  /** When the visitor's oldest message no agent has answered was written; null when answered. */
  waiting_since: string | null;
  /** The team's labels, sorted (API.md "Labels"); always empty in the visitor's view. */
  labels: string[];
  /** The visitor's rating once the ticket was resolved or closed (issue 18); null before. */
  rating?: TicketRating | null;
}

/** How the visitor found the conversation (`POST …/rating`): score 1 (bad) to 5 (great). */
export interface TicketRating {
  score: number;
  comment: string | null;
  created_at: string;
}

export const RATING_SCORES = [1, 2, 3, 4, 5] as const;
export const RATING_COMMENT_MAX = 1000;

/** An email in the outbox (API.md "Email", issue 18): a follow-up or a transcript. */
export interface OutboxEmail {
  id: number;
  kind: 'follow_up' | 'transcript';
  ticket_id: number | null;
  to: string;
  subject: string;
  /** `pending`: waiting or being sent; `failed`: see `last_error`. */
  status: OutboxStatus;
  attempts: number;
  last_error: string | null;
  /** When a pending email is tried next; null otherwise. */
  next_attempt_at: string | null;
  created_at: string;
  sent_at: string | null;
}

export type OutboxStatus = 'pending' | 'sent' | 'failed';

/** `GET /api/support/outbox` (admins), newest first. */
export interface OutboxPage {
  emails: OutboxEmail[];
  /** Pass as `before` for the next page; null: no more. */
  next_before: number | null;
  /** Whether the node has an SMTP_URL (else emails wait, pending). */
  smtp_configured: boolean;
}

/** `POST /api/support/resume`: a link's token traded for the conversation. */
export interface ResumedConversation {
  session_id: string;
  ticket: Ticket;
}

/** A saved reply (API.md "Canned responses"); its body may hold placeholders. */
export interface CannedResponse {
  id: number;
  shortcut: string;
  title: string;
  body: string;
  /** How often agents inserted it: lists come most used first. */
  uses: number;
  updated_at: string;
}

/** A label in use and on how many tickets (any status). */
export interface LabelCount {
  name: string;
  count: number;
}

/** How much of the newest message a ticket carries as its preview (API.md Ticket). */
export const PREVIEW_CHARS = 140;

export interface ChatMessage {
  id: number;
  ticket_id: number;
  seq: number;
  sender_type: SenderType;
  sender_id: number | null;
  sender_name: string;
  message: string;
  is_read: boolean;
  created_at: string;
  client_msg_id?: string | null;
  /** Who may see it (API.md Message); absent means `public`. */
  visibility?: MessageVisibility;
  /** Agents' view only: the message's number in the visitor's stream (absent for internal ones). */
  public_seq?: number | null;
  /** The file the message carries (API.md "Attachments"); absent on other messages.
   *  `message` is then the caption, "" when there is none. */
  attachments?: Attachment[];
}

/** A stored file (API.md "Attachments (issue 17)"). */
export interface Attachment {
  id: number;
  filename: string;
  content_type: string;
  size: number;
  /** Pixels, images only. */
  width?: number;
  height?: number;
  /** A path on the service, signed and expiring (7 days by default): prefix the service's origin. */
  url: string;
}

/** `internal`: an agent's private note, or an agents-only system note (assignment,
 *  priority, workflow step). The visitor's stream never holds one: its seq counts
 *  public messages only. */
export type MessageVisibility = 'public' | 'internal';

/** Whether the visitor's view shows this message. Notes never reach the visitor; an
 *  empty system line is what an agents-only note stored before the numbering of
 *  migration 0006 left in the visitor's stream, and shows nothing. */
export function isVisibleToVisitor(m: Pick<ChatMessage, 'visibility' | 'sender_type' | 'message'>): boolean {
  return m.visibility !== 'internal' && !(m.sender_type === 'system' && m.message === '');
}

/** An agent's private note (not an agents-only system note). */
export function isNote(m: Pick<ChatMessage, 'visibility' | 'sender_type'>): boolean {
  return m.visibility === 'internal' && m.sender_type === 'supporter';
}

/** An agent's presence (API.md "Presence, capacity and routing"). */
export type AgentStatus = 'online' | 'away' | 'offline';
export const AGENT_STATUSES: readonly AgentStatus[] = ['online', 'away', 'offline'];

/** The statuses an agent may choose (`PUT …/agents/me/status`); offline is the server's call. */
export type ChosenStatus = Exclude<AgentStatus, 'offline'>;

/** Bounds of `max_chats` (API.md). */
export const MAX_CHATS_MIN = 0;
export const MAX_CHATS_MAX = 50;

export interface Agent {
  id: number;
  email: string;
  name: string;
  role: 'admin' | 'agent';
  online?: boolean;
  disabled?: boolean;
  /** Absent from a server before issue 16. */
  status?: AgentStatus;
  /** The most tickets auto-assignment gives the agent at once (0: never). */
  max_chats?: number;
  /** Tickets the agent holds in status assigned or in_progress. */
  open_chats?: number;
}

/** How waiting tickets reach agents. */
export type AssignmentMode = 'auto' | 'manual';

/** `GET/PUT /api/support/settings` (admins). Issue 18 adds more sections. */
export interface Settings {
  assignment: AssignmentMode;
  away_after_minutes: number;
  /** Issue 18: null is always open. */
  business_hours?: BusinessHours | null;
  /** "" lets the widget use its own words. */
  greeting?: string;
  offline_message?: string;
  email_after_minutes?: number;
  /** Whether visitors are asked to rate a finished conversation. */
  csat?: boolean;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** `["HH:MM", "HH:MM"]` in the desk's zone; the end may be "24:00". */
export type HoursRange = [string, string];

export interface BusinessHours {
  /** IANA name. */
  timezone: string;
  /** A day left out (or with no ranges) is closed. */
  weekly: Partial<Record<Weekday, HoursRange[]>>;
  /** Whole days, `YYYY-MM-DD` in the desk's zone. */
  holidays: string[];
}

export const DESK_TEXT_MAX = 1000;
export const EMAIL_AFTER_MIN = 1;
export const EMAIL_AFTER_MAX = 10080;

/** `GET /api/support/availability` (public): whether someone can chat now, and the desk's texts. */
export interface Availability {
  online: boolean;
  reason: 'outside_hours' | 'no_agents' | null;
  /** While outside the hours, when they next begin; null otherwise. */
  next_open_at: string | null;
  timezone: string | null;
  greeting: string;
  offline_message: string;
  csat: boolean;
  /** Median first reply over the last 7 days; null without data. */
  typical_reply_seconds: number | null;
}

/** Bounds of `away_after_minutes` (0 turns auto-away off). */
export const AWAY_AFTER_MIN = 0;
export const AWAY_AFTER_MAX = 1440;

/** The visitor's place in the queue (`queue` frames); position null: not waiting. */
export interface QueueInfo {
  position: number | null;
  agents_online: number;
}

export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
  /** Seconds to wait, on a `rate_limited` error frame (when the server says). */
  retry_after?: number;
}

export interface MessagePage {
  messages: ChatMessage[];
  has_more: boolean;
}

/** The host page the visitor is on, as the chat app reports it (API.md `page`). */
export interface PageReport {
  url: string;
  title: string;
  referrer: string;
  /** navigator.language */
  locale?: string;
  /** Intl.DateTimeFormat().resolvedOptions().timeZone */
  timezone?: string;
}

/** A page the visitor was on, as agents see it (live `page` frames, GET …/context). */
export interface VisitedPage {
  url: string;
  title: string;
  referrer: string | null;
  at: string;
}

/** GET /api/support/tickets/{id}/context */
export interface VisitorContext {
  pages: VisitedPage[];
  user_agent: string | null;
  browser: string | null;
  os: string | null;
  locale: string | null;
  timezone: string | null;
  previous_tickets: Ticket[];
}

/** What the agent feed carries (API.md "The feed"): `all` (the server's default), the
 *  notices of every ticket; `mine`, those of unassigned tickets and the agent's own. */
export type FeedScope = 'all' | 'mine';
export const FEED_SCOPES: readonly FeedScope[] = ['all', 'mine'];

/** One ticket's new messages, as the feed's `notices` frame tells a dashboard (issue 20):
 *  the ticket's queue-row fields after them, not the messages themselves. */
export interface Notice {
  ticket_id: number;
  /** The ticket's newest message seq (agents' numbering) the notice covers. */
  seq: number;
  /** When that message was stored. */
  at: string;
  /** Who wrote that message. */
  sender_type: SenderType;
  /** How many of the messages it covers are the visitor's (what a dashboard alerts on). */
  visitor_messages: number;
  /** The ticket's `last_message_preview` after them. */
  preview: string | null;
  /** The ticket's `waiting_since` after them. */
  waiting_since: string | null;
  /** The ticket's `unread_count` after them. */
  unread: number;
}

// ---- client → server frames ----
export type ClientFrame =
  | { type: 'message'; message: string; client_msg_id?: string }
  /** Agents only: a private note. */
  | { type: 'note'; message: string; client_msg_id?: string }
  | { type: 'typing'; data: { is_typing: boolean } }
  | { type: 'read'; data: { up_to_seq: number } }
  /** Visitor sockets only: the host page changed (at most one a second). */
  | { type: 'page'; data: PageReport }
  /** Liveness probe, on every socket (the feed too); the server answers `pong`. */
  | { type: 'ping' }
  /** The feed only: the agent used the dashboard (at most one a minute; keeps them online). */
  | { type: 'activity' }
  /** The feed only: which tickets' notices it carries from now on (not answered). */
  | { type: 'scope'; data: { scope: FeedScope } };

// ---- server → client frames ----
export type ServerFrame =
  | { type: 'ready'; data: { ticket: Ticket; last_seq: number; replayed: number; queue_position?: number | null } }
  | { type: 'message'; message: ChatMessage }
  /** Agents' ticket sockets only: a private note. */
  | { type: 'note'; message: ChatMessage }
  | { type: 'system'; message: ChatMessage }
  | { type: 'supporter_joined'; message: ChatMessage; data: { supporter_id: number; supporter_name: string } }
  | { type: 'typing'; data: { sender_type: SenderType; sender_name: string; is_typing: boolean } }
  | { type: 'read'; data: { reader_type: SenderType; up_to_seq: number } }
  | { type: 'presence'; data: { user_connected: boolean; supporter_connected: boolean } }
  /** Agent sockets only: the ticket's visitor is on a new page. */
  | { type: 'page'; data: VisitedPage }
  /** Visitor sockets: the ticket's place in the queue and how many agents are online. */
  | { type: 'queue'; data: QueueInfo }
  /** The feed: an agent's status, capacity, load, name, role or `disabled` changed. */
  | { type: 'agent_updated'; agent: Agent }
  | { type: 'ticket_created'; ticket: Ticket }
  | { type: 'ticket_updated'; ticket: Ticket }
  /** The feed: which tickets have new messages, one Notice per ticket (coalesced per ~100 ms). */
  | { type: 'notices'; data: { notices: Notice[] } }
  /** The feed: a visitor rated a ticket (after the `ticket_updated` that carries it). */
  | { type: 'rating_created'; data: { ticket_id: number; rating: TicketRating } }
  /** Ticket sockets: page from `after_seq`. The feed: `scope` "queue", reload the ticket list. */
  | { type: 'resync_required'; data: { after_seq: number } | { scope: string } }
  | { type: 'error'; error: ErrorBody; client_msg_id?: string }
  /** The answer to a `ping`; only its arrival matters. */
  | { type: 'pong' };

/** Frames that carry a stored message with a seq. */
export type StoredMessageFrame = Extract<ServerFrame, { type: 'message' | 'note' | 'system' | 'supporter_joined' }>;

export function isStoredMessageFrame(frame: ServerFrame): frame is StoredMessageFrame {
  return frame.type === 'message' || frame.type === 'note' || frame.type === 'system' || frame.type === 'supporter_joined';
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isSender = (v: unknown): v is SenderType => v === 'user' || v === 'supporter' || v === 'system';

export function isChatMessage(v: unknown): v is ChatMessage {
  return (
    isObject(v) &&
    isNum(v.seq) &&
    isNum(v.ticket_id) &&
    isStr(v.message) &&
    isSender(v.sender_type) &&
    (v.sender_name === undefined || v.sender_name === null || isStr(v.sender_name))
  );
}

export function isAgent(v: unknown): v is Agent {
  return (
    isObject(v) &&
    isNum(v.id) &&
    isStr(v.name) &&
    (v.status === undefined || (isStr(v.status) && (AGENT_STATUSES as readonly string[]).includes(v.status))) &&
    (v.max_chats === undefined || isNum(v.max_chats)) &&
    (v.open_chats === undefined || isNum(v.open_chats))
  );
}

const isStrOrNull = (v: unknown): v is string | null => v === null || isStr(v);
const isCount = (v: unknown): v is number => isNum(v) && v >= 0;

export function isNotice(v: unknown): v is Notice {
  return (
    isObject(v) &&
    isNum(v.ticket_id) &&
    isNum(v.seq) &&
    isSender(v.sender_type) &&
    isCount(v.visitor_messages) &&
    isStrOrNull(v.preview) &&
    isStrOrNull(v.waiting_since) &&
    isCount(v.unread)
  );
}

const isPosition = (v: unknown): v is number | null => v === null || (isNum(v) && v >= 1);

export function isTicket(v: unknown): v is Ticket {
  return (
    isObject(v) &&
    isNum(v.id) &&
    isStr(v.session_id) &&
    isStr(v.subject) &&
    isStr(v.status) &&
    (TICKET_STATUSES as readonly string[]).includes(v.status) &&
    isStr(v.priority)
  );
}

/** Fills in fields an older server leaves out, so the rest of the code can rely on them. */
function normaliseTicket(t: Ticket): Ticket {
  const labels = Array.isArray(t.labels) ? t.labels.filter((l): l is string => typeof l === 'string') : [];
  return { ...t, last_message_preview: t.last_message_preview ?? null, waiting_since: t.waiting_since ?? null, labels };
}

export function isAttachment(v: unknown): v is Attachment {
  return (
    isObject(v) &&
    isNum(v.id) &&
    isStr(v.filename) &&
    isStr(v.content_type) &&
    isNum(v.size) &&
    isStr(v.url) &&
    (v.width === undefined || v.width === null || isNum(v.width)) &&
    (v.height === undefined || v.height === null || isNum(v.height))
  );
}

/** A message's well-formed attachments (a malformed one is left out, never drawn). */
export function attachmentsOf(m: Pick<ChatMessage, 'attachments'>): Attachment[] {
  return Array.isArray(m.attachments) ? m.attachments.filter(isAttachment) : [];
}

function normaliseMessage(m: ChatMessage): ChatMessage {
  const out: ChatMessage = { ...m, sender_name: m.sender_name ?? '', is_read: m.is_read === true };
  if (m.attachments !== undefined) out.attachments = attachmentsOf(m);
  return out;
}

/** A message that arrived through REST (history, an upload's answer): the same guard
 *  and defaults as a live frame's. */
export function parseChatMessage(v: unknown): ChatMessage | null {
  return isChatMessage(v) ? normaliseMessage(v) : null;
}

/** Parses one text frame; returns null for anything that is not a known, well-formed frame. */
export function parseServerFrame(raw: unknown): ServerFrame | null {
  if (typeof raw !== 'string') return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isObject(v) || !isStr(v.type)) return null;
  const data = isObject(v.data) ? v.data : undefined;
  switch (v.type) {
    case 'ready':
      if (data && isTicket(data.ticket) && isNum(data.last_seq)) {
        return {
          type: 'ready',
          data: {
            ticket: data.ticket,
            last_seq: data.last_seq,
            replayed: isNum(data.replayed) ? data.replayed : 0,
            ...(isPosition(data.queue_position) ? { queue_position: data.queue_position } : {}),
          },
        };
      }
      return null;
    case 'message':
    case 'note':
    case 'system':
      return isChatMessage(v.message) ? { type: v.type, message: normaliseMessage(v.message) } : null;
    case 'supporter_joined':
      if (!isChatMessage(v.message)) return null;
      return {
        type: 'supporter_joined',
        message: normaliseMessage(v.message),
        data: {
          supporter_id: data && isNum(data.supporter_id) ? data.supporter_id : 0,
          supporter_name: data && isStr(data.supporter_name) ? data.supporter_name : v.message.sender_name,
        },
      };
    case 'typing':
      if (data && isSender(data.sender_type) && isBool(data.is_typing)) {
        return {
          type: 'typing',
          data: {
            sender_type: data.sender_type,
            sender_name: isStr(data.sender_name) ? data.sender_name : '',
            is_typing: data.is_typing,
          },
        };
      }
      return null;
    case 'read':
      if (data && isSender(data.reader_type) && isNum(data.up_to_seq)) {
        return { type: 'read', data: { reader_type: data.reader_type, up_to_seq: data.up_to_seq } };
      }
      return null;
    case 'presence':
      if (data && isBool(data.user_connected) && isBool(data.supporter_connected)) {
        return {
          type: 'presence',
          data: { user_connected: data.user_connected, supporter_connected: data.supporter_connected },
        };
      }
      return null;
    case 'page':
      if (data && isStr(data.url) && isStr(data.at)) {
        return {
          type: 'page',
          data: { url: data.url, title: isStr(data.title) ? data.title : '', referrer: isStr(data.referrer) ? data.referrer : null, at: data.at },
        };
      }
      return null;
    case 'queue':
      if (data && isPosition(data.position) && isNum(data.agents_online)) {
        return { type: 'queue', data: { position: data.position, agents_online: Math.max(0, data.agents_online) } };
      }
      return null;
    case 'agent_updated':
      return isAgent(v.agent) ? { type: 'agent_updated', agent: v.agent } : null;
    case 'ticket_created':
    case 'ticket_updated':
      return isTicket(v.ticket) ? { type: v.type, ticket: normaliseTicket(v.ticket) } : null;
    case 'notices': {
      // A malformed Notice is left out; the others of the frame still count.
      if (!data || !Array.isArray(data.notices)) return null;
      const notices = data.notices.filter(isNotice).map((n) => ({
        ticket_id: n.ticket_id,
        seq: n.seq,
        at: isStr(n.at) ? n.at : '',
        sender_type: n.sender_type,
        visitor_messages: n.visitor_messages,
        preview: n.preview,
        waiting_since: n.waiting_since,
        unread: n.unread,
      }));
      return { type: 'notices', data: { notices } };
    }
    case 'rating_created': {
      const rating = data && isObject(data.rating) ? data.rating : undefined;
      if (!data || !isNum(data.ticket_id) || !rating || !isNum(rating.score)) return null;
      return {
        type: 'rating_created',
        data: {
          ticket_id: data.ticket_id,
          rating: { score: rating.score, comment: isStr(rating.comment) ? rating.comment : null, created_at: isStr(rating.created_at) ? rating.created_at : '' },
        },
      };
    }
    case 'resync_required':
      if (data && isNum(data.after_seq)) return { type: 'resync_required', data: { after_seq: data.after_seq } };
      if (data && isStr(data.scope)) return { type: 'resync_required', data: { scope: data.scope } };
      return null;
    case 'pong':
      return { type: 'pong' };
    case 'error': {
      const err = v.error;
      if (!isObject(err) || !isStr(err.code)) return null;
      const frame: ServerFrame = {
        type: 'error',
        error: {
          code: err.code,
          message: isStr(err.message) ? err.message : err.code,
          ...(isStr(err.field) ? { field: err.field } : {}),
          ...(isNum(err.retry_after) && err.retry_after > 0 ? { retry_after: err.retry_after } : {}),
        },
      };
      if (isStr(v.client_msg_id)) frame.client_msg_id = v.client_msg_id;
      return frame;
    }
    default:
      return null;
  }
}

export function serializeClientFrame(frame: ClientFrame): string {
  return JSON.stringify(frame);
}
