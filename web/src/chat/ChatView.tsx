// Presenter: the live chat (header, messages, typing, composer, end-of-chat).

import { useState, type Ref } from 'react';
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
}

export function ChatView(props: ChatViewProps) {
  const { state } = props;
  const [confirmingEnd, setConfirmingEnd] = useState(false);
  const ended = state.endedReason !== null;
  const agent = state.ticket?.supporter_name;

  return (
    <>
      <div className="ls-subheader">
        <span className="ls-subject">{state.ticket?.subject ?? ''}</span>
        <span className="ls-agent">
          {agent ? `You are chatting with ${agent}` : ended ? '' : 'Waiting for an agent…'}
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
        <div className="ls-ended">
          <p>{state.endedReason === 'gone' ? 'This chat is no longer available.' : 'This chat has ended. Thank you!'}</p>
          <button type="button" className="ls-primary" onClick={props.onNewChat}>
            Start a new chat
          </button>
        </div>
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
