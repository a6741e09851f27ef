// Presenter: draws a conversation. Message text is always a React text child, never
// HTML, so "<b>hi</b>" shows as those characters.

import { useLayoutEffect, useRef } from 'react';
import type { ChatMessage, SenderType } from '../protocol';
import type { PendingMessage } from '../ticketChannel';
import { formatTime } from '../format';

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
  label?: string;
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
  label = 'Messages',
}: MessageListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const firstSeq = messages.length ? messages[0].seq : 0;
  const prev = useRef({ firstSeq, height: 0, count: 0 });

  // Keep the view pinned to the bottom for new messages, and keep the reader's place
  // when older messages are put on top.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const before = prev.current;
    const total = messages.length + outbox.length;
    if (before.firstSeq !== 0 && firstSeq < before.firstSeq) {
      el.scrollTop += el.scrollHeight - before.height;
    } else if (total !== before.count) {
      const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 160 || before.count === 0;
      if (nearBottom) el.scrollTop = el.scrollHeight;
    }
    prev.current = { firstSeq, height: el.scrollHeight, count: total };
  }, [messages, outbox, firstSeq]);

  const onScroll = (): void => {
    const el = ref.current;
    if (el && el.scrollTop < 40 && hasMoreBefore && !loadingOlder) onLoadOlder?.();
  };

  const pendingIds = new Set(messages.map((m) => m.client_msg_id).filter(Boolean));

  return (
    <div className="ls-messages" ref={ref} role="log" aria-label={label} aria-live="polite" tabIndex={0} onScroll={onScroll}>
      {hasMoreBefore && onLoadOlder && (
        <div className="ls-older">
          <button type="button" onClick={onLoadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading earlier messages…' : 'Load earlier messages'}
          </button>
        </div>
      )}
      {intro && (
        <div className="ls-msg ls-msg-peer ls-msg-intro">
          <p className="ls-text">{intro}</p>
        </div>
      )}
      {messages.map((m) => {
        const kind = m.sender_type === 'system' ? 'system' : m.sender_type === self ? 'own' : 'peer';
        return (
          <div key={m.seq} className={`ls-msg ls-msg-${kind}`} data-seq={m.seq}>
            {kind !== 'system' && (
              <div className="ls-meta">
                <span className="ls-sender">{kind === 'own' ? 'You' : m.sender_name}</span>{' '}
                <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
              </div>
            )}
            <p className="ls-text">{m.message}</p>
            {kind === 'own' && <div className="ls-receipt">{m.is_read ? 'Read' : 'Sent'}</div>}
          </div>
        );
      })}
      {outbox
        .filter((p) => !pendingIds.has(p.client_msg_id))
        .map((p) => (
          <div key={p.client_msg_id} className={`ls-msg ls-msg-own ls-msg-pending${p.state === 'failed' ? ' ls-msg-failed' : ''}`}>
            <div className="ls-meta">
              <span className="ls-sender">You</span>
            </div>
            <p className="ls-text">{p.message}</p>
            {p.state === 'failed' ? (
              <div className="ls-receipt">
                Not sent{p.error ? `: ${p.error.message}` : ''}{' '}
                {onRetry && (
                  <button type="button" onClick={() => onRetry(p.client_msg_id)}>
                    Retry
                  </button>
                )}{' '}
                {onDiscard && (
                  <button type="button" onClick={() => onDiscard(p.client_msg_id)}>
                    Discard
                  </button>
                )}
              </div>
            ) : (
              <div className="ls-receipt">Sending…</div>
            )}
          </div>
        ))}
    </div>
  );
}
