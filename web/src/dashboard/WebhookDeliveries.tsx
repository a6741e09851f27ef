// A webhook's delivery log in the settings page (issue 19, admins): the newest
// deliveries with their status, event, ticket, attempts, the receiver's last answer
// and the next try, with Refresh and "Load more". The state lives in webhooks.ts.

import { useEffect, useSyncExternalStore } from 'react';
import { formatDateTime } from '../shared/format';
import type { DeliveryStatus, WebhookDelivery } from '../shared/webhookTypes';
import type { DeliveryLog } from './webhooks';

const STATUS_LABELS: Readonly<Record<DeliveryStatus, string>> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };
/** The outbox's badge colours say the same: waiting, done, given up. */
const STATUS_CLASSES: Readonly<Record<DeliveryStatus, string>> = { pending: 'db-outbox-pending', delivered: 'db-outbox-sent', failed: 'db-outbox-failed' };

/** The receiver's last answer: its status code, then the error when it says more than "HTTP 500"; "–" before any. */
export function lastAnswer(d: WebhookDelivery): string {
  const parts: string[] = [];
  if (d.last_status_code !== null) parts.push(String(d.last_status_code));
  if (d.last_error && d.last_error !== `HTTP ${d.last_status_code}`) parts.push(d.last_error);
  return parts.length > 0 ? parts.join(' · ') : '–';
}

export function WebhookDeliveries({ id, log, url }: { id: string; log: DeliveryLog; url: string }) {
  const state = useSyncExternalStore(log.store.subscribe, log.store.get);
  useEffect(() => {
    void log.load();
  }, [log]);
  const label = `Deliveries to ${url}`;

  return (
    <div id={id} className="db-webhook-deliveries">
      <div className="db-outbox-tools">
        <button type="button" onClick={() => void log.load()} disabled={state.loading} aria-label={`Refresh the deliveries to ${url}`}>
          Refresh
        </button>
        <span className="db-muted" role="status">
          {state.loading ? 'Loading…' : state.error ? '' : `${state.deliveries.length} ${state.deliveries.length === 1 ? 'delivery' : 'deliveries'}${state.nextBefore !== null ? ' shown' : ''}`}
        </span>
      </div>
      {state.error && (
        <p className="db-field-error" role="alert">
          {state.error}
        </p>
      )}
      {state.deliveries.length === 0 ? (
        !state.loading && !state.error && <p className="db-muted">No deliveries yet.</p>
      ) : (
        <div className="db-outbox-scroll">
          <table className="db-outbox-table" aria-label={label}>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Event</th>
                <th scope="col">Ticket</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Next try</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {state.deliveries.map((d) => (
                <tr key={d.id}>
                  <td>
                    <span className={`db-badge ${STATUS_CLASSES[d.status] ?? ''}`}>{STATUS_LABELS[d.status] ?? d.status}</span>
                  </td>
                  <td>
                    {d.type}
                    <span className="db-outbox-details">{d.event_id}</span>
                  </td>
                  <td>{d.ticket_id === null ? '–' : `#${d.ticket_id}`}</td>
                  <td>{d.attempts}</td>
                  <td className="db-outbox-to">{lastAnswer(d)}</td>
                  <td>{d.status === 'pending' && d.next_attempt_at ? formatDateTime(d.next_attempt_at) : '–'}</td>
                  <td>{formatDateTime(d.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {state.nextBefore !== null && (
        <button type="button" onClick={() => void log.loadMore()} disabled={state.loading}>
          Load more
        </button>
      )}
    </div>
  );
}
