// One open chat in the dashboard. ChatPanel is the small container (it subscribes to
// the chat's ConversationController and keeps the reply draft); TicketChatView draws.
// Panels of inactive chats stay mounted but hidden, so switching loses no draft,
// scroll position or history.

import { useState, useSyncExternalStore } from 'react';
import type { ConversationController, ConversationState } from '../shared/conversation';
import { Composer } from '../shared/components/Composer';
import { ConnectionBanner } from '../shared/components/ConnectionBanner';
import { MessageList } from '../shared/components/MessageList';
import { PRIORITY_LABELS, STATUS_LABELS } from '../shared/format';
import { STATUS_TRANSITIONS, TICKET_PRIORITIES, type Agent, type TicketPriority, type TicketStatus } from '../shared/protocol';

export interface ChatPanelProps {
  controller: ConversationController;
  agent: Agent | null;
  hidden: boolean;
  tabId: string;
  panelId: string;
  onAssign: () => void;
  onStatus: (status: TicketStatus) => void;
  onPriority: (priority: TicketPriority) => void;
}

export function ChatPanel({ controller, ...rest }: ChatPanelProps) {
  const state = useSyncExternalStore(controller.store.subscribe, controller.store.get);
  const [draft, setDraft] = useState('');
  const [draftError, setDraftError] = useState<string | undefined>();
  return (
    <TicketChatView
      {...rest}
      state={state}
      draft={draft}
      draftError={draftError}
      onDraftChange={(v) => {
        setDraft(v);
        setDraftError(undefined);
        controller.draftChanged(v);
      }}
      onSend={() => {
        const error = controller.send(draft);
        setDraftError(error);
        if (!error) setDraft('');
      }}
      onRetry={(id) => controller.retry(id)}
      onDiscard={(id) => controller.discard(id)}
      onLoadOlder={() => void controller.loadOlder()}
      onReconnectNow={() => controller.reconnectNow()}
      onDismissNotice={() => controller.dismissNotice()}
    />
  );
}

export interface TicketChatViewProps extends Omit<ChatPanelProps, 'controller'> {
  state: ConversationState;
  draft: string;
  draftError?: string;
  onDraftChange: (v: string) => void;
  onSend: () => void;
  onRetry: (id: string) => void;
  onDiscard: (id: string) => void;
  onLoadOlder: () => void;
  onReconnectNow: () => void;
  onDismissNotice: () => void;
}

export function TicketChatView(props: TicketChatViewProps) {
  const { state, agent } = props;
  const t = state.ticket;
  const closed = t?.status === 'closed';
  const mine = t !== null && agent !== null && t.supporter_id === agent.id;
  const nextStatuses = t ? STATUS_TRANSITIONS[t.status] : [];
  return (
    <section className="db-chat" role="tabpanel" id={props.panelId} aria-labelledby={props.tabId} hidden={props.hidden}>
      {t && (
        <header className="db-chat-header">
          <div className="db-chat-title">
            <h2>{t.subject}</h2>
            <p>
              {t.user_name}
              {t.user_email ? ` · ${t.user_email}` : ''} · ticket #{t.id}
              {t.supporter_name ? ` · assigned to ${t.supporter_name}` : ' · unassigned'}
              {state.peerOnline === true ? ' · visitor online' : state.peerOnline === false ? ' · visitor offline' : ''}
            </p>
          </div>
          <div className="db-chat-actions">
            <button type="button" onClick={props.onAssign} disabled={mine || closed}>
              {mine ? 'Assigned to you' : 'Assign to me'}
            </button>
            <label>
              Status{' '}
              <select value={t.status} disabled={closed} onChange={(e) => props.onStatus(e.target.value as TicketStatus)}>
                <option value={t.status}>{STATUS_LABELS[t.status]}</option>
                {nextStatuses.map((s) => (
                  <option key={s} value={s}>
                    {STATUS_LABELS[s]}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Priority{' '}
              <select value={t.priority} disabled={closed} onChange={(e) => props.onPriority(e.target.value as TicketPriority)}>
                {TICKET_PRIORITIES.map((p) => (
                  <option key={p} value={p}>
                    {PRIORITY_LABELS[p]}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={() => props.onStatus('closed')} disabled={closed}>
              Close ticket
            </button>
          </div>
        </header>
      )}
      <ConnectionBanner connection={closed ? 'online' : state.connection} retryInMs={state.retryInMs} onReconnectNow={props.onReconnectNow} />
      <MessageList
        messages={state.messages}
        outbox={state.outbox}
        self="supporter"
        hasMoreBefore={state.hasMoreBefore}
        loadingOlder={state.loadingOlder}
        onLoadOlder={props.onLoadOlder}
        onRetry={props.onRetry}
        onDiscard={props.onDiscard}
        label={t ? `Messages of ${t.subject}` : 'Messages'}
      />
      <div className="ls-typing" role="status" aria-live="polite">
        {state.peerTyping ? `${state.peerTyping} is typing…` : ''}
      </div>
      {state.notice && (
        <div className="ls-notice" role="alert">
          {state.notice}{' '}
          <button type="button" onClick={props.onDismissNotice} aria-label="Dismiss notice">
            ×
          </button>
        </div>
      )}
      {closed ? (
        <p className="db-closed">This ticket is closed.</p>
      ) : (
        <Composer label="Reply" value={props.draft} onChange={props.onDraftChange} onSubmit={props.onSend} error={props.draftError} placeholder="Write a reply…" />
      )}
    </section>
  );
}
