// Pure rules of the ticket queue: which tickets the current filters show, in the
// server's order (priority, urgent first, then oldest first).

import type { Agent, FeedScope, Notice, Ticket, TicketPriority, TicketStatus } from '../shared/protocol';

export const ACTIVE_STATUSES: readonly TicketStatus[] = ['open', 'assigned', 'in_progress'];

export interface QueueFilters {
  /** 'active' is the server's default (open, assigned, in progress). */
  status: 'active' | 'all' | TicketStatus;
  priority: 'any' | TicketPriority;
  assigned: 'any' | 'me' | 'none';
  q: string;
  /** Only tickets carrying this label; '' for any. */
  label: string;
}

export const DEFAULT_FILTERS: QueueFilters = { status: 'active', priority: 'any', assigned: 'any', q: '', label: '' };

const PRIORITY_RANK: Readonly<Record<TicketPriority, number>> = { urgent: 0, high: 1, medium: 2, low: 3 };

export function compareTickets(a: Ticket, b: Ticket): number {
  const p = (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9);
  if (p !== 0) return p;
  const t = a.created_at.localeCompare(b.created_at);
  return t !== 0 ? t : a.id - b.id;
}

export function statusFilterValues(status: QueueFilters['status']): readonly TicketStatus[] | 'all' {
  if (status === 'active') return ACTIVE_STATUSES;
  if (status === 'all') return 'all';
  return [status];
}

/** Whether a ticket learnt from the live feed belongs in the list under these filters. */
export function matchesFilters(ticket: Ticket, filters: QueueFilters, agent: Agent | null): boolean {
  const statuses = statusFilterValues(filters.status);
  if (statuses !== 'all' && !statuses.includes(ticket.status)) return false;
  if (filters.priority !== 'any' && ticket.priority !== filters.priority) return false;
  if (filters.assigned === 'me' && (agent === null || ticket.supporter_id !== agent.id)) return false;
  if (filters.assigned === 'none' && ticket.supporter_id !== null) return false;
  if (filters.label !== '' && !ticket.labels.includes(filters.label)) return false;
  const q = filters.q.trim().toLowerCase();
  if (q) {
    const hay = `${ticket.subject}\n${ticket.user_name}\n${ticket.user_email ?? ''}`.toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

/** Inserts or replaces a ticket, or removes it when it no longer matches. */
export function upsertTicket(list: readonly Ticket[], ticket: Ticket, keep: boolean): Ticket[] {
  const rest = list.filter((t) => t.id !== ticket.id);
  return keep ? [...rest, ticket].sort(compareTickets) : rest;
}

/** A ticket's queue-row fields after a feed Notice (issue 20): the server says what the
 *  row shows after the messages it covers (preview, waiting time). A Notice older than
 *  the row (a lower seq) changes nothing; one with the same seq may come twice and is
 *  applied again. updated_at is left as it is: it is the version a later ticket frame is
 *  compared with, and a status change published late must still win over it. */
export function withNotice(ticket: Ticket, notice: Notice): Ticket {
  if (notice.ticket_id !== ticket.id || notice.seq < ticket.last_seq) return ticket;
  return { ...ticket, last_seq: notice.seq, last_message_preview: notice.preview, waiting_since: notice.waiting_since };
}

/** The feed's scope for a queue filtered by agent: "mine" and "unassigned" need only the
 *  notices of unassigned tickets and mine; "anyone" needs every ticket's. */
export function feedScope(assigned: QueueFilters['assigned']): FeedScope {
  return assigned === 'any' ? 'all' : 'mine';
}

/** How long the visitor has waited, for a queue row ("just now", "4 min", "2 h 5 min",
 *  "3 d"); null when nobody waits or the ticket is no longer worked on. */
export function waitingLabel(ticket: Pick<Ticket, 'waiting_since' | 'status'>, nowMs: number): string | null {
  if (ticket.waiting_since === null || !ACTIVE_STATUSES.includes(ticket.status)) return null;
  const since = Date.parse(ticket.waiting_since);
  if (Number.isNaN(since)) return null;
  const minutes = Math.floor(Math.max(0, nowMs - since) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** A ticket frame published before a message the row already shows (its last_seq is
 *  lower) keeps the row's preview and waiting time: the frame's status still wins. */
export function keepNewerConversation(incoming: Ticket, held: Ticket | undefined): Ticket {
  if (!held || held.last_seq <= incoming.last_seq) return incoming;
  return { ...incoming, last_seq: held.last_seq, last_message_preview: held.last_message_preview, waiting_since: held.waiting_since };
}
