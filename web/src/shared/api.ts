// Typed REST client for API.md. Every non-2xx answer becomes an ApiError carrying the
// server's error code (and field, and Retry-After), so views can show it next to the
// right input. Agents authenticate with the HttpOnly cookie that login sets, so every
// request is sent with credentials 'same-origin' and no token is ever kept in JS.

import type {
  Agent,
  Availability,
  CannedResponse,
  ChosenStatus,
  Settings,
  ChatMessage,
  ErrorBody,
  LabelCount,
  MessagePage,
  OutboxEmail,
  OutboxPage,
  OutboxStatus,
  ResumedConversation,
  Ticket,
  TicketPriority,
  TicketStatus,
  VisitorContext,
} from './protocol';
import type { ReportQuery, ReportSummary } from './reportTypes';
import type { CreatedWebhook, DeliveryPage, Webhook, WebhookBody } from './webhookTypes';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** Seconds from the Retry-After header of a 429, when given. */
  readonly retryAfter: number | undefined;

  constructor(status: number, body: ErrorBody, retryAfter?: number) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.retryAfter = retryAfter;
  }
}

export interface CreateTicketBody {
  user_name: string;
  user_email?: string;
  subject: string;
  priority?: TicketPriority;
  message?: string;
  user_id?: string;
  user_hash?: string;
}

/** Either forward from after_seq, or backward from before_seq (results stay ascending). */
export type PageQuery = { after_seq?: number; limit?: number } | { before_seq: number; limit?: number };

export interface TicketFilters {
  status?: readonly TicketStatus[] | 'all';
  priority?: readonly TicketPriority[];
  assigned?: 'me' | 'none' | number;
  q?: string;
  /** Tickets carrying any of these labels. */
  label?: readonly string[];
  limit?: number;
  cursor?: string;
}

export interface CannedBody {
  shortcut: string;
  title: string;
  body: string;
}

export interface TicketList {
  tickets: Ticket[];
  next_cursor: string | null;
}

export interface LoginResult {
  token: string;
  agent: Agent;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Origin (and optional path prefix) of the service; '' means the page's own origin. */
  baseUrl?: string;
  fetch?: FetchLike;
}

type Query = Record<string, string | number | undefined>;

function queryString(q: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function pageQuery(page: PageQuery | undefined): Query {
  if (!page) return {};
  if ('before_seq' in page) return { before_seq: page.before_seq, limit: page.limit };
  return { after_seq: page.after_seq, limit: page.limit };
}

function isErrorEnvelope(v: unknown): v is { error: ErrorBody } {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

/** Parses a response body as JSON; undefined when empty or not JSON. */
export function parseJsonBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The ApiError of a non-2xx answer: the server's error body when it sent one. */
export function errorFromResponse(status: number, parsed: unknown, retryAfterHeader: string | null): ApiError {
  const retry = Number(retryAfterHeader);
  const body: ErrorBody = isErrorEnvelope(parsed)
    ? parsed.error
    : { code: status === 401 ? 'unauthorized' : 'internal', message: `Request failed (${status})` };
  return new ApiError(status, body, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    } catch {
      throw new ApiError(0, { code: 'network_error', message: 'The service cannot be reached. Check your connection.' });
    }
    if (res.status === 204) return undefined as T;
    const parsed = parseJsonBody(await res.text());
    if (!res.ok) throw errorFromResponse(res.status, parsed, res.headers.get('Retry-After'));
    return parsed as T;
  }

  /** A path on the service as a URL to fetch or link to (e.g. an attachment's `url`). */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  // ---- guest (the session id is the capability) ----
  createTicket(body: CreateTicketBody): Promise<Ticket> {
    return this.request('POST', '/api/support/ticket', body);
  }
  getTicketBySession(sessionId: string): Promise<Ticket> {
    return this.request('GET', `/api/support/ticket/${encodeURIComponent(sessionId)}`);
  }
  getSessionMessages(sessionId: string, page?: PageQuery): Promise<MessagePage> {
    return this.request(
      'GET',
      `/api/support/ticket/${encodeURIComponent(sessionId)}/messages${queryString(pageQuery(page))}`,
    );
  }
  closeSession(sessionId: string): Promise<Ticket> {
    return this.request('POST', `/api/support/ticket/${encodeURIComponent(sessionId)}/close`);
  }
  /** Whether someone can chat now, and the desk's texts (public, issue 18). */
  getAvailability(): Promise<Availability> {
    return this.request('GET', '/api/support/availability');
  }
  /** The visitor rates a resolved or closed conversation: 201 with the ticket; a second rating 409. */
  rateTicket(sessionId: string, body: { score: number; comment?: string }): Promise<Ticket> {
    return this.request('POST', `/api/support/ticket/${encodeURIComponent(sessionId)}/rating`, body);
  }
  /** Emails the conversation's public history to `email` (issue 18): 202 with the outbox entry; 3 an hour (429). */
  emailTranscript(sessionId: string, email: string): Promise<OutboxEmail> {
    return this.request('POST', `/api/support/ticket/${encodeURIComponent(sessionId)}/transcript`, { email });
  }
  /** Trades an email link's token for its conversation (public): 404 not ours, 403 expired. */
  resumeConversation(token: string): Promise<ResumedConversation> {
    return this.request('POST', '/api/support/resume', { token });
  }
  /** Where the visitor uploads a file (multipart, see attachments/upload.ts). */
  guestAttachmentUrl(sessionId: string): string {
    return this.url(`/api/support/ticket/${encodeURIComponent(sessionId)}/attachments`);
  }

  // ---- agents ----
  login(email: string, password: string): Promise<LoginResult> {
    return this.request('POST', '/api/support/auth/login', { email, password });
  }
  logout(): Promise<void> {
    return this.request('POST', '/api/support/auth/logout');
  }
  me(): Promise<Agent> {
    return this.request('GET', '/api/support/agents/me');
  }
  listAgents(): Promise<{ agents: Agent[] }> {
    return this.request('GET', '/api/support/agents');
  }
  /** The agent's own choice of status; the answer shows the resulting status. */
  setMyStatus(status: ChosenStatus): Promise<Agent> {
    return this.request('PUT', '/api/support/agents/me/status', { status });
  }
  /** Admins: an agent's name, role, disabled flag or auto-assignment capacity. */
  updateAgent(agentId: number, change: { name?: string; role?: Agent['role']; disabled?: boolean; max_chats?: number }): Promise<Agent> {
    return this.request('PATCH', `/api/support/agents/${agentId}`, change);
  }
  /** Admins: the desk's settings (a plain agent gets 403). */
  getSettings(): Promise<Settings> {
    return this.request('GET', '/api/support/settings');
  }
  /** Admins: changes any subset of the settings; answers them whole. */
  updateSettings(change: Partial<Settings>): Promise<Settings> {
    return this.request('PUT', '/api/support/settings', change);
  }
  listTickets(filters: TicketFilters = {}): Promise<TicketList> {
    const status = filters.status === 'all' ? 'all' : filters.status?.join(',');
    return this.request(
      'GET',
      `/api/support/tickets${queryString({
        status,
        priority: filters.priority?.join(','),
        assigned: filters.assigned,
        q: filters.q?.trim(),
        label: filters.label?.join(','),
        limit: filters.limit,
        cursor: filters.cursor,
      })}`,
    );
  }
  getTicket(ticketId: number): Promise<Ticket> {
    return this.request('GET', `/api/support/tickets/${ticketId}`);
  }
  /** The visitor's pages, browser and previous conversations (agents only). */
  getTicketContext(ticketId: number): Promise<VisitorContext> {
    return this.request('GET', `/api/support/tickets/${ticketId}/context`);
  }
  getTicketMessages(ticketId: number, page?: PageQuery): Promise<MessagePage> {
    return this.request('GET', `/api/support/tickets/${ticketId}/messages${queryString(pageQuery(page))}`);
  }
  assignTicket(ticketId: number, supporterId?: number): Promise<Ticket> {
    return this.request('POST', `/api/support/tickets/${ticketId}/assign`, supporterId === undefined ? {} : { supporter_id: supporterId });
  }
  /** Hands the ticket to an enabled agent (the visitor is told "Bob joined the chat"). */
  transferTicket(ticketId: number, supporterId: number): Promise<Ticket> {
    return this.request('POST', `/api/support/tickets/${ticketId}/transfer`, { supporter_id: supporterId });
  }
  /** The caller joins the chat (API.md: assign with `join`): the visitor is told. */
  joinTicket(ticketId: number): Promise<Ticket> {
    return this.request('POST', `/api/support/tickets/${ticketId}/assign`, { join: true });
  }
  updateTicket(ticketId: number, change: { status?: TicketStatus; priority?: TicketPriority; labels?: readonly string[] }): Promise<Ticket> {
    return this.request('PATCH', `/api/support/tickets/${ticketId}`, change);
  }
  /** A private note (API.md "Private notes"); a resend with the same key stores nothing new. */
  createNote(ticketId: number, message: string, clientMsgId: string): Promise<ChatMessage> {
    return this.request('POST', `/api/support/tickets/${ticketId}/notes`, { message, client_msg_id: clientMsgId });
  }
  /** Where an agent uploads a file to a ticket (multipart; the login cookie goes along). */
  ticketAttachmentUrl(ticketId: number): string {
    return this.url(`/api/support/tickets/${ticketId}/attachments`);
  }
  /** Emails the ticket's public history to `email` as this agent (not rate limited). */
  emailTicketTranscript(ticketId: number, email: string): Promise<OutboxEmail> {
    return this.request('POST', `/api/support/tickets/${ticketId}/transcript`, { email });
  }
  /** Admins: the outbox, newest first; `before` is the previous page's `next_before`. */
  listOutbox(query: { status?: OutboxStatus; before?: number; limit?: number } = {}): Promise<OutboxPage> {
    return this.request('GET', `/api/support/outbox${queryString({ status: query.status, before: query.before, limit: query.limit })}`);
  }
  /** The figures of the tickets created in a range of days (issue 19). */
  getReportSummary(query: ReportQuery): Promise<ReportSummary> {
    return this.request('GET', `/api/support/reports/summary${queryString({ ...query })}`);
  }
  /** The same tickets as CSV, one row each: a link the login cookie goes along with. */
  reportCsvUrl(query: ReportQuery): string {
    return this.url(`/api/support/reports/tickets.csv${queryString({ ...query })}`);
  }
  /** Admins: the webhooks, oldest first (without their secrets). */
  listWebhooks(): Promise<{ webhooks: Webhook[] }> {
    return this.request('GET', '/api/support/webhooks');
  }
  /** Admins: a new webhook; its answer carries the signing secret, once. */
  createWebhook(body: WebhookBody): Promise<CreatedWebhook> {
    return this.request('POST', '/api/support/webhooks', body);
  }
  deleteWebhook(id: number): Promise<void> {
    return this.request('DELETE', `/api/support/webhooks/${id}`);
  }
  /** Admins: a webhook's deliveries, newest first; `before` is the previous page's `next_before`. */
  listWebhookDeliveries(id: number, query: { before?: number; limit?: number } = {}): Promise<DeliveryPage> {
    return this.request('GET', `/api/support/webhooks/${id}/deliveries${queryString({ limit: query.limit, before: query.before })}`);
  }
  /** Every label in use, most used first. */
  listLabels(): Promise<{ labels: LabelCount[] }> {
    return this.request('GET', '/api/support/labels');
  }

  // ---- canned responses (writes: admins only) ----
  listCanned(q?: string): Promise<{ canned: CannedResponse[] }> {
    return this.request('GET', `/api/support/canned${queryString({ q: q?.trim() })}`);
  }
  createCanned(body: CannedBody): Promise<CannedResponse> {
    return this.request('POST', '/api/support/canned', body);
  }
  updateCanned(id: number, change: Partial<CannedBody>): Promise<CannedResponse> {
    return this.request('PATCH', `/api/support/canned/${id}`, change);
  }
  deleteCanned(id: number): Promise<void> {
    return this.request('DELETE', `/api/support/canned/${id}`);
  }
  /** Counts one insertion into a reply (the list is sorted by use). */
  recordCannedUse(id: number): Promise<void> {
    return this.request('POST', `/api/support/canned/${id}/use`);
  }
}

