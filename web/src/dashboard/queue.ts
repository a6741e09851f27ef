// Pure rules of the ticket queue: which tickets the current filters show, in the
// server's order (priority, urgent first, then oldest first).

import { messageSummary } from '../shared/attachments/format';
import { PREVIEW_CHARS, type Agent, type ChatMessage, type Ticket, type TicketPriority, type TicketStatus } from '../shared/protocol';

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

/** A ticket's queue-row fields after one more message: the preview follows the newest
 *  visitor or agent line, and the visitor waits from their first unanswered message
 *  until an agent writes (system lines and agents-only notes change neither). */
export function withMessage(ticket: Ticket, message: ChatMessage): Ticket {
  const next = { ...ticket, last_seq: Math.max(ticket.last_seq, message.seq) };
  if (message.visibility === 'internal' || message.sender_type === 'system') return next;
  next.last_message_preview = Array.from(messageSummary(message)).slice(0, PREVIEW_CHARS).join('');
  if (message.sender_type === 'user') next.waiting_since = ticket.waiting_since ?? message.created_at;
  else next.waiting_since = null;
  return next;
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
