// Presenter: the live chat (header, messages, typing, composer, end-of-chat).

import { useEffect, useRef, useState, type Ref } from 'react';
import type { ConversationState } from '../shared/conversation';
import { isVisibleToVisitor } from '../shared/protocol';
import { MessageList } from '../shared/components/MessageList';
import { Composer } from '../shared/components/Composer';
import { ConnectionBanner } from '../shared/components/ConnectionBanner';

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
}

export function ChatView(props: ChatViewProps) {
  const { state } = props;
  const [confirmingEnd, setConfirmingEnd] = useState(false);
  const ended = state.endedReason !== null;
  const agent = state.ticket?.supporter_name;
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
        <span className="ls-subject">{state.ticket?.subject ?? ''}</span>
        <span className="ls-agent">
          {ended ? 'Chat ended' : agent ? `You are chatting with ${agent}` : 'Waiting for an agent…'}
        </span>
      </div>
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
      {ended ? (
        <section className="ls-ended" role="status" aria-labelledby="ls-ended-title">
          <h2 id="ls-ended-title">{state.endedReason === 'gone' ? 'This chat is no longer available' : 'This chat has ended'}</h2>
          <p>
            {state.endedReason === 'gone'
              ? 'You can start a new chat at any time.'
              : 'Thank you for getting in touch. The conversation above stays here for you to read; to ask something else, start a new chat.'}
          </p>
          <button type="button" className="ls-primary" onClick={props.onNewChat} ref={endedButton}>
            Start a new chat
          </button>
        </section>
      ) : (
        <>
          <Composer
            label="Message"
            value={props.draft}
            onChange={props.onDraftChange}
            onSubmit={props.onSend}
            error={props.draftError}
            placeholder="Type your message…"
            inputRef={props.inputRef}
          />
          <div className="ls-end">
            {confirmingEnd ? (
              <>
                <span>End this chat?</span>{' '}
                <button type="button" onClick={() => { setConfirmingEnd(false); props.onEndChat(); }} disabled={props.ending}>
                  Yes, end chat
                </button>{' '}
                <button type="button" onClick={() => setConfirmingEnd(false)}>
                  Cancel
                </button>
              </>
            ) : (
              <button type="button" className="ls-link" onClick={() => setConfirmingEnd(true)}>
                End chat
              </button>
            )}
          </div>
        </>
      )}
    </>
  );
}
