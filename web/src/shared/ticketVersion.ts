// Which of two copies of a ticket is newer. Ticket frames can arrive late (a publish the
// server retried after a broker outage) or twice, so a copy is taken only when it is not
// older than the one held. `updated_at` moves with every change and every message, and
// the server writes it as RFC 3339 with microseconds; Date.parse keeps only
// milliseconds, so the fraction is compared separately.

import type { Ticket } from './protocol';

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i;

/** Microseconds since the epoch, or null when the text is not an RFC 3339 time. */
export function timestampMicros(text: string): number | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return null;
  // Below 2^53 until the year 2255, so the sum stays an exact integer.
  return seconds * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** True when `incoming` is strictly older than `held`; copies that cannot be compared are not. */
export function isOlderTicket(incoming: Ticket, held: Ticket): boolean {
  const a = timestampMicros(incoming.updated_at);
  const b = timestampMicros(held.updated_at);
  return a !== null && b !== null && a < b;
}
