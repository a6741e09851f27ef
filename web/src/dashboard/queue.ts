// Pure rules of the ticket queue: which tickets the current filters show, in the
// server's order (priority, urgent first, then oldest first).

import type { Agent, Ticket, TicketPriority, TicketStatus } from '../shared/protocol';

export const ACTIVE_STATUSES: readonly TicketStatus[] = ['open', 'assigned', 'in_progress'];

export interface QueueFilters {
  /** 'active' is the server's default (open, assigned, in progress). */
  status: 'active' | 'all' | TicketStatus;
  priority: 'any' | TicketPriority;
  assigned: 'any' | 'me' | 'none';
  q: string;
}

export const DEFAULT_FILTERS: QueueFilters = { status: 'active', priority: 'any', assigned: 'any', q: '' };

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
