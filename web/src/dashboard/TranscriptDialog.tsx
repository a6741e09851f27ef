// "Email transcript" in the chat header (issue 18): a button that opens a small dialog
// with the address, prefilled from the ticket's email, sent with
// `POST /api/support/tickets/{id}/transcript`. The answer is a queued outbox entry:
// "Transcript queued for …" stays next to the button. A 400 shows under the field;
// Escape or Cancel closes the dialog and gives the focus back to the button.

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { LIMITS } from '../shared/protocol';
import { validateEmail } from '../shared/validation';

export interface TranscriptDialogProps {
  /** The ticket's email, to start from (null: the visitor gave none). */
  defaultEmail: string | null;
  /** Queues the email; rejects with the server's error. */
  onSend: (email: string) => Promise<unknown>;
}

/** What a failed request means for the agent: at the field, or for the whole dialog. */
export function transcriptError(err: unknown): { field?: string; form?: string } {
  if (err instanceof ApiError && err.status === 400) return { field: err.message };
  if (err instanceof ApiError && err.status === 429) return { form: 'You asked for several transcripts already: try again later.' };
  if (err instanceof ApiError && err.status === 401) return { form: 'Your session has ended. Please sign in again.' };
  return { form: 'The transcript could not be queued. Try again.' };
}

export function TranscriptDialog({ defaultEmail, onSend }: TranscriptDialogProps) {
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState('');
  const [sending, setSending] = useState(false);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [queuedFor, setQueuedFor] = useState('');
  const titleId = useId();
  const inputId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);

  const show = (): void => {
    setEmail(defaultEmail ?? '');
    setFieldError(null);
    setFormError(null);
    setQueuedFor('');
    setOpen(true);
  };
  const close = (): void => {
    setOpen(false);
    button.current?.focus();
  };

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const address = email.trim();
    const invalid = address === '' ? 'Enter the address to send the transcript to.' : validateEmail(address);
    setFormError(null);
    if (invalid) {
      setFieldError(invalid);
      input.current?.focus();
      return;
    }
    setFieldError(null);
    setSending(true);
    try {
      await onSend(address);
      setQueuedFor(address);
      close();
    } catch (err) {
      const { field, form } = transcriptError(err);
      setFieldError(field ?? null);
      setFormError(form ?? null);
      if (field) input.current?.focus();
    } finally {
      setSending(false);
    }
  };

  const errorId = `${inputId}-error`;
  return (
    <div className="db-transcript">
      <button type="button" ref={button} aria-haspopup="dialog" aria-expanded={open} onClick={() => (open ? close() : show())}>
        Email transcript
      </button>
      <span className="db-settings-saved" role="status">
        {queuedFor ? `Transcript queued for ${queuedFor}.` : ''}
      </span>
      {open && (
        <div
          className="db-transcript-dialog"
          role="dialog"
          aria-labelledby={titleId}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              close();
            }
          }}
        >
          <form onSubmit={(e) => void submit(e)} noValidate>
            <h3 id={titleId}>Email the transcript</h3>
            <p className="db-muted">Every public message of this conversation; private notes stay out.</p>
            <label htmlFor={inputId}>Send to</label>
            <input
              id={inputId}
              ref={input}
              type="email"
              required
              autoComplete="off"
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
              <p id={errorId} className="db-field-error">
                {fieldError}
              </p>
            )}
            {formError && (
              <p className="db-field-error" role="alert">
                {formError}
              </p>
            )}
            <div className="db-transcript-actions">
              <button type="submit" className="db-primary" disabled={sending}>
                {sending ? 'Sending…' : 'Send transcript'}
              </button>
              <button type="button" onClick={close}>
                Cancel
              </button>
            </div>
          </form>
        </div>
      )}
    </div>
  );
}
