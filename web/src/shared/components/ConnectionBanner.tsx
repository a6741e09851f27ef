// Presenter: tells the person when the live connection is not there.

import type { ConnectionView } from '../conversation';
import { useI18n } from '../i18n/context';

export interface ConnectionBannerProps {
  connection: ConnectionView;
  retryInMs: number | null;
  onReconnectNow?: () => void;
}

export function ConnectionBanner({ connection, retryInMs, onReconnectNow }: ConnectionBannerProps) {
  const { t } = useI18n();
  let text: string | null = null;
  if (connection === 'reconnecting') {
    const secs = retryInMs !== null ? Math.ceil(retryInMs / 1000) : null;
    text = secs ? t('connection.reconnectingIn', { seconds: secs }) : t('connection.reconnecting');
  } else if (connection === 'resyncing') {
    text = t('connection.resyncing');
  } else if (connection === 'connecting' || connection === 'loading') {
    text = t('connection.connecting');
  }
  return (
    <div className="ls-connection" role="status" aria-live="polite">
      {text}
      {connection === 'reconnecting' && onReconnectNow && (
        <>
          {' '}
          <button type="button" onClick={onReconnectNow}>
            {t('connection.reconnectNow')}
          </button>
        </>
      )}
    </div>
  );
}
