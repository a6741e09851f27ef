import type { TicketPriority, TicketStatus } from './protocol';

/**
 * A message's time of day, in `locale` (a BCP 47 tag; the chat app passes the
 * visitor's) or, without one, the browser's locale (the dashboard).
 */
export function formatTime(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const options: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
  try {
    return d.toLocaleTimeString(locale ?? [], options);
  } catch {
    return d.toLocaleTimeString([], options); // a tag Intl refuses: the browser's locale
  }
}

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export const STATUS_LABELS: Readonly<Record<TicketStatus, string>> = {
  open: 'Open',
  assigned: 'Assigned',
  in_progress: 'In progress',
  resolved: 'Resolved',
  closed: 'Closed',
};

export const PRIORITY_LABELS: Readonly<Record<TicketPriority, string>> = {
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  urgent: 'Urgent',
};
