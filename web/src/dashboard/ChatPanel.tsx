// One open chat in the dashboard. ChatPanel is the small container (it subscribes to
// the chat's ConversationController and keeps the reply draft); TicketChatView draws.
// Panels of inactive chats stay mounted but hidden, so switching loses no draft,
// scroll position or history.

import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { ConversationController, ConversationState } from '../shared/conversation';
import { Composer } from '../shared/components/Composer';
import { ConnectionBanner } from '../shared/components/ConnectionBanner';
import { MessageList } from '../shared/components/MessageList';
import { PRIORITY_LABELS, STATUS_LABELS } from '../shared/format';
import { ApiError } from '../shared/api';
import { newClientMsgId } from '../shared/ids';
import { STATUS_TRANSITIONS, TICKET_PRIORITIES, type Agent, type CannedResponse, type LabelCount, type TicketPriority, type TicketStatus } from '../shared/protocol';
import { CannedComposer } from './CannedComposer';
import { LabelEditor } from './LabelEditor';
import { statusOf } from './presence';
import { StatusDot } from './PresenceViews';
import { TransferPicker } from './TransferPicker';
import { VisitorContextPanel } from './VisitorContextPanel';
import { AttachButton, AttachmentTray, type AttachmentProps } from '../shared/components/AttachmentControls';
import { composerAttachment, useAttachmentDraft } from '../shared/attachments/useAttachmentDraft';
import { useFileDrop } from '../shared/attachments/useFileDrop';
import type { UploadFn } from '../shared/attachments/upload';
import { validateMessageText } from '../shared/validation';
import type { VisitorContextController, VisitorContextState } from './visitorContext';
import { RatingSummary } from './TicketRating';
import { TranscriptDialog } from './TranscriptDialog';

export interface ChatPanelProps {
  controller: ConversationController;
  agent: Agent | null;
  hidden: boolean;
  tabId: string;
  panelId: string;
  /** Join (an open ticket: the visitor is told) or take over (someone else's). */
  onAssign: () => void;
  onStatus: (status: TicketStatus) => void;
  onPriority: (priority: TicketPriority) => void;
  /** The team with statuses and loads: the holder's status, and whom to transfer to. */
  agents?: readonly Agent[];
  /** Read the team again (when the transfer list opens). */
  onLoadAgents?: () => void;
  /** Hands the ticket to a teammate (API.md transfer). */
  onTransfer?: (agentId: number) => void;
  /** Changes when the agent opens this ticket: its reply box (or Join) takes focus. */
  focusAt?: number;
  /** Stores a private note (API.md "Private notes"); rejects with the server's error. */
  onNote?: (text: string, clientMsgId: string) => Promise<void>;
  /** Canned responses for the reply box's `/` list; null while not loaded. */
  canned?: readonly CannedResponse[] | null;
  onNeedCanned?: () => void;
  onCannedUsed?: (id: number) => void;
  /** Labels in use (autocomplete) and the change of this ticket's labels. */
  knownLabels?: readonly LabelCount[];
  onLabels?: (labels: string[]) => void;
  onLoadLabels?: () => void;
  /** The visitor's pages, browser and previous conversations, beside the chat. */
  visitorContext?: VisitorContextController;
  /** Opens a previous conversation of the visitor as a chat tab. */
  onOpenTicket?: (ticketId: number) => void;
  /** Uploads a file to this ticket as the agent (issue 17); no attach button without it. */
  upload?: UploadFn;
  /** The service's origin before an attachment's path. */
  resolveUrl?: (path: string) => string;
  /** Emails the conversation's public history (issue 18); no button without it. */
  onEmailTranscript?: (email: string) => Promise<unknown>;
}

const NO_CONTEXT: VisitorContextState = { context: null, loading: false, error: null };
const noopSubscribe = () => () => undefined;

export function ChatPanel({ controller, visitorContext, upload, ...rest }: ChatPanelProps) {
  const state = useSyncExternalStore(controller.store.subscribe, controller.store.get);
  const visitor = useSyncExternalStore(visitorContext?.store.subscribe ?? noopSubscribe, visitorContext?.store.get ?? (() => NO_CONTEXT));
  const [draft, setDraft] = useState('');
  const [draftError, setDraftError] = useState<string | undefined>();
  const [mode, setMode] = useState<ComposeMode>('reply');
  const [note, setNote] = useState<NoteDraft>(() => ({ ...EMPTY_NOTE, key: newClientMsgId() }));
  const { onNote } = rest;
  const [attachment, attachmentDraft] = useAttachmentDraft({ upload: upload ?? null, onSent: (m) => controller.acceptStored(m) });
  const sendNote = (): void => {
    const text = note.text.trim();
    if (!onNote || note.sending) return;
    if (!text) {
      setNote({ ...note, error: 'Write the note first.' });
      return;
    }
    // The key stays until the note is stored, so a retry after a failure stores it once.
    setNote({ ...note, sending: true, error: undefined });
    onNote(note.text, note.key).then(
      () => setNote({ ...EMPTY_NOTE, key: newClientMsgId() }),
      (err: unknown) => setNote((n) => ({ ...n, sending: false, error: err instanceof ApiError ? err.message : 'The note could not be saved. Try again.' })),
    );
  };
  return (
    <TicketChatView
      {...rest}
      state={state}
      mode={mode}
      onMode={setMode}
      note={note}
      onNoteChange={(text) => setNote((n) => ({ ...n, text, error: undefined }))}
      onSendNote={sendNote}
      visitor={visitorContext ? visitor : undefined}
      draft={draft}
      draftError={draftError}
      onDraftChange={(v) => {
        setDraft(v);
        setDraftError(undefined);
        controller.draftChanged(v);
      }}
      onSend={() => {
        if (attachment.phase === 'ready') {
          // The reply is the file's caption: it may be empty.
          const error = validateMessageText(draft, true);
          setDraftError(error);
          if (!error && attachmentDraft.send(draft)) {
            setDraft('');
            controller.draftChanged('');
          }
          return;
        }
        const error = controller.send(draft);
        setDraftError(error);
        if (!error) setDraft('');
      }}
      attachment={upload ? composerAttachment(attachment, attachmentDraft, (caption) => setDraft((d) => d || caption)) : undefined}
      onRetry={(id) => controller.retry(id)}
      onDiscard={(id) => controller.discard(id)}
      onLoadOlder={() => void controller.loadOlder()}
      onReconnectNow={() => controller.reconnectNow()}
      onDismissNotice={() => controller.dismissNotice()}
    />
  );
}

/** What the composer writes: a reply the visitor sees, or a private note. */
export type ComposeMode = 'reply' | 'note';

export interface NoteDraft {
  text: string;
  /** The note's client_msg_id, kept until it is stored. */
  key: string;
  sending: boolean;
  error?: string;
}

const EMPTY_NOTE: NoteDraft = { text: '', key: '', sending: false };

export interface TicketChatViewProps extends Omit<ChatPanelProps, 'controller' | 'visitorContext' | 'upload'> {
  /** The file waiting in the reply box (issue 17); no attach button without it. */
  attachment?: AttachmentProps;
  state: ConversationState;
  /** The visitor context panel's state; no panel without it. */
  visitor?: VisitorContextState;
  mode?: ComposeMode;
  onMode?: (mode: ComposeMode) => void;
  note?: NoteDraft;
  onNoteChange?: (text: string) => void;
  onSendNote?: () => void;
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

/** What the agent can do to take part: join an open chat, take over a teammate's, or nothing. */
export function joinAction(status: TicketStatus, supporterId: number | null, agentId: number | null): 'join' | 'take_over' | null {
  if (status === 'closed' || agentId === null || supporterId === agentId) return null;
  return status === 'open' || supporterId === null ? 'join' : 'take_over';
}

export function TicketChatView(props: TicketChatViewProps) {
  const { state, agent } = props;
  const t = state.ticket;
  const closed = t?.status === 'closed';
  const mine = t !== null && agent !== null && t.supporter_id === agent.id;
  const nextStatuses = t ? STATUS_TRANSITIONS[t.status].filter((s) => s !== 'closed') : [];
  const action = t ? joinAction(t.status, t.supporter_id, agent?.id ?? null) : null;
  const [confirmingClose, setConfirmingClose] = useState(false);
  const closeButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirmingClose) confirmButton.current?.focus();
  }, [confirmingClose]);
  const cancelClose = (): void => {
    setConfirmingClose(false);
    closeButton.current?.focus();
  };
  const holder = t?.supporter_id == null ? undefined : props.agents?.find((a) => a.id === t.supporter_id);
  const panelRef = useRef<HTMLElement>(null);
  const replying = !closed && props.mode !== 'note' && action === null;
  const attachment = replying ? props.attachment : undefined;
  const drop = useFileDrop((file) => attachment?.onFile(file), attachment !== undefined);
  const focusAt = props.focusAt ?? 0;
  const ticketLoaded = t !== null;
  useEffect(() => {
    if (focusAt === 0 || props.hidden || !ticketLoaded) return;
    const panel = panelRef.current;
    const target = panel?.querySelector<HTMLElement>('textarea') ?? panel?.querySelector<HTMLElement>('.db-primary');
    target?.focus();
  }, [focusAt, props.hidden, ticketLoaded, action]);
  return (
    <section ref={panelRef} className="db-chat" role="tabpanel" id={props.panelId} aria-labelledby={props.tabId} hidden={props.hidden}>
      {t && (
        <header className="db-chat-header">
          <div className="db-chat-title">
            <h2>{t.subject}</h2>
            <p>
              {t.user_name}
              {t.user_email ? ` · ${t.user_email}` : ''} · ticket #{t.id}
              {t.supporter_name ? (
                <>
                  {` · assigned to ${t.supporter_name}`}
                  {holder && (
                    <>
                      {' '}
                      <StatusDot status={statusOf(holder)} />
                    </>
                  )}
                </>
              ) : (
                ' · unassigned'
              )}
              {state.peerOnline === true ? ' · visitor online' : state.peerOnline === false ? ' · visitor offline' : ''}
            </p>
            <RatingSummary ticket={t} />
          </div>
          <div className="db-chat-actions">
            {action !== null && (
              <button type="button" className="db-primary" onClick={props.onAssign}>
                {action === 'join' ? 'Join' : 'Assign to me'}
              </button>
            )}
            {mine && <span className="db-muted">Assigned to you</span>}
            {!closed && props.onTransfer && (
              <TransferPicker agents={props.agents ?? []} holderId={t.supporter_id} onTransfer={props.onTransfer} onOpen={props.onLoadAgents} />
            )}
            {props.onEmailTranscript && <TranscriptDialog defaultEmail={t.user_email} onSend={props.onEmailTranscript} />}
            {t.status === 'resolved' && (
              <button type="button" onClick={() => props.onStatus('in_progress')}>
                Reopen
              </button>
            )}
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
            <button type="button" ref={closeButton} onClick={() => setConfirmingClose(true)} disabled={closed || confirmingClose}>
              Close ticket
            </button>
          </div>
          {props.onLabels && (
            <LabelEditor labels={t.labels} known={props.knownLabels ?? []} onChange={props.onLabels} onFocus={props.onLoadLabels} />
          )}
          {confirmingClose && (
            <div
              className="db-confirm"
              role="alertdialog"
              aria-labelledby={`${props.panelId}-confirm-title`}
              onKeyDown={(e) => {
                if (e.key === 'Escape') cancelClose();
              }}
            >
              <p id={`${props.panelId}-confirm-title`}>Close this ticket? The chat ends for the visitor and a closed ticket cannot be reopened.</p>
              <button
                type="button"
                ref={confirmButton}
                className="db-danger"
                onClick={() => {
                  setConfirmingClose(false);
                  props.onStatus('closed');
                }}
              >
                Yes, close ticket
              </button>
              <button type="button" onClick={cancelClose}>
                Cancel
              </button>
            </div>
          )}
        </header>
      )}
      <div className="db-chat-body">
        {props.visitor && <VisitorContextPanel state={props.visitor} idPrefix={props.panelId} onOpenTicket={(id) => props.onOpenTicket?.(id)} />}
        <div className={`db-chat-main${drop.dragging ? ' ls-dropping' : ''}`} {...drop.handlers}>
          {drop.dragging && (
            <div className="ls-drop-hint" aria-hidden="true">
              Drop the file here to attach it
            </div>
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
            resolveUrl={props.resolveUrl}
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
          {!closed && props.onNote && (
            <div className="db-compose-modes" role="group" aria-label="Write">
              <button type="button" aria-pressed={props.mode !== 'note'} onClick={() => props.onMode?.('reply')}>
                Reply
              </button>
              <button type="button" aria-pressed={props.mode === 'note'} onClick={() => props.onMode?.('note')}>
                Private note
              </button>
            </div>
          )}
          {closed ? (
            <p className="db-closed">This ticket is closed.</p>
          ) : props.mode === 'note' && props.note ? (
            <div className="db-note-composer">
              <p className="db-note-hint">Only your team sees this note; the visitor never does.</p>
              <Composer
                label="Private note"
                value={props.note.text}
                onChange={(v) => props.onNoteChange?.(v)}
                onSubmit={() => props.onSendNote?.()}
                disabled={props.note.sending}
                error={props.note.error}
                placeholder="Write a note for your team…"
              />
            </div>
          ) : action !== null ? (
            <div className="db-readonly" role="note">
              <p>{action === 'join' ? 'You are viewing this chat. Join it to reply; the visitor is told when you join.' : `${t?.supporter_name ?? 'A teammate'} holds this chat. Assign it to yourself to reply.`}</p>
              <button type="button" onClick={props.onAssign}>
                {action === 'join' ? 'Join and reply' : 'Assign to me and reply'}
              </button>
            </div>
          ) : (
            <CannedComposer
              label="Reply"
              value={props.draft}
              onChange={props.onDraftChange}
              onSubmit={props.onSend}
              error={props.draftError}
              placeholder={attachment?.state.phase === 'ready' ? 'Add a caption (optional)…' : 'Write a reply… (/ for canned responses)'}
              canned={props.canned ?? null}
              context={{ ticket: t, agent }}
              onNeedCanned={() => props.onNeedCanned?.()}
              onInserted={(id) => props.onCannedUsed?.(id)}
              attachment={attachment && <AttachmentTray {...attachment} />}
              tools={attachment && <AttachButton onFile={attachment.onFile} disabled={attachment.state.phase === 'uploading'} />}
              onPasteFile={attachment?.onFile}
            />
          )}
        </div>
      </div>
    </section>
  );
}
