// Client-side mirror of the server's validation (API.md "Limits"), so the pre-chat form
// and the composer can say what is wrong before a round trip. The server stays the judge:
// its validation_failed errors are shown on the field they name. Messages are English
// unless a translator is given (the chat app passes the visitor's).

import { LIMITS } from './protocol';
import { english, type Translate } from './i18n/translate';

/** Length in Unicode scalar values, the way the server (Rust `chars().count()`) counts. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface PreChatInput {
  user_name: string;
  user_email: string;
  subject: string;
  message: string;
}

export type PreChatErrors = Partial<Record<keyof PreChatInput, string>>;

export function validateName(value: string, t: Translate = english): string | undefined {
  const n = charCount(value.trim());
  if (n === 0) return t('validation.nameRequired');
  if (n > LIMITS.nameMax) return t('validation.nameTooLong', { max: LIMITS.nameMax });
  return undefined;
}

export function validateEmail(value: string, t: Translate = english): string | undefined {
  const v = value.trim();
  if (v === '') return undefined; // optional
  if (charCount(v) > LIMITS.emailMax) return t('validation.emailTooLong', { max: LIMITS.emailMax });
  if (!EMAIL_RE.test(v)) return t('validation.emailInvalid');
  return undefined;
}

/** The email of a message left outside the hours (issue 18): the only way to answer it. */
export function validateRequiredEmail(value: string, t: Translate = english): string | undefined {
  const v = value.trim();
  if (v === '') return t('offline.emailRequired');
  if (charCount(v) > LIMITS.emailMax) return t('validation.emailTooLong', { max: LIMITS.emailMax });
  if (!EMAIL_RE.test(v)) return t('offline.emailInvalid');
  return undefined;
}

export function validateSubject(value: string, t: Translate = english): string | undefined {
  const n = charCount(value.trim());
  if (n === 0) return t('validation.subjectRequired');
  if (n > LIMITS.subjectMax) return t('validation.subjectTooLong', { max: LIMITS.subjectMax });
  return undefined;
}

/** Chat message text; `optional` for the pre-chat form's first message. */
export function validateMessageText(value: string, optional = false, t: Translate = english): string | undefined {
  const n = charCount(value.trim());
  if (n === 0) return optional ? undefined : t('validation.messageEmpty');
  if (n > LIMITS.messageMax) return t('validation.messageTooLong', { max: LIMITS.messageMax, count: n });
  return undefined;
}

export function validatePreChat(input: PreChatInput, t: Translate = english): PreChatErrors {
  const errors: PreChatErrors = {};
  const name = validateName(input.user_name, t);
  const email = validateEmail(input.user_email, t);
  const subject = validateSubject(input.subject, t);
  const message = validateMessageText(input.message, true, t);
  if (name) errors.user_name = name;
  if (email) errors.user_email = email;
  if (subject) errors.subject = subject;
  if (message) errors.message = message;
  return errors;
}

export function hasErrors(errors: PreChatErrors): boolean {
  return Object.keys(errors).length > 0;
}
