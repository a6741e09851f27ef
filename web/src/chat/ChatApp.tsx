// Container of the chat app (the page inside the widget's iframe). It owns the state:
// the stored session, the ConversationController of the current ticket, whether the
// panel is visible (from the host's postMessage events), and it reports the unread
// count to the host. PreChatForm and ChatView only draw.

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ApiClient, ApiError } from '../shared/api';
import { ConversationController, initialConversationState, type ConversationState } from '../shared/conversation';
import type { WebSocketFactory } from '../shared/socket';
import { guestSocketPath, wsUrl } from '../shared/urls';
import { validateMessageText, type PreChatErrors, type PreChatInput } from '../shared/validation';
import { useI18n } from '../shared/i18n/context';
import type { EmbedConfig } from './embedConfig';
import type { HostBridge } from './hostBridge';
import { ChatView } from './ChatView';
import { PreChatForm } from './PreChatForm';
import { SESSION_KEY, SessionStore } from './session';
import { initials } from './avatar';
import { PageReporter } from './pageReporter';
import { textColorOn } from '../shared/contrast';
import { PREVIEW_MAX } from '../shared/embed';
import type { Availability, ChatMessage } from '../shared/protocol';
import { awayText, entryFor, replyTimeText, subjectOf } from './availability';
import { LeaveMessageForm, MessageLeft, type LeftMessage, type LeftMessageErrors } from './LeaveMessageForm';
import { RatingPrompt, shouldAskRating } from './RatingPrompt';
import { TranscriptRequest } from './TranscriptRequest';
import { messageSummary } from '../shared/attachments/format';
import { uploadAttachment } from '../shared/attachments/upload';
import { composerAttachment, useAttachmentDraft } from '../shared/attachments/useAttachmentDraft';
import { useFileDrop } from '../shared/attachments/useFileDrop';

/** A touch screen without a fine pointer: focusing a field there opens the keyboard. */
export function isTouchDevice(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(pointer: coarse)').matches && !window.matchMedia('(pointer: fine)').matches;
}

/** The visitor's language and time zone, sent with each page (API.md `page`). */
function browserLocale(): { locale?: string; timezone?: string } {
  const out: { locale?: string; timezone?: string } = {};
  if (typeof navigator !== 'undefined' && navigator.language) out.locale = navigator.language;
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) out.timezone = zone;
  } catch {
    // no Intl time zone: the agent sees none
  }
  return out;
}

function latestPeerMessage(state: ConversationState): ChatMessage | null {
  for (let i = state.messages.length - 1; i >= 0; i -= 1) {
    const m = state.messages[i];
    if (m.sender_type === 'supporter') return m.seq > state.readUpTo ? m : null;
  }
  return null;
}

export interface ChatAppProps {
  config: EmbedConfig;
  api: ApiClient;
  sessions: SessionStore;
  bridge: HostBridge;
  createSocket?: WebSocketFactory;
  /** The token of an email's link back into a conversation (issue 18), taken from the
   *  address already; traded once for the session on start. Never logged or shown. */
  resumeToken?: string | null;
}

/** Outside the business hours the visitor leaves a message (then sees `message-left`). */
type Phase = 'loading' | 'prechat' | 'leave-message' | 'message-left' | 'chat';

const EMPTY_STATE = initialConversationState();
const noopSubscribe = () => () => undefined;

export function ChatApp({ config, api, sessions, bridge, createSocket, resumeToken }: ChatAppProps) {
  const { t, tag } = useI18n();
  // Issue 18: fetched on start and for each new chat; null until known (or unknown).
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [leftAt, setLeftAt] = useState<string | null>(null);
  // Why an email's link did not open its conversation (not valid, expired).
  const [linkNotice, setLinkNotice] = useState<string | null>(null);
  // Once asked for a rating, the prompt stays (for its thanks) until a new chat.
  const [ratingOpen, setRatingOpen] = useState(false);
  const [phase, setPhase] = useState<Phase>('loading');
  const [controller, setController] = useState<ConversationController | null>(null);
  const [formErrors, setFormErrors] = useState<PreChatErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [leftErrors, setLeftErrors] = useState<LeftMessageErrors>({});
  const [submitting, setSubmitting] = useState(false);
  const [ending, setEnding] = useState(false);
  const [draft, setDraft] = useState('');
  const [draftError, setDraftError] = useState<string | undefined>();
  // Embedded: hidden until the host says the panel is open. Standalone: always shown.
  const [panelOpen, setPanelOpen] = useState(!bridge.connected);
  const [pageVisible, setPageVisible] = useState(() => typeof document === 'undefined' || document.visibilityState !== 'hidden');
  const inputRef = useRef<HTMLTextAreaElement>(null);
  // Set by "Start chat": the message box takes the focus as soon as it is drawn.
  const focusComposer = useRef(false);

  const state: ConversationState = useSyncExternalStore(
    controller ? controller.store.subscribe : noopSubscribe,
    controller ? controller.store.get : () => EMPTY_STATE,
  );

  // Issue 17: a file to send (attach button, paste, drop), uploaded to the ticket.
  const sessionId = state.ticket?.session_id;
  const [attachment, attachmentDraft] = useAttachmentDraft({
    upload: sessionId ? (req) => uploadAttachment({ ...req, url: api.guestAttachmentUrl(sessionId) }) : null,
    onSent: (message) => controller?.acceptStored(message),
  });
  const canAttach = phase === 'chat' && state.ticket !== null && state.endedReason === null;
  const drop = useFileDrop((file) => attachmentDraft.pick(file), canAttach);

  // The host page, sent on the ticket's socket (throttled; nothing before a ticket exists).
  const controllerRef = useRef<ConversationController | null>(null);
  const [pages] = useState(() => new PageReporter({ send: (page) => controllerRef.current?.sendPage(page) ?? false }));
  useEffect(() => () => pages.dispose(), [pages]);

  const startConversation = useCallback(
    (sessionId: string) => {
      const stored = sessions.load();
      const c = new ConversationController({
        onReady: () => pages.connected(),
        self: 'user',
        loadTicket: () => api.getTicketBySession(sessionId),
        fetchPage: (page) => api.getSessionMessages(sessionId, page),
        socketUrl: (since) => wsUrl(guestSocketPath(sessionId), { since }),
        initialOutbox: sessions.loadOutbox(sessionId),
        initialReadUpTo: stored?.session_id === sessionId ? stored.read_up_to : 0,
        onOutboxChange: (outbox) => sessions.saveOutbox(sessionId, outbox),
        onReadUpToChange: (seq) => sessions.advance(sessionId, { read_up_to: seq }),
        onIncoming: (msgs) => sessions.advance(sessionId, { last_seq: msgs[msgs.length - 1].seq }),
        readOnSight: true,
        createSocket,
      });
      controllerRef.current = c;
      setController(c);
      setPhase('chat');
      c.open().catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) {
          // The ticket is gone (or the id was never valid): start afresh.
          c.dispose();
          sessions.clear();
          setController(null);
          setFormError(t('app.sessionGone'));
          setPhase('prechat');
          return;
        }
        c.store.update({ connection: 'reconnecting', notice: err instanceof ApiError ? err.message : t('app.loadFailed') });
        // Try again in a while; the page keeps the session.
        window.setTimeout(() => {
          c.dispose();
          if (sessions.load()?.session_id === sessionId) startConversation(sessionId);
        }, 5_000);
      });
    },
    [api, sessions, createSocket, t, pages],
  );

  /** Fetches the availability; without a chat, opens the form it calls for. */
  const checkAvailability = useCallback(
    (chooseEntry: boolean) => {
      const done = (a: Availability | null): void => {
        setAvailability(a);
        if (chooseEntry) setPhase(entryFor(a) === 'leave-message' ? 'leave-message' : 'prechat');
      };
      // Unknown (an older server, a network error): the pre-chat form as before.
      api.getAvailability().then(done, () => done(null));
    },
    [api],
  );

  // Resume a stored session whatever the availability, or ask for the form it calls
  // for (once, even under StrictMode). An email's link first trades its token for its
  // conversation, kept as one the visitor started here; a link that fails says why,
  // then the page starts as it would without it.
  const resumed = useRef(false);
  useEffect(() => {
    if (resumed.current) return;
    resumed.current = true;
    const startAsStored = (): void => {
      const stored = sessions.load();
      checkAvailability(!stored);
      if (stored) startConversation(stored.session_id);
    };
    if (!resumeToken) {
      startAsStored();
      return;
    }
    api.resumeConversation(resumeToken).then(
      ({ session_id, ticket }) => {
        if (sessions.load()?.session_id !== session_id) {
          sessions.clear();
          sessions.save({ session_id, last_seq: 0, read_up_to: 0 });
        }
        sessions.saveVisitor({ user_name: ticket.user_name, user_email: ticket.user_email ?? '' });
        checkAvailability(false);
        startConversation(session_id);
      },
      (err: unknown) => {
        const status = err instanceof ApiError ? err.status : 0;
        setLinkNotice(status === 404 ? t('app.linkInvalid') : status === 403 ? t('app.linkExpired') : t('app.linkFailed'));
        startAsStored();
      },
    );
  }, [api, sessions, startConversation, checkAvailability, resumeToken, t]);

  const csat = availability?.csat ?? false;
  const askRating = phase === 'chat' && shouldAskRating(state.ticket, csat);
  useEffect(() => {
    if (askRating) setRatingOpen(true);
  }, [askRating]);

  useEffect(
    () => () => {
      controller?.dispose();
    },
    [controller],
  );

  // Another tab started or ended a chat: follow it.
  useEffect(() => {
    const onStorage = (e: StorageEvent): void => {
      if (e.key !== SESSION_KEY) return;
      const stored = sessions.load();
      const current = controller?.state.ticket?.session_id;
      if (stored && stored.session_id !== current) startConversation(stored.session_id);
      if (!stored && controller && controller.state.endedReason !== null) {
        setController(null);
        setPhase('prechat');
      }
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [controller, sessions, startConversation]);

  // Host events: open / hidden.
  useEffect(
    () =>
      bridge.listen((event) => {
        if (event.type === 'livesupport:page') {
          pages.report({ url: event.url, title: event.title, referrer: event.referrer, ...browserLocale() });
          return;
        }
        if (event.type === 'livesupport:open') {
          setPanelOpen(true);
          // On a touch screen a focused field pops the keyboard over the chat on every
          // reopen: leave the focus to the visitor there.
          if (isTouchDevice() || event.focus === false) return;
          window.setTimeout(() => {
            const target = inputRef.current ?? document.querySelector<HTMLElement>('input, textarea');
            target?.focus();
          }, 0);
        } else {
          setPanelOpen(false);
        }
      }),
    [bridge, pages],
  );
  useEffect(() => {
    bridge.post({ type: 'livesupport:ready' });
  }, [bridge]);
  // Whether there is a conversation: the loader then loads this app early on the next page view.
  useEffect(() => {
    if (phase !== 'loading') bridge.post({ type: 'livesupport:conversation', active: phase === 'chat' });
  }, [bridge, phase]);

  // (Retrying at once on `online` or when the page shows again is the socket's own job.)
  useEffect(() => {
    const onVisibility = (): void => setPageVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, []);

  const attentive = panelOpen && pageVisible;
  useEffect(() => {
    controller?.setAttentive(attentive);
  }, [controller, attentive]);

  // Unread agent messages, for the launcher's badge.
  const unread = phase === 'chat' ? state.unread : 0;
  useEffect(() => {
    bridge.post({ type: 'livesupport:unread', count: unread });
  }, [bridge, unread]);

  // The newest unread agent reply, previewed next to the launcher while minimised.
  const preview = phase === 'chat' && unread > 0 ? latestPeerMessage(state) : null;
  const previewSeq = preview?.seq ?? 0;
  useEffect(() => {
    if (!preview) {
      bridge.post({ type: 'livesupport:preview', preview: null });
      return;
    }
    bridge.post({ type: 'livesupport:preview', preview: { name: preview.sender_name, text: messageSummary(preview).slice(0, PREVIEW_MAX) } });
  }, [bridge, previewSeq]); // one post per new message, not per render

  // "Start chat" leads straight into typing.
  const composerReady = phase === 'chat' && state.endedReason === null && state.ticket !== null;
  useEffect(() => {
    if (composerReady && focusComposer.current) {
      focusComposer.current = false;
      inputRef.current?.focus();
    }
  }, [composerReady]);

  const onSeen = useCallback((seq: number) => controller?.markSeen(seq), [controller]);

  const minimise = useCallback(() => {
    setPanelOpen(false);
    bridge.post({ type: 'livesupport:close' });
  }, [bridge]);

  useEffect(() => {
    if (!bridge.connected) return;
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') minimise();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [bridge, minimise]);

  const createTicket = async (input: PreChatInput): Promise<void> => {
    setSubmitting(true);
    setFormErrors({});
    setFormError(null);
    try {
      const email = input.user_email.trim();
      const message = input.message.trim();
      const ticket = await api.createTicket({
        user_name: input.user_name.trim(),
        subject: input.subject.trim(),
        ...(email ? { user_email: email } : {}),
        ...(message ? { message } : {}),
      });
      sessions.save({ session_id: ticket.session_id, last_seq: 0, read_up_to: 0 });
      sessions.saveVisitor({ user_name: input.user_name.trim(), user_email: email });
      focusComposer.current = true;
      startConversation(ticket.session_id);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'validation_failed' && err.field) {
        setFormErrors({ [err.field]: err.message });
      } else if (err instanceof ApiError && err.code === 'rate_limited') {
        setFormError(err.retryAfter ? t('app.tooManyChatsIn', { seconds: err.retryAfter }) : t('app.tooManyChats'));
      } else {
        setFormError(err instanceof ApiError ? err.message : t('app.startFailed'));
      }
    } finally {
      setSubmitting(false);
    }
  };

  const leaveMessage = async (input: LeftMessage): Promise<void> => {
    setSubmitting(true);
    setLeftErrors({});
    setFormError(null);
    const email = input.user_email.trim();
    try {
      await api.createTicket({ user_name: input.user_name.trim(), user_email: email, subject: subjectOf(input.message), message: input.message.trim() });
      sessions.saveVisitor({ user_name: input.user_name.trim(), user_email: email });
      setLeftAt(email);
      setPhase('message-left');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'validation_failed' && err.field) {
        // The subject is made from the message: its error belongs there.
        const field = err.field === 'subject' ? 'message' : err.field;
        if (field === 'user_name' || field === 'user_email' || field === 'message') setLeftErrors({ [field]: err.message });
        else setFormError(err.message);
      } else if (err instanceof ApiError && err.code === 'rate_limited') {
        setFormError(err.retryAfter ? t('app.tooManyChatsIn', { seconds: err.retryAfter }) : t('app.tooManyChats'));
      } else {
        setFormError(err instanceof ApiError ? err.message : t('offline.failed'));
      }
    } finally {
      setSubmitting(false);
    }
  };

  const emailTranscript = async (email: string): Promise<void> => {
    const sessionId = controller?.state.ticket?.session_id;
    if (!sessionId) return;
    await api.emailTranscript(sessionId, email);
  };

  const rate = async (body: { score: number; comment?: string }): Promise<void> => {
    const sessionId = controller?.state.ticket?.session_id;
    if (!controller || !sessionId) return;
    controller.applyTicket(await api.rateTicket(sessionId, body));
  };

  const send = (): void => {
    if (!controller) return;
    if (attachment.phase === 'ready') {
      // The text is the file's caption: it may be empty, not too long.
      const invalid = validateMessageText(draft, true, t);
      if (invalid) {
        setDraftError(invalid);
        return;
      }
      if (attachmentDraft.send(draft)) {
        setDraft('');
        controller.draftChanged('');
      }
      return;
    }
    // The same rules as the controller's, worded in the visitor's language; past them
    // the controller refuses only a chat that has ended.
    const invalid = validateMessageText(draft, false, t);
    if (invalid) {
      setDraftError(invalid);
      return;
    }
    const error = controller.send(draft);
    setDraftError(error ? t('chat.notSendable') : undefined);
    if (!error) setDraft('');
  };

  const onDraftChange = (value: string): void => {
    setDraft(value);
    if (draftError) setDraftError(undefined);
    controller?.draftChanged(value);
  };

  const endChat = async (): Promise<void> => {
    const sessionId = controller?.state.ticket?.session_id;
    if (!controller || !sessionId) return;
    setEnding(true);
    try {
      const ticket = await api.closeSession(sessionId);
      controller.applyTicket(ticket);
    } catch (err) {
      controller.store.update({ notice: err instanceof ApiError ? err.message : t('app.endFailed') });
    } finally {
      setEnding(false);
    }
  };

  const newChat = (): void => {
    attachmentDraft.cancel();
    controller?.dispose();
    sessions.clear();
    setController(null);
    setDraft('');
    setFormError(null);
    setRatingOpen(false);
    setPhase('loading');
    checkAvailability(true);
  };

  const agentName = phase === 'chat' ? state.ticket?.supporter_name : undefined;
  // The end screen: the visitor ended the chat, or an agent resolved or closed it.
  const finished = state.ticket !== null && (state.ticket.status === 'resolved' || state.ticket.status === 'closed');
  // The desk's greeting, else the site's (the loader's data-greeting), else our own words.
  const greeting = availability?.greeting || config.greeting;
  const replyTime = replyTimeText(availability, t);
  const availabilityNotes = (
    <>
      {replyTime && <p className="ls-reply-time">{replyTime}</p>}
      {availability?.reason === 'no_agents' && <p className="ls-away">{t('queue.nobodyOnline')}</p>}
    </>
  );

  return (
    <div
      className={`ls-chat${drop.dragging ? ' ls-dropping' : ''}`}
      style={{ ['--ls-color' as string]: config.color, ['--ls-on-color' as string]: textColorOn(config.color) }}
      {...drop.handlers}
    >
      {drop.dragging && (
        <div className="ls-drop-hint" aria-hidden="true">
          {t('attach.dropHint')}
        </div>
      )}
      <header className="ls-header">
        {agentName ? (
          <div className="ls-agent-head">
            <span className="ls-avatar" aria-hidden="true">
              {initials(agentName)}
            </span>
            <div>
              <h1>{agentName}</h1>
              <p className="ls-header-sub">{t('app.support')}</p>
            </div>
          </div>
        ) : (
          <h1>{t('app.support')}</h1>
        )}
        {bridge.connected && (
          <button type="button" className="ls-icon-button" onClick={minimise} aria-label={t('app.minimise')}>
            <span aria-hidden="true">–</span>
          </button>
        )}
      </header>
      {linkNotice && (
        <div className="ls-notice ls-link-notice" role="alert">
          {linkNotice}{' '}
          <button type="button" onClick={() => setLinkNotice(null)} aria-label={t('chat.dismissNotice')}>
            ×
          </button>
        </div>
      )}
      {phase === 'loading' && (
        <p className="ls-loading" role="status">
          {t('app.loading')}
        </p>
      )}
      {phase === 'prechat' && (
        <PreChatForm
          initial={sessions.loadVisitor()}
          greeting={greeting}
          notes={availabilityNotes}
          submitting={submitting}
          serverErrors={formErrors}
          formError={formError}
          onSubmit={(input) => void createTicket(input)}
        />
      )}
      {phase === 'leave-message' && (
        <LeaveMessageForm
          awayText={awayText(availability?.next_open_at ?? null, t, { locale: tag })}
          offlineMessage={availability?.offline_message ?? ''}
          initial={sessions.loadVisitor()}
          submitting={submitting}
          serverErrors={leftErrors}
          formError={formError}
          onSubmit={(input) => void leaveMessage(input)}
        />
      )}
      {phase === 'message-left' && leftAt !== null && <MessageLeft email={leftAt} />}
      {phase === 'chat' && controller && (
        <ChatView
          state={state}
          greeting={greeting}
          rating={ratingOpen && finished ? <RatingPrompt onRate={rate} /> : undefined}
          transcript={finished && state.ticket ? <TranscriptRequest key={state.ticket.session_id} initialEmail={state.ticket.user_email ?? ''} onSend={emailTranscript} /> : undefined}
          draft={draft}
          draftError={draftError}
          ending={ending}
          inputRef={inputRef}
          onDraftChange={onDraftChange}
          onSend={send}
          onRetry={(id) => controller.retry(id)}
          onDiscard={(id) => controller.discard(id)}
          onLoadOlder={() => void controller.loadOlder()}
          onReconnectNow={() => controller.reconnectNow()}
          onEndChat={() => void endChat()}
          onNewChat={newChat}
          onDismissNotice={() => controller.dismissNotice()}
          onSeen={attentive ? onSeen : undefined}
          resolveUrl={(path) => api.url(path)}
          attachment={canAttach ? composerAttachment(attachment, attachmentDraft, (caption) => setDraft((d) => d || caption)) : undefined}
        />
      )}
    </div>
  );
}
