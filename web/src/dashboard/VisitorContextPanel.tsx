// Beside an open chat: who the visitor is and where they are (issue 15, point 4). A
// presenter of VisitorContextController's state: the current page (live), the last 20
// pages with their times, browser, OS, locale, the visitor's local time (ticking) and
// their previous conversations, each opened as a chat tab. On a phone it folds under a
// "Visitor" toggle so that it never widens the screen.

import { useEffect, useState } from 'react';
import { formatDateTime, formatTime, STATUS_LABELS } from '../shared/format';
import type { VisitedPage } from '../shared/protocol';
import { visitorLocalTime, type VisitorContextState } from './visitorContext';

/** How often the visitor's local time is redrawn. */
const CLOCK_TICK_MS = 5_000;

export interface VisitorContextPanelProps {
  state: VisitorContextState;
  /** Opens a previous conversation as a chat tab. */
  onOpenTicket: (ticketId: number) => void;
  /** Unique per chat, for the toggle's aria-controls. */
  idPrefix: string;
}

function useNow(tickMs: number): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(new Date()), tickMs);
    return () => window.clearInterval(timer);
  }, [tickMs]);
  return now;
}

function PageLink({ page }: { page: VisitedPage }) {
  return (
    <a href={page.url} target="_blank" rel="noopener noreferrer" className="db-visitor-page" title={page.url}>
      <span className="db-visitor-page-title">{page.title || page.url}</span>
      <span className="db-visitor-page-url">{page.url}</span>
    </a>
  );
}

export function VisitorContextPanel({ state, onOpenTicket, idPrefix }: VisitorContextPanelProps) {
  const [open, setOpen] = useState(false);
  const now = useNow(CLOCK_TICK_MS);
  const ctx = state.context;
  const current = ctx?.pages[0] ?? null;
  const localTime = visitorLocalTime(ctx?.timezone ?? null, now);
  const bodyId = `${idPrefix}-visitor`;
  return (
    <aside className={`db-visitor${open ? ' db-visitor-open' : ''}`} aria-label="Visitor context">
      <button type="button" className="db-visitor-toggle" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
        Visitor{current ? `: ${current.title || current.url}` : ''}
      </button>
      <div className="db-visitor-body" id={bodyId}>
        {state.error && (
          <p className="db-error" role="alert">
            {state.error}
          </p>
        )}
        <section aria-labelledby={`${bodyId}-current`}>
          <h3 id={`${bodyId}-current`}>Current page</h3>
          {current ? <PageLink page={current} /> : <p className="db-muted">{state.loading ? 'Loading…' : 'Not reported yet.'}</p>}
        </section>
        <dl className="db-visitor-facts">
          <div>
            <dt>Browser</dt>
            <dd>{ctx?.browser ?? 'Unknown'}</dd>
          </div>
          <div>
            <dt>OS</dt>
            <dd>{ctx?.os ?? 'Unknown'}</dd>
          </div>
          <div>
            <dt>Locale</dt>
            <dd>{ctx?.locale ?? 'Unknown'}</dd>
          </div>
          <div>
            <dt>Local time</dt>
            <dd>{localTime ? `${localTime} (${ctx?.timezone})` : 'Unknown'}</dd>
          </div>
        </dl>
        <section aria-labelledby={`${bodyId}-pages`}>
          <h3 id={`${bodyId}-pages`}>Recent pages</h3>
          {ctx && ctx.pages.length > 0 ? (
            <ol className="db-visitor-pages" aria-label="Recent pages">
              {ctx.pages.map((p) => (
                <li key={`${p.at} ${p.url}`}>
                  <time dateTime={p.at}>{formatTime(p.at)}</time> <PageLink page={p} />
                </li>
              ))}
            </ol>
          ) : (
            <p className="db-muted">None yet.</p>
          )}
        </section>
        <section aria-labelledby={`${bodyId}-previous`}>
          <h3 id={`${bodyId}-previous`}>Previous conversations</h3>
          {ctx && ctx.previous_tickets.length > 0 ? (
            <ul className="db-visitor-previous" aria-label="Previous conversations">
              {ctx.previous_tickets.map((t) => (
                <li key={t.id}>
                  <button type="button" onClick={() => onOpenTicket(t.id)}>
                    {t.subject}
                  </button>{' '}
                  <span className="db-muted">
                    {STATUS_LABELS[t.status]} · {formatDateTime(t.created_at)}
                  </span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="db-muted">None.</p>
          )}
        </section>
      </div>
    </aside>
  );
}
