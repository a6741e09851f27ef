// "Email me the transcript" on the chat's end screen (issue 18): a link-like button
// that opens a small form, the email prefilled from the ticket (editable, required),
// sent with `POST /api/support/ticket/{session_id}/transcript`. A 400 shows at the
// field, a 429 says the visitor asked often already, anything else asks to retry.

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { LIMITS } from '../shared/protocol';
import { validateRequiredEmail } from '../shared/validation';
import { useI18n } from '../shared/i18n/context';

export interface TranscriptRequestProps {
  /** The ticket's email, to start from ("" when the visitor gave none). */
  initialEmail: string;
  /** Queues the email; rejects with the server's error. */
  onSend: (email: string) => Promise<void>;
}

type Phase = 'closed' | 'open' | 'sending' | 'sent';

export function TranscriptRequest({ initialEmail, onSend }: TranscriptRequestProps) {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>('closed');
  const [email, setEmail] = useState(initialEmail);
  const [sentTo, setSentTo] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const inputId = useId();
  const titleId = useId();
  const input = useRef<HTMLInputElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const closing = useRef(false);

  useEffect(() => {
    if (phase === 'open' && !fieldError && !formError) input.current?.focus();
    if (phase === 'closed' && closing.current) {
      closing.current = false;
      opener.current?.focus();
    }
  }, [phase, fieldError, formError]);

  if (phase === 'closed') {
    return (
      <div className="ls-transcript">
        <button type="button" className="ls-link" ref={opener} onClick={() => setPhase('open')}>
          {t('transcript.open')}
        </button>
      </div>
    );
  }

  if (phase === 'sent') {
    return (
      <p className="ls-transcript ls-transcript-sent" role="status">
        {t('transcript.sent', { email: sentTo })}
      </p>
    );
  }

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const address = email.trim();
    const invalid = address === '' ? t('transcript.emailRequired') : validateRequiredEmail(address, t);
    setFormError(null);
    if (invalid) {
      setFieldError(invalid);
      input.current?.focus();
      return;
    }
    setFieldError(null);
    setPhase('sending');
    try {
      await onSend(address);
      setSentTo(address);
      setPhase('sent');
    } catch (err) {
      setPhase('open');
      if (err instanceof ApiError && err.status === 400) {
        setFieldError(err.message);
        input.current?.focus();
      } else if (err instanceof ApiError && err.status === 429) {
        setFormError(t('transcript.tooMany'));
      } else {
        setFormError(t('transcript.failed'));
      }
    }
  };

  const cancel = (): void => {
    closing.current = true;
    setFieldError(null);
    setFormError(null);
    setPhase('closed');
  };

  const errorId = `${inputId}-error`;
  return (
    <form
      className="ls-transcript ls-transcript-form"
      aria-labelledby={titleId}
      noValidate
      onSubmit={(e) => void submit(e)}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          // The widget's Escape minimises the panel: here it only closes the form.
          e.stopPropagation();
          cancel();
        }
      }}
    >
      <h2 id={titleId}>{t('transcript.label')}</h2>
      <label htmlFor={inputId}>{t('prechat.email')}</label>
      <input
        id={inputId}
        ref={input}
        type="email"
        autoComplete="email"
        required
        maxLength={LIMITS.emailMax * 2}
        value={email}
        aria-invalid={fieldError ? true : undefined}
        aria-describedby={fieldError ? errorId : undefined}
        onChange={(e) => {
          setEmail(e.target.value);
          setFieldError(null);
        }}
      />
      {fieldError && (
        <p id={errorId} className="ls-field-error">
          {fieldError}
        </p>
      )}
      {formError && (
        <p className="ls-form-error" role="alert">
          {formError}
        </p>
      )}
      <div className="ls-transcript-actions">
        <button type="submit" className="ls-primary" disabled={phase === 'sending'}>
          {phase === 'sending' ? t('transcript.sending') : t('transcript.send')}
        </button>
        <button type="button" onClick={cancel}>
          {t('chat.cancel')}
        </button>
      </div>
    </form>
  );
}
