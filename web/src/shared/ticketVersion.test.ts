import { describe, expect, it } from 'vitest';
import { isOlderTicket, timestampMicros } from './ticketVersion';
import { ticket } from '../test/fakes';

describe('ticket versions', () => {
  it('compares updated_at to the microsecond', () => {
    const a = ticket({ updated_at: '2025-12-26T10:00:00.123456Z' });
    const b = ticket({ updated_at: '2025-12-26T10:00:00.123457Z' });
    expect(isOlderTicket(a, b)).toBe(true);
    expect(isOlderTicket(b, a)).toBe(false);
    expect(isOlderTicket(a, a)).toBe(false);
    expect(isOlderTicket(ticket({ updated_at: '2025-12-26T10:00:00Z' }), ticket({ updated_at: '2025-12-26T10:00:00.5Z' }))).toBe(true);
    expect(isOlderTicket(ticket({ updated_at: '2025-12-26T11:00:00+02:00' }), ticket({ updated_at: '2025-12-26T10:00:00Z' }))).toBe(true);
  });

  it('never calls a copy it cannot read older', () => {
    expect(timestampMicros('yesterday')).toBeNull();
    expect(isOlderTicket(ticket({ updated_at: 'yesterday' }), ticket())).toBe(false);
    expect(isOlderTicket(ticket(), ticket({ updated_at: '' }))).toBe(false);
  });
});
