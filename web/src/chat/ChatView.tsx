// Presenter: the live chat (header, messages, typing, composer, end-of-chat).

import { useEffect, useRef, useState, type ReactNode, type Ref } from 'react';
import type { ConversationState } from '../shared/conversation';
import { isVisibleToVisitor } from '../shared/protocol';
import { MessageList } from '../shared/components/MessageList';
import { Composer } from '../shared/components/Composer';
import { ConnectionBanner } from '../shared/components/ConnectionBanner';
import { AttachButton, AttachmentTray, type AttachmentProps } from '../shared/components/AttachmentControls';
import { useI18n } from '../shared/i18n/context';
import { queueText } from './queueStatus';

export interface ChatViewProps {
  state: ConversationState;
  greeting: string;
  draft: string;
  draftError?: string;
  ending: boolean;
  inputRef?: Ref<HTMLTextAreaElement>;
  onDraftChange: (value: string) => void;
  onSend: () => void;
  onRetry: (clientMsgId: string) => void;
  onDiscard: (clientMsgId: string) => void;
  onLoadOlder: () => void;
  onReconnectNow: () => void;
  onEndChat: () => void;
  onNewChat: () => void;
  onDismissNotice: () => void;
  /** Read on sight, while the panel is open (see MessageList). */
  onSeen?: (seq: number) => void;
  /** The file waiting to be sent, and what the visitor can do with it (issue 17). */
  attachment?: AttachmentProps;
  /** The service's origin before an attachment's path. */
  resolveUrl?: (path: string) => string;
  /** The satisfaction rating, once the conversation is resolved or closed (issue 18). */
  rating?: ReactNode;
  /** "Email me the transcript", on the end screen (issue 18). */
  transcript?: ReactNode;
}

export function ChatView(props: ChatViewProps) {
  const { state } = props;
  const { t } = useI18n();
  const [confirmingEnd, setConfirmingEnd] = useState(false);
  const ended = state.endedReason !== null;
  const agent = state.ticket?.supporter_name;
  const queue = queueText(state.queue, !ended && !agent);
  // The composer (and maybe the focus) goes away when the chat ends: move the focus to
  // the way on, unless it was somewhere else (the visitor reading the transcript).
  const endedButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!ended) return;
    const active = document.activeElement;
    if (!active || active === document.body) endedButton.current?.focus({ preventScroll: true });
  }, [ended]);

  return (
    <>
      <div className="ls-subheader">
        <span className="ls-subject" dir="auto">
          {state.ticket?.subject ?? ''}
        </span>
        <span className="ls-agent">
          {ended ? t('chat.ended') : agent ? t('chat.chattingWith', { name: agent }) : t('chat.waitingForAgent')}
        </span>
      </div>
      {/* Always in the page, so a change is announced (politely) and an identical
          queue frame, which changes no text, is not. */}
      <p className={`ls-queue${queue ? '' : ' ls-queue-empty'}`} role="status" aria-live="polite">
        {queue ? t(queue.key, queue.params) : ''}
      </p>
      <ConnectionBanner connection={ended ? 'online' : state.connection} retryInMs={state.retryInMs} onReconnectNow={props.onReconnectNow} />
      <MessageList
        messages={state.messages.filter(isVisibleToVisitor)}
        outbox={state.outbox}
        self="user"
        intro={props.greeting || undefined}
        hasMoreBefore={state.hasMoreBefore}
        loadingOlder={state.loadingOlder}
        onLoadOlder={props.onLoadOlder}
        onRetry={props.onRetry}
        onDiscard={props.onDiscard}
        onSeen={props.onSeen}
        resolveUrl={props.resolveUrl}
      />
      <div className="ls-typing" role="status" aria-live="polite">
        {state.peerTyping ? t('chat.typing', { name: state.peerTyping === 'Someone' ? t('chat.someone') : state.peerTyping }) : ''}
      </div>
      {state.notice && (
        <div className="ls-notice" role="alert">
          {state.notice}{' '}
          <button type="button" onClick={props.onDismissNotice} aria-label={t('chat.dismissNotice')}>
            ×
          </button>
        </div>
      )}
      {props.rating}
      {props.transcript}
      {ended ? (
        <section className="ls-ended" role="status" aria-labelledby="ls-ended-title">
          <h2 id="ls-ended-title">{state.endedReason === 'gone' ? t('chat.goneTitle') : t('chat.endedTitle')}</h2>
          <p>
            {state.endedReason === 'gone' ? t('chat.goneText') : t('chat.endedText')}
          </p>
          <button type="button" className="ls-primary" onClick={props.onNewChat} ref={endedButton}>
            {t('chat.startNew')}
          </button>
        </section>
      ) : (
        <>
          <Composer
            label={t('composer.label')}
            value={props.draft}
            onChange={props.onDraftChange}
            onSubmit={props.onSend}
            error={props.draftError}
            placeholder={props.attachment?.state.phase === 'ready' ? t('attach.captionPlaceholder') : t('composer.placeholder')}
            inputRef={props.inputRef}
            attachment={props.attachment && <AttachmentTray {...props.attachment} />}
            tools={props.attachment && <AttachButton onFile={props.attachment.onFile} disabled={props.attachment.state.phase === 'uploading'} />}
            onPasteFile={props.attachment?.onFile}
          />
          <div className="ls-end">
            {confirmingEnd ? (
              <>
                <span>{t('chat.endAsk')}</span>{' '}
                <button type="button" onClick={() => { setConfirmingEnd(false); props.onEndChat(); }} disabled={props.ending}>
                  {t('chat.endYes')}
                </button>{' '}
                <button type="button" onClick={() => setConfirmingEnd(false)}>
                  {t('chat.cancel')}
                </button>
              </>
            ) : (
              <button type="button" className="ls-link" onClick={() => setConfirmingEnd(true)}>
                {t('chat.end')}
              </button>
            )}
          </div>
        </>
      )}
    </>
  );
}
