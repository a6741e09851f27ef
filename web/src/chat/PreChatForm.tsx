// Presenter: the pre-chat form. Field values and the "submitted" flag are local UI
// state; the rules are the shared validation (the server's limits), and errors the
// server returns for a field are shown on that field.

import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { LIMITS } from '../shared/protocol';
import {
  hasErrors,
  validatePreChat,
  type PreChatErrors,
  type PreChatInput,
} from '../shared/validation';
import { useI18n } from '../shared/i18n/context';

export interface PreChatFormProps {
  greeting: string;
  /** Below the greeting: how soon agents reply, or that nobody is in (issue 18). */
  notes?: ReactNode;
  submitting: boolean;
  serverErrors: PreChatErrors;
  formError: string | null;
  onSubmit: (input: PreChatInput) => void;
  /** Name and email of the visitor's last chat. */
  initial?: { user_name: string; user_email: string } | null;
}

const EMPTY: PreChatInput = { user_name: '', user_email: '', subject: '', message: '' };

export function PreChatForm({ greeting, notes, submitting, serverErrors, formError, onSubmit, initial }: PreChatFormProps) {
  const { t } = useI18n();
  const [input, setInput] = useState<PreChatInput>(() => ({ ...EMPTY, ...(initial ?? {}) }));
  // Errors show from the first submit on, never on blur: an error appearing on blur
  // moves the button away under the pointer and the click that caused the blur is lost.
  const [submitted, setSubmitted] = useState(false);
  const ids = { name: useId(), email: useId(), subject: useId(), message: useId() };

  const local = validatePreChat(input, t);
  const errorFor = (field: keyof PreChatInput): string | undefined =>
    (submitted ? local[field] : undefined) ?? serverErrors[field];

  const change = (field: keyof PreChatInput) => (value: string) => setInput((prev) => ({ ...prev, [field]: value }));

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setSubmitted(true);
    if (hasErrors(local)) {
      const first = (['user_name', 'user_email', 'subject', 'message'] as const).find((f) => local[f]);
      if (first) document.getElementById(ids[first === 'user_name' ? 'name' : first === 'user_email' ? 'email' : first])?.focus();
      return;
    }
    onSubmit(input);
  };

  const field = (
    key: keyof PreChatInput,
    id: string,
    label: string,
    opts: { type?: string; required?: boolean; max: number; multiline?: boolean; autoComplete?: string },
  ) => {
    const error = errorFor(key);
    const errId = `${id}-error`;
    const common = {
      id,
      value: input[key],
      required: opts.required,
      'aria-invalid': error ? true : undefined,
      'aria-describedby': error ? errId : undefined,
      maxLength: opts.max * 2,
    } as const;
    return (
      <div className="ls-field">
        <label htmlFor={id}>
          {label}
          {!opts.required && <span className="ls-optional"> {t('prechat.optional')}</span>}
        </label>
        {opts.multiline ? (
          <textarea {...common} rows={3} onChange={(e) => change(key)(e.target.value)} />
        ) : (
          <input
            {...common}
            type={opts.type ?? 'text'}
            autoComplete={opts.autoComplete}
            onChange={(e) => change(key)(e.target.value)}
          />
        )}
        {error && (
          <p id={errId} className="ls-field-error">
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <form className="ls-prechat" onSubmit={submit} noValidate aria-label={t('prechat.label')}>
      {/* The site's greeting is in the site's language, whatever the visitor's. */}
      <p className="ls-greeting" dir="auto">
        {greeting || t('prechat.greeting')}
      </p>
      {notes}
      {field('user_name', ids.name, t('prechat.name'), { required: true, max: LIMITS.nameMax, autoComplete: 'name' })}
      {field('user_email', ids.email, t('prechat.email'), { type: 'email', max: LIMITS.emailMax, autoComplete: 'email' })}
      {field('subject', ids.subject, t('prechat.subject'), { required: true, max: LIMITS.subjectMax })}
      {field('message', ids.message, t('prechat.message'), { max: LIMITS.messageMax, multiline: true })}
      {formError && (
        <p className="ls-form-error" role="alert">
          {formError}
        </p>
      )}
      <button type="submit" className="ls-primary" disabled={submitting}>
        {submitting ? t('prechat.starting') : t('prechat.start')}
      </button>
    </form>
  );
}
