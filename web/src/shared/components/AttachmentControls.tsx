// Presenters for sending a file: the paperclip button (with its hidden file input),
// and the tray above the message box showing the file waiting to be sent: its
// preview, the upload's progress with Cancel, or what went wrong with Retry.

import { useRef } from 'react';
import { useI18n } from '../i18n/context';
import type { AttachmentDraftState } from '../attachments/draft';
import { problemText } from '../attachments/problemText';
import { formatSize } from '../attachments/format';
import { FileCard } from './MessageAttachments';

export function AttachButton({ onFile, disabled = false }: { onFile: (file: File) => void; disabled?: boolean }) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="ls-attach" aria-label={t('attach.button')} title={t('attach.button')} disabled={disabled} onClick={() => input.current?.click()}>
        <svg aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20">
          <path
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
            strokeLinecap="round"
            strokeLinejoin="round"
            d="M21.4 11.1l-9.2 9.2a6 6 0 01-8.5-8.5l9.2-9.2a4 4 0 015.7 5.7l-9.2 9.2a2 2 0 01-2.8-2.8l8.5-8.5"
          />
        </svg>
      </button>
      <input
        ref={input}
        type="file"
        hidden
        tabIndex={-1}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = ''; // the same file may be chosen again
          if (file) onFile(file);
        }}
      />
    </>
  );
}

export interface AttachmentTrayProps {
  state: AttachmentDraftState;
  onCancel: () => void;
  onRetry: () => void;
  onDismiss: () => void;
}

/** What a chat view gets to offer files: the draft's state and its actions. */
export interface AttachmentProps extends AttachmentTrayProps {
  onFile: (file: File) => void;
}

export function AttachmentTray({ state, onCancel, onRetry, onDismiss }: AttachmentTrayProps) {
  const { t, tag } = useI18n();
  const { file, phase, problem } = state;
  if (!file) {
    if (!problem) return null;
    return (
      <div className="ls-tray ls-tray-problem" role="alert">
        <span>{problemText(problem, t, tag)}</span>{' '}
        <button type="button" onClick={onDismiss} aria-label={t('chat.dismissNotice')}>
          ×
        </button>
      </div>
    );
  }
  const name = file.name || 'file';
  const percent = Math.round(state.progress * 100);
  return (
    <div className="ls-tray" role="group" aria-label={t('attach.pendingLabel')}>
      <div className="ls-tray-file">
        {state.previewUrl ? (
          <span className="ls-tray-image">
            <img className="ls-tray-thumb" src={state.previewUrl} alt={name} />
            <span className="ls-tray-name" dir="auto">
              {name} · {formatSize(file.size, tag)}
            </span>
          </span>
        ) : (
          <FileCard attachment={{ filename: name, content_type: file.type || 'application/octet-stream', size: file.size }} />
        )}
      </div>
      {phase === 'uploading' && (
        <div className="ls-tray-progress">
          <progress max={100} value={percent} aria-label={t('attach.uploading', { name })} />
          <span aria-hidden="true">{percent} %</span>
        </div>
      )}
      {phase === 'failed' && problem && (
        <p className="ls-tray-error" role="alert">
          {problemText(problem, t, tag)}
        </p>
      )}
      <div className="ls-tray-actions">
        {phase === 'failed' && state.retryable && (
          <button type="button" onClick={onRetry}>
            {t('messages.retry')}
          </button>
        )}
        <button type="button" onClick={onCancel}>
          {phase === 'uploading' ? t('attach.cancelUpload') : t('chat.cancel')}
        </button>
      </div>
    </div>
  );
}
