// Presenter: filters and the list of tickets with status, priority and unread badges,
// the newest line's preview and how long the visitor has waited (ticking).

import { useEffect, useState } from 'react';
import { formatDateTime, PRIORITY_LABELS, STATUS_LABELS } from '../shared/format';
import { TICKET_PRIORITIES, TICKET_STATUSES, type Agent, type LabelCount, type Ticket } from '../shared/protocol';
import { statusOf } from './presence';
import { StatusDot } from './PresenceViews';
import { waitingLabel, type QueueFilters } from './queue';
import { RatingBadge } from './TicketRating';

export interface TicketQueueProps {
  tickets: readonly Ticket[];
  unread: Readonly<Record<number, number>>;
  filters: QueueFilters;
  activeChat: number | null;
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  onFilters: (patch: Partial<QueueFilters>) => void;
  /** Labels in use, for the label filter; read again when the filter gets focus. */
  labels?: readonly LabelCount[];
  onLoadLabels?: () => void;
  onOpen: (ticketId: number) => void;
  /** The team, for the status dot next to each ticket's agent. */
  agents?: readonly Agent[];
  onLoadMore: () => void;
}

const SEARCH_DEBOUNCE_MS = 300;
/** How often the waiting times are redrawn; they show whole minutes. */
const WAITING_TICK_MS = 15_000;

/** The current time, renewed every `everyMs` while mounted. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [everyMs]);
  return now;
}

export function TicketQueue(props: TicketQueueProps) {
  const { tickets, unread, filters, onFilters } = props;
  const now = useNow(WAITING_TICK_MS);
  const [q, setQ] = useState(filters.q);
  useEffect(() => {
    if (q === filters.q) return;
    const t = window.setTimeout(() => onFilters({ q }), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(t);
  }, [q, filters.q, onFilters]);

  return (
    <section className="db-queue" aria-label="Ticket queue">
      <div className="db-filters">
        <input type="search" aria-label="Search tickets" placeholder="Search tickets" value={q} onChange={(e) => setQ(e.target.value)} />
        <select aria-label="Status filter" value={filters.status} onChange={(e) => onFilters({ status: e.target.value as QueueFilters['status'] })}>
          <option value="active">Active</option>
          {TICKET_STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABELS[s]}
            </option>
          ))}
          <option value="all">All statuses</option>
        </select>
        <select aria-label="Priority filter" value={filters.priority} onChange={(e) => onFilters({ priority: e.target.value as QueueFilters['priority'] })}>
          <option value="any">Any priority</option>
          {TICKET_PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {PRIORITY_LABELS[p]}
            </option>
          ))}
        </select>
        <select aria-label="Assignee filter" value={filters.assigned} onChange={(e) => onFilters({ assigned: e.target.value as QueueFilters['assigned'] })}>
          <option value="any">Anyone</option>
          <option value="me">Assigned to me</option>
          <option value="none">Unassigned</option>
        </select>
        <select
          aria-label="Label filter"
          value={filters.label}
          onFocus={props.onLoadLabels}
          onPointerDown={props.onLoadLabels}
          onChange={(e) => onFilters({ label: e.target.value })}
        >
          <option value="">Any label</option>
          {/* The chosen label stays listed even when no ticket carries it any more. */}
          {filters.label !== '' && !(props.labels ?? []).some((l) => l.name === filters.label) && <option value={filters.label}>{filters.label}</option>}
          {(props.labels ?? []).map((l) => (
            <option key={l.name} value={l.name}>
              {`${l.name} (${l.count})`}
            </option>
          ))}
        </select>
      </div>
      {props.error && (
        <p className="db-error" role="alert">
          {props.error}
        </p>
      )}
      <p className="db-count" role="status">
        {props.loading ? 'Loading tickets…' : `${tickets.length} ticket${tickets.length === 1 ? '' : 's'}`}
      </p>
      <ul className="db-tickets">
        {tickets.map((t) => {
          const n = unread[t.id] ?? 0;
          const waiting = waitingLabel(t, now);
          const holder = t.supporter_id === null ? undefined : props.agents?.find((a) => a.id === t.supporter_id);
          return (
            <li key={t.id}>
              <button
                type="button"
                className={`db-ticket${props.activeChat === t.id ? ' db-ticket-active' : ''}`}
                aria-current={props.activeChat === t.id ? 'true' : undefined}
                onClick={() => props.onOpen(t.id)}
              >
                <span className="db-ticket-subject">{t.subject}</span>
                <span className="db-ticket-who">
                  {t.user_name}
                  {t.user_email ? ` · ${t.user_email}` : ''}
                </span>
                {t.labels.length > 0 && (
                  <span className="db-ticket-labels" aria-label={`Labels: ${t.labels.join(', ')}`}>
                    {t.labels.map((l) => (
                      <span key={l} className="db-label">
                        {l}
                      </span>
                    ))}
                  </span>
                )}
                {t.last_message_preview ? (
                  <span className="db-ticket-preview" dir="auto">
                    {t.last_message_preview}
                  </span>
                ) : t.last_message_preview === '' ? (
                  // The newest line was a file sent without a caption (issue 17).
                  <span className="db-ticket-preview">📎 file</span>
                ) : null}
                <span className="db-badges">
                  <span className={`db-badge db-status-${t.status}`}>{STATUS_LABELS[t.status]}</span>{' '}
                  <span className={`db-badge db-priority-${t.priority}`}>{PRIORITY_LABELS[t.priority]}</span>{' '}
                  <RatingBadge ticket={t} />{' '}
                  {n > 0 && <span className="db-badge db-unread">{n} unread</span>}{' '}
                  {waiting !== null && (
                    <span className="db-badge db-waiting" title={`Waiting for a reply since ${formatDateTime(t.waiting_since ?? '')}`}>
                      Waiting {waiting}
                    </span>
                  )}{' '}
                  <span className="db-ticket-time">{formatDateTime(t.created_at)}</span>
                  {t.supporter_name ? (
                    <span className="db-ticket-agent">
                      {' · '}
                      {t.supporter_name}
                      {holder && (
                        <>
                          {' '}
                          <StatusDot status={statusOf(holder)} />
                        </>
                      )}
                    </span>
                  ) : null}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {props.hasMore && (
        <button type="button" className="db-more" onClick={props.onLoadMore}>
          Load more tickets
        </button>
      )}
    </section>
  );
}
