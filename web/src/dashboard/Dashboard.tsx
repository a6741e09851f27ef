// Container of the agent dashboard: subscribes to the DashboardController and wires
// the presenters (LoginForm, TicketQueue, the chat tabs and ChatPanels).

import { Suspense, lazy, useCallback, useEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';
import { SHORTCUTS, shortcutFor, stepTicket } from './shortcuts';
import type { DashboardController } from './dashboardController';
import { CannedSettings } from './CannedSettings';
import { ChatPanel } from './ChatPanel';
import { LoginForm } from './LoginForm';
import { statusOf } from './presence';
import { AssignedNotices, StatusSwitch, Toasts } from './PresenceViews';
import { RatingNotices } from './TicketRating';
import { SettingsPage } from './SettingsPage';
import { TicketQueue } from './TicketQueue';
import type { QueueFilters } from './queue';

// The Reports page carries the charting library (a few hundred kB): it loads when
// first opened, so the queue and the chats never wait for it.
const ReportsPage = lazy(() => import('./ReportsPage').then((m) => ({ default: m.ReportsPage })));

export interface DashboardProps {
  controller: DashboardController;
}

const FEED_LABELS = {
  idle: 'Offline',
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  ended: 'Disconnected',
} as const;

export function Dashboard({ controller }: DashboardProps) {
  const state = useSyncExternalStore(controller.store.subscribe, controller.store.get);
  const tools = useSyncExternalStore(controller.tools.store.subscribe, controller.tools.store.get);
  const { agents } = useSyncExternalStore(controller.team.store.subscribe, controller.team.store.get);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [deskSettingsOpen, setDeskSettingsOpen] = useState(false);
  const [reportsOpen, setReportsOpen] = useState(false);

  useEffect(() => {
    void controller.start();
    return () => controller.dispose();
  }, [controller]);

  useEffect(() => {
    const refresh = (): void => controller.refreshAttention();
    window.addEventListener('focus', refresh);
    window.addEventListener('blur', refresh);
    document.addEventListener('visibilitychange', refresh);
    return () => {
      window.removeEventListener('focus', refresh);
      window.removeEventListener('blur', refresh);
      document.removeEventListener('visibilitychange', refresh);
    };
  }, [controller]);

  // Any input on the page keeps the agent online (the controller sends at most one
  // `activity` a minute). Capture: a handler that stops propagation still counts.
  useEffect(() => {
    const active = (): void => controller.recordActivity();
    document.addEventListener('keydown', active, true);
    document.addEventListener('pointerdown', active, true);
    document.addEventListener('focusin', active, true);
    window.addEventListener('focus', active);
    return () => {
      document.removeEventListener('keydown', active, true);
      document.removeEventListener('pointerdown', active, true);
      document.removeEventListener('focusin', active, true);
      window.removeEventListener('focus', active);
    };
  }, [controller]);

  const [helpOpen, setHelpOpen] = useState(false);
  const helpClose = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (helpOpen) helpClose.current?.focus();
  }, [helpOpen]);
  // Single-key shortcuts (j/k, r, a, e, ?), never while typing in a field.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent): void => {
      if (e.key === 'Escape' && helpOpen) {
        setHelpOpen(false);
        return;
      }
      const s = controller.state;
      if (s.auth !== 'signed_in') return;
      const action = shortcutFor(e);
      if (action === null) return;
      const active = s.activeChat;
      const ticket = active === null ? undefined : (controller.chat(active)?.state.ticket ?? s.tickets.find((t) => t.id === active));
      switch (action) {
        case 'help':
          setHelpOpen((v) => !v);
          break;
        case 'next':
        case 'previous': {
          const next = stepTicket(
            s.tickets.map((t) => t.id),
            active,
            action === 'next' ? 1 : -1,
          );
          if (next !== null) controller.openChat(next);
          break;
        }
        case 'reply':
          document.getElementById(`db-panel-${active ?? ''}`)?.querySelector<HTMLElement>('textarea')?.focus();
          break;
        case 'assign':
          if (active !== null && ticket && ticket.status !== 'closed' && ticket.supporter_id !== s.agent?.id) void controller.join(active);
          break;
        case 'resolve':
          // The server has the last word on the transition (an error shows as usual).
          if (active !== null && ticket && ticket.status !== 'resolved' && ticket.status !== 'closed') void controller.setStatus(active, 'resolved');
          break;
      }
      e.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [controller, helpOpen]);

  const onFilters = useCallback((patch: Partial<QueueFilters>) => controller.setFilters(patch), [controller]);
  const loadLabels = useCallback(() => void controller.tools.loadLabels(), [controller]);
  const loadCanned = useCallback(() => void controller.tools.loadCanned(), [controller]);

  const totalUnread = Object.values(state.unread).reduce((a, b) => a + b, 0);
  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Support dashboard` : 'Support dashboard';
  }, [totalUnread]);

  if (state.auth === 'checking') {
    return (
      <p className="db-loading" role="status">
        Loading…
      </p>
    );
  }
  if (state.auth === 'signed_out') {
    return <LoginForm busy={state.loggingIn} error={state.loginError} onSubmit={(e, p) => void controller.login(e, p)} />;
  }

  const tickets = state.openChats.map((id) => ({ id, controller: controller.chat(id) }));

  // Arrow keys move between chat tabs (the WAI-ARIA tabs pattern: one tab stop).
  const onTabKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const ids = state.openChats;
    const at = state.activeChat === null ? -1 : ids.indexOf(state.activeChat);
    const next = ids[(at + (e.key === 'ArrowRight' ? 1 : -1) + ids.length) % ids.length];
    if (next === undefined) return;
    e.preventDefault();
    controller.activate(next);
    document.getElementById(`db-tab-${next}`)?.focus();
  };

  return (
    <div className="db-app">
      <a className="db-skip" href="#db-chats">
        Skip to the open chat
      </a>
      <header className="db-topbar">
        <h1>Support dashboard</h1>
        <span className={`db-feed db-feed-${state.feed}`} role="status">
          {FEED_LABELS[state.feed]}
        </span>
        <div className="db-topbar-actions">
          {state.permission === 'default' && (
            <button type="button" onClick={() => void controller.enableAlerts()}>
              Enable notifications
            </button>
          )}
          {state.permission === 'denied' && <span className="db-muted">Notifications blocked</span>}
          <label>
            <input type="checkbox" checked={state.soundOn} onChange={(e) => controller.setSound(e.target.checked)} /> Sound
          </label>
          <button type="button" onClick={() => setHelpOpen(true)} aria-keyshortcuts="?">
            Shortcuts
          </button>
          <button type="button" aria-haspopup="dialog" onClick={() => setReportsOpen(true)}>
            Reports
          </button>
          {state.agent?.role === 'admin' && (
            <button type="button" aria-haspopup="dialog" onClick={() => setSettingsOpen(true)}>
              Canned responses
            </button>
          )}
          {state.agent?.role === 'admin' && (
            <button type="button" aria-haspopup="dialog" onClick={() => setDeskSettingsOpen(true)}>
              Settings
            </button>
          )}
          <span className="db-agent">{state.agent?.name}</span>
          <StatusSwitch status={state.agent ? statusOf(state.agent) : undefined} saving={state.savingStatus} onChange={(s) => void controller.setMyStatus(s)} />
          <button type="button" onClick={() => void controller.logout()}>
            Sign out
          </button>
        </div>
      </header>
      {state.actionError && (
        <div className="db-action-error" role="alert">
          {state.actionError}{' '}
          <button type="button" aria-label="Dismiss error" onClick={() => controller.dismissError()}>
            ×
          </button>
        </div>
      )}
      {helpOpen && (
        <div className="db-help" role="dialog" aria-modal="true" aria-labelledby="db-help-title">
          <h2 id="db-help-title">Keyboard shortcuts</h2>
          <dl>
            {SHORTCUTS.map((sc) => (
              <div key={sc.action}>
                <dt>
                  <kbd>{sc.keys}</kbd>
                </dt>
                <dd>{sc.label}</dd>
              </div>
            ))}
          </dl>
          <p className="db-muted">Shortcuts do nothing while you type in a field. Escape closes this list.</p>
          <button type="button" ref={helpClose} onClick={() => setHelpOpen(false)}>
            Close
          </button>
        </div>
      )}
      {settingsOpen && <CannedSettings tools={controller.tools} onClose={() => setSettingsOpen(false)} />}
      {deskSettingsOpen && (
        <SettingsPage
          settings={controller.settings}
          agents={agents}
          onSaveMaxChats={(agentId, n) => controller.setMaxChats(agentId, n)}
          outbox={controller.outbox}
          webhooks={controller.webhooks}
          onClose={() => setDeskSettingsOpen(false)}
        />
      )}
      {reportsOpen && (
        <Suspense
          fallback={
            <p className="db-settings" role="status">
              Loading the reports…
            </p>
          }
        >
          <ReportsPage reports={controller.reports} onClose={() => setReportsOpen(false)} />
        </Suspense>
      )}
      <Toasts>
        <AssignedNotices notices={state.assignedToMe} onShow={(id) => controller.showAssigned(id)} onDismiss={(id) => controller.dismissAssigned(id)} />
        <RatingNotices notices={state.ratingNotices} onShow={(id) => controller.showRating(id)} onDismiss={(id) => controller.dismissRating(id)} />
      </Toasts>
      <div className={`db-main${state.activeChat !== null ? ' db-has-chat' : ''}`}>
        <TicketQueue
          tickets={state.tickets}
          unread={state.unread}
          filters={state.filters}
          activeChat={state.activeChat}
          loading={state.loadingTickets}
          error={state.listError}
          hasMore={state.nextCursor !== null}
          agents={agents}
          onFilters={onFilters}
          labels={tools.labels}
          onLoadLabels={loadLabels}
          onOpen={(id) => controller.openChat(id)}
          onLoadMore={() => void controller.loadMoreTickets()}
        />
        <div className="db-chats" id="db-chats" tabIndex={-1}>
          {tickets.length === 0 ? (
            <p className="db-empty">Pick a ticket from the queue to open its chat.</p>
          ) : (
            <>
              <button type="button" className="db-back" aria-label="Back to the queue" onClick={() => controller.activate(null)}>
                ← Queue
              </button>
              <div className="db-tabs" role="tablist" aria-label="Open chats" onKeyDown={onTabKey}>
                {tickets.map(({ id, controller: c }) => {
                  const t = c?.state.ticket ?? state.tickets.find((x) => x.id === id);
                  const n = state.unread[id] ?? 0;
                  const selected = state.activeChat === id;
                  return (
                    <div key={id} className={`db-tab${selected ? ' db-tab-selected' : ''}`}>
                      <button
                        type="button"
                        role="tab"
                        id={`db-tab-${id}`}
                        aria-selected={selected}
                        aria-controls={`db-panel-${id}`}
                        tabIndex={selected ? 0 : -1}
                        onClick={() => controller.activate(id)}
                      >
                        {t?.subject ?? `Ticket #${id}`}
                        {n > 0 ? ` (${n} unread)` : ''}
                      </button>
                      <button type="button" className="db-tab-close" aria-label={`Close tab ${t?.subject ?? `Ticket #${id}`}`} onClick={() => controller.closeChat(id)}>
                        ×
                      </button>
                    </div>
                  );
                })}
              </div>
              {tickets.map(({ id, controller: c }) =>
                c ? (
                  <ChatPanel
                    key={id}
                    controller={c}
                    visitorContext={controller.visitorContext(id)}
                    onOpenTicket={(ticketId) => controller.openChat(ticketId)}
                    agent={state.agent}
                    hidden={state.activeChat !== id}
                    tabId={`db-tab-${id}`}
                    panelId={`db-panel-${id}`}
                    onAssign={() => void controller.join(id)}
                    agents={agents}
                    focusAt={state.focusRequest?.ticketId === id ? state.focusRequest.at : 0}
                    onLoadAgents={() => void controller.loadAgents()}
                    onTransfer={(agentId) => void controller.transfer(id, agentId)}
                    onStatus={(s) => void controller.setStatus(id, s)}
                    onPriority={(p) => void controller.setPriority(id, p)}
                    onNote={(text, key) => controller.writeNote(id, text, key)}
                    canned={tools.canned}
                    onNeedCanned={loadCanned}
                    onCannedUsed={(cannedId) => controller.tools.recordUse(cannedId)}
                    knownLabels={tools.labels}
                    onLabels={(labels) => void controller.setLabels(id, labels)}
                    onLoadLabels={loadLabels}
                    upload={controller.uploadTo(id)}
                    resolveUrl={(path) => controller.serviceUrl(path)}
                    onEmailTranscript={(email) => controller.emailTranscript(id, email)}
                  />
                ) : null,
              )}
            </>
          )}
        </div>
      </div>
    </div>
  );
}
