// Presenter: tells the person when the live connection is not there.

import type { ConnectionView } from '../conversation';

export interface ConnectionBannerProps {
  connection: ConnectionView;
  retryInMs: number | null;
  onReconnectNow?: () => void;
}

export function ConnectionBanner({ connection, retryInMs, onReconnectNow }: ConnectionBannerProps) {
  let text: string | null = null;
  if (connection === 'reconnecting') {
    const secs = retryInMs !== null ? Math.ceil(retryInMs / 1000) : null;
    text = secs ? `Reconnecting… (next try in ${secs} s)` : 'Reconnecting…';
  } else if (connection === 'resyncing') {
    text = 'Catching up on missed messages…';
  } else if (connection === 'connecting' || connection === 'loading') {
    text = 'Connecting…';
  }
  return (
    <div className="ls-connection" role="status" aria-live="polite">
      {text}
      {connection === 'reconnecting' && onReconnectNow && (
        <>
          {' '}
          <button type="button" onClick={onReconnectNow}>
            Reconnect now
          </button>
        </>
      )}
    </div>
  );
}
