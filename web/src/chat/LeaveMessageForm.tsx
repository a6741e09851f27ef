// Presenter: outside the business hours (issue 18) the visitor leaves a message
// instead of starting a chat: name, email (required, the only way to answer) and the
// message. The container sends it as a ticket; errors the server names show at the field.

import { useId, useState, type FormEvent } from 'react';
import { LIMITS } from '../shared/protocol';
import { validateMessageText, validateName, validateRequiredEmail } from '../shared/validation';
import { useI18n } from '../shared/i18n/context';

export interface LeftMessage {
  user_name: string;
  user_email: string;
  message: string;
}

export type LeftMessageErrors = Partial<Record<keyof LeftMessage, string>>;

export interface LeaveMessageFormProps {
  /** "We're away, back at 09:00". */
  awayText: string;
  /** The desk's own offline message; "" for none. */
  offlineMessage: string;
  submitting: boolean;
  serverErrors: LeftMessageErrors;
  formError: string | null;
  onSubmit: (input: LeftMessage) => void;
  initial?: { user_name: string; user_email: string } | null;
}

const FIELDS = ['user_name', 'user_email', 'message'] as const;

export function LeaveMessageForm(props: LeaveMessageFormProps) {
  const { t } = useI18n();
  const [input, setInput] = useState<LeftMessage>(() => ({ user_name: '', user_email: '', message: '', ...(props.initial ?? {}) }));
  const [submitted, setSubmitted] = useState(false);
  const ids = { user_name: useId(), user_email: useId(), message: useId() };

  const local: LeftMessageErrors = {};
  const name = validateName(input.user_name, t);
  const email = validateRequiredEmail(input.user_email, t);
  const message = input.message.trim() === '' ? t('offline.messageRequired') : validateMessageText(input.message, false, t);
  if (name) local.user_name = name;
  if (email) local.user_email = email;
  if (message) local.message = message;
  const errorFor = (key: keyof LeftMessage): string | undefined => (submitted ? local[key] : undefined) ?? props.serverErrors[key];

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setSubmitted(true);
    const first = FIELDS.find((f) => local[f]);
    if (first) {
      document.getElementById(ids[first])?.focus();
      return;
    }
    props.onSubmit(input);
  };

  const field = (key: keyof LeftMessage, label: string, opts: { type?: string; max: number; multiline?: boolean; autoComplete?: string }) => {
    const id = ids[key];
    const error = errorFor(key);
    const common = {
      id,
      value: input[key],
      required: true,
      'aria-invalid': error ? true : undefined,
      'aria-describedby': error ? `${id}-error` : undefined,
      maxLength: opts.max * 2,
      onChange: (e: { target: { value: string } }) => setInput((prev) => ({ ...prev, [key]: e.target.value })),
    } as const;
    return (
      <div className="ls-field">
        <label htmlFor={id}>{label}</label>
        {opts.multiline ? <textarea {...common} rows={4} /> : <input {...common} type={opts.type ?? 'text'} autoComplete={opts.autoComplete} />}
        {error && (
          <p id={`${id}-error`} className="ls-field-error">
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <form className="ls-prechat ls-leave-message" onSubmit={submit} noValidate aria-label={t('offline.label')}>
      <p className="ls-away" role="status">
        {props.awayText}
      </p>
      {/* The desk's own words are in the desk's language. */}
      <p className="ls-greeting" dir="auto">
        {props.offlineMessage || t('offline.intro')}
      </p>
      {field('user_name', t('prechat.name'), { max: LIMITS.nameMax, autoComplete: 'name' })}
      {field('user_email', t('prechat.email'), { type: 'email', max: LIMITS.emailMax, autoComplete: 'email' })}
      {field('message', t('prechat.message'), { max: LIMITS.messageMax, multiline: true })}
      {props.formError && (
        <p className="ls-form-error" role="alert">
          {props.formError}
        </p>
      )}
      <button type="submit" className="ls-primary" disabled={props.submitting}>
        {props.submitting ? t('offline.sending') : t('offline.send')}
      </button>
    </form>
  );
}

export function MessageLeft({ email }: { email: string }) {
  const { t } = useI18n();
  return (
    <section className="ls-ended ls-message-left" role="status" aria-labelledby="ls-left-title">
      <h2 id="ls-left-title">{t('offline.thanksTitle')}</h2>
      <p>{t('offline.thanksText', { email })}</p>
    </section>
  );
}
