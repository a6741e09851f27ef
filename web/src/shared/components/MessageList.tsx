// Presenter: draws a conversation. Message text is always a React text child, never
// HTML, so "<b>hi</b>" shows as those characters.

import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { attachmentsOf, isNote, type ChatMessage, type SenderType } from '../protocol';
import type { PendingMessage } from '../ticketChannel';
import { formatTime } from '../format';
import { isAtBottom, SeenTracker } from '../readOnSight';
import { MessageText } from './MessageText';
import { MessageAttachments } from './MessageAttachments';
import { useI18n } from '../i18n/context';
import { localiseSystemNote } from '../i18n/systemNotes';

export interface MessageListProps {
  messages: readonly ChatMessage[];
  outbox: readonly PendingMessage[];
  self: SenderType;
  /** Shown above the first message (e.g. the widget's greeting). */
  intro?: string;
  hasMoreBefore?: boolean;
  loadingOlder?: boolean;
  onLoadOlder?: () => void;
  onRetry?: (clientMsgId: string) => void;
  onDiscard?: (clientMsgId: string) => void;
  /** The log's accessible name; default "Messages" in the current language. */
  label?: string;
  /**
   * Read on sight: while given (the panel is open and the page visible), called with the
   * highest seq of a message that has been on screen. Without it nothing is reported.
   */
  onSeen?: (seq: number) => void;
  /** Puts the service's origin before an attachment's `url` (default: the page's own). */
  resolveUrl?: (path: string) => string;
}

export function MessageList({
  messages,
  outbox,
  self,
  intro,
  hasMoreBefore = false,
  loadingOlder = false,
  onLoadOlder,
  onRetry,
  onDiscard,
  label,
  onSeen,
  resolveUrl,
}: MessageListProps) {
  const { t, tag } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  const firstSeq = messages.length ? messages[0].seq : 0;
  const lastSeq = messages.length ? messages[messages.length - 1].seq : 0;
  const prev = useRef({ firstSeq, lastSeq, height: 0, outbox: 0 });
  // Following the newest message: true until the reader scrolls up, true again at the bottom.
  const pinned = useRef(true);
  const [newBelow, setNewBelow] = useState(false);

  const toBottom = (): void => {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    pinned.current = true;
    setNewBelow(false);
  };

  // Follow new messages while at the bottom (and always for our own); keep the reader's
  // place when older messages are put on top; otherwise offer the "new messages" pill.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const before = prev.current;
    if (before.firstSeq !== 0 && firstSeq < before.firstSeq) {
      el.scrollTop += el.scrollHeight - before.height;
    } else if (lastSeq !== before.lastSeq || outbox.length !== before.outbox) {
      const added = messages.filter((m) => m.seq > before.lastSeq);
      const ownOnly = outbox.length > before.outbox || (added.length > 0 && added.every((m) => m.sender_type === self));
      if (pinned.current || ownOnly) {
        el.scrollTop = el.scrollHeight;
        pinned.current = true;
      } else if (added.some((m) => m.sender_type !== self)) {
        setNewBelow(true);
      }
    }
    prev.current = { firstSeq, lastSeq, height: el.scrollHeight, outbox: outbox.length };
  }, [messages, outbox, firstSeq, lastSeq, self]);

  // A list drawn while hidden (the widget's closed panel) has no height: when it gets
  // one, or changes size (keyboard, rotation), stay at the bottom if we were there.
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (pinned.current) el.scrollTop = el.scrollHeight;
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Read on sight: watch every message element while onSeen is given.
  const seenRef = useRef(onSeen);
  seenRef.current = onSeen;
  const watching = onSeen !== undefined;
  useEffect(() => {
    // Without IntersectionObserver (old browsers, jsdom): everything drawn counts as seen.
    if (watching && typeof IntersectionObserver === 'undefined' && lastSeq > 0) seenRef.current?.(lastSeq);
  }, [watching, lastSeq]);
  useEffect(() => {
    const el = ref.current;
    if (!el || !watching || typeof IntersectionObserver === 'undefined') return;
    const tracker = new SeenTracker();
    let reported = 0;
    const io = new IntersectionObserver(
      (entries) => {
        const seen = tracker.update(
          entries.map((e) => ({ seq: Number((e.target as HTMLElement).dataset.seq), visible: e.isIntersecting && e.intersectionRatio > 0 })),
        );
        if (seen > reported) {
          reported = seen;
          seenRef.current?.(seen);
        }
      },
      { root: el, threshold: [0, 0.5] },
    );
    const observed = new Set<Element>();
    const observeAll = (): void => {
      for (const node of el.querySelectorAll('[data-seq]')) {
        if (!observed.has(node)) {
          observed.add(node);
          io.observe(node);
        }
      }
    };
    observeAll();
    const mo = new MutationObserver(observeAll);
    mo.observe(el, { childList: true });
    return () => {
      mo.disconnect();
      io.disconnect();
    };
  }, [watching]);

  const onScroll = (): void => {
    const el = ref.current;
    if (!el) return;
    pinned.current = isAtBottom(el);
    if (pinned.current && newBelow) setNewBelow(false);
    if (el.scrollTop < 40 && hasMoreBefore && !loadingOlder) onLoadOlder?.();
  };

  const pendingIds = new Set(messages.map((m) => m.client_msg_id).filter(Boolean));

  return (
    <div className="ls-messages" ref={ref} role="log" aria-label={label ?? t('messages.label')} aria-live="polite" tabIndex={0} onScroll={onScroll}>
      {hasMoreBefore && onLoadOlder && (
        <div className="ls-older">
          <button type="button" onClick={onLoadOlder} disabled={loadingOlder}>
            {loadingOlder ? t('messages.loadingOlder') : t('messages.loadOlder')}
          </button>
        </div>
      )}
      {intro && (
        <div className="ls-msg ls-msg-peer ls-msg-intro">
          <p className="ls-text" dir="auto">
            {intro}
          </p>
        </div>
      )}
      {messages.map((m) => {
        const kind = m.sender_type === 'system' ? 'system' : m.sender_type === self ? 'own' : 'peer';
        // A private note (only agents ever receive one): marked, and not a reply.
        const note = isNote(m);
        const files = attachmentsOf(m);
        // A file's caption is the message text, "" when there is none: then no bubble.
        const showText = files.length === 0 || m.message.trim() !== '';
        return (
          <div key={m.seq} className={`ls-msg ls-msg-${kind}${note ? ' ls-msg-note' : ''}`} data-seq={m.seq}>
            {kind !== 'system' && (
              <div className="ls-meta">
                <span className="ls-sender">{kind === 'own' ? t('messages.you') : m.sender_name}</span>{' '}
                <time dateTime={m.created_at}>{formatTime(m.created_at, tag)}</time>
                {note && <span className="ls-note-label"> · {t('messages.note')}</span>}
              </div>
            )}
            <MessageAttachments attachments={files} resolveUrl={resolveUrl} />
            {showText && <MessageText text={kind === 'system' ? localiseSystemNote(m.message, t) : m.message} />}
            {kind === 'own' && !note && <div className="ls-receipt">{m.is_read ? t('messages.read') : t('messages.sent')}</div>}
          </div>
        );
      })}
      {outbox
        .filter((p) => !pendingIds.has(p.client_msg_id))
        .map((p) => (
          <div key={p.client_msg_id} className={`ls-msg ls-msg-own ls-msg-pending${p.state === 'failed' ? ' ls-msg-failed' : ''}`}>
            <div className="ls-meta">
              <span className="ls-sender">{t('messages.you')}</span>
            </div>
            <MessageText text={p.message} />
            {p.state === 'failed' ? (
              <div className="ls-receipt">
                {p.error ? t('messages.notSentBecause', { reason: p.error.message }) : t('messages.notSent')}{' '}
                {onRetry && (
                  <button type="button" onClick={() => onRetry(p.client_msg_id)}>
                    {t('messages.retry')}
                  </button>
                )}{' '}
                {onDiscard && (
                  <button type="button" onClick={() => onDiscard(p.client_msg_id)}>
                    {t('messages.discard')}
                  </button>
                )}
              </div>
            ) : (
              <div className="ls-receipt">{p.error?.code === 'rate_limited' ? t('messages.waiting') : t('messages.sending')}</div>
            )}
          </div>
        ))}
      {newBelow && (
        <button type="button" className="ls-new-below" onClick={toBottom}>
          {t('messages.newBelow')} <span aria-hidden="true">↓</span>
        </button>
      )}
    </div>
  );
}
