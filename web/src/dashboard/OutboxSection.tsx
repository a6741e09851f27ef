// The settings page's "Email outbox" section (issue 18, admins): every email the desk
// sends waits in the outbox until an SMTP server takes it. A table of the newest
// (kind, recipient, subject, status with attempts, next try and last error, created,
// sent), filtered by status, with Refresh and "Load more"; without SMTP_URL on the
// node, a warning says why everything stays pending. The state lives in outbox.ts.

import { useEffect, useId, useSyncExternalStore } from 'react';
import { formatDateTime } from '../shared/format';
import type { OutboxEmail } from '../shared/protocol';
import { OUTBOX_FILTERS, type Outbox, type OutboxFilter } from './outbox';

const FILTER_LABELS: Readonly<Record<OutboxFilter, string>> = { all: 'All', pending: 'Pending', sent: 'Sent', failed: 'Failed' };
const KIND_LABELS: Readonly<Record<OutboxEmail['kind'], string>> = { follow_up: 'Follow-up', transcript: 'Transcript' };
const STATUS_LABELS: Readonly<Record<OutboxEmail['status'], string>> = { pending: 'Pending', sent: 'Sent', failed: 'Failed' };

export const NO_SMTP_WARNING = 'No SMTP server is configured (SMTP_URL): emails wait here until one is.';

/** "2 attempts · next try Dec 7, 10:05 · connection refused", for pending and failed emails. */
export function deliveryDetails(email: OutboxEmail): string {
  if (email.status === 'sent') return '';
  const parts: string[] = [];
  if (email.attempts > 0) parts.push(`${email.attempts} ${email.attempts === 1 ? 'attempt' : 'attempts'}`);
  if (email.status === 'pending' && email.next_attempt_at) parts.push(`next try ${formatDateTime(email.next_attempt_at)}`);
  if (email.last_error) parts.push(email.last_error);
  return parts.join(' · ');
}

export function OutboxSection({ id, outbox }: { id: string; outbox: Outbox }) {
  const state = useSyncExternalStore(outbox.store.subscribe, outbox.store.get);
  const filterId = useId();
  useEffect(() => {
    void outbox.load();
  }, [outbox]);

  return (
    <section id={id} aria-labelledby={`${id}-title`} className="db-settings-section db-outbox">
      <h3 id={`${id}-title`}>Email outbox</h3>
      {state.smtpConfigured === false && (
        <p className="db-outbox-warning" role="note">
          <strong>Warning:</strong> {NO_SMTP_WARNING}
        </p>
      )}
      <div className="db-outbox-tools">
        <label htmlFor={filterId}>Show</label>
        <select id={filterId} value={state.filter} onChange={(e) => void outbox.load(e.target.value as OutboxFilter)}>
          {OUTBOX_FILTERS.map((f) => (
            <option key={f} value={f}>
              {FILTER_LABELS[f]}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => void outbox.load()} disabled={state.loading}>
          Refresh
        </button>
        <span className="db-muted" role="status">
          {state.loading ? 'Loading…' : state.error ? '' : `${state.emails.length} ${state.emails.length === 1 ? 'email' : 'emails'}${state.nextBefore !== null ? ' shown' : ''}`}
        </span>
      </div>
      {state.error && (
        <p className="db-field-error" role="alert">
          {state.error}
        </p>
      )}
      {state.emails.length === 0 ? (
        !state.loading && !state.error && <p className="db-muted">No emails{state.filter === 'all' ? '' : ` with the status ${FILTER_LABELS[state.filter].toLowerCase()}`}.</p>
      ) : (
        <div className="db-outbox-scroll">
          <table className="db-outbox-table" aria-labelledby={`${id}-title`}>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Sent</th>
              </tr>
            </thead>
            <tbody>
              {state.emails.map((email) => {
                const details = deliveryDetails(email);
                return (
                  <tr key={email.id}>
                    <td>{KIND_LABELS[email.kind] ?? email.kind}</td>
                    <td className="db-outbox-to">{email.to}</td>
                    <td dir="auto">{email.subject}</td>
                    <td>
                      <span className={`db-badge db-outbox-${email.status}`}>{STATUS_LABELS[email.status] ?? email.status}</span>
                      {details && <span className="db-outbox-details">{details}</span>}
                    </td>
                    <td>{formatDateTime(email.created_at)}</td>
                    <td>{email.sent_at ? formatDateTime(email.sent_at) : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {state.nextBefore !== null && (
        <button type="button" onClick={() => void outbox.loadMore()} disabled={state.loading}>
          Load more
        </button>
      )}
    </section>
  );
}
