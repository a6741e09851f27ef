// Client-side mirror of the server's validation (API.md "Limits"), so the pre-chat form
// and the composer can say what is wrong before a round trip. The server stays the judge:
// its validation_failed errors are shown on the field they name.

import { LIMITS } from './protocol';

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

export function validateName(value: string): string | undefined {
  const n = charCount(value.trim());
  if (n === 0) return 'Please enter your name.';
  if (n > LIMITS.nameMax) return `Name must be at most ${LIMITS.nameMax} characters.`;
  return undefined;
}

export function validateEmail(value: string): string | undefined {
  const v = value.trim();
  if (v === '') return undefined; // optional
  if (charCount(v) > LIMITS.emailMax) return `Email must be at most ${LIMITS.emailMax} characters.`;
  if (!EMAIL_RE.test(v)) return 'Please enter a valid email address, or leave it empty.';
  return undefined;
}

export function validateSubject(value: string): string | undefined {
  const n = charCount(value.trim());
  if (n === 0) return 'Please tell us what this is about.';
  if (n > LIMITS.subjectMax) return `Subject must be at most ${LIMITS.subjectMax} characters.`;
  return undefined;
}

/** Chat message text; `optional` for the pre-chat form's first message. */
export function validateMessageText(value: string, optional = false): string | undefined {
  const n = charCount(value.trim());
  if (n === 0) return optional ? undefined : 'Message cannot be empty.';
  if (n > LIMITS.messageMax) return `Message must be at most ${LIMITS.messageMax} characters (now ${n}).`;
  return undefined;
}

export function validatePreChat(input: PreChatInput): PreChatErrors {
  const errors: PreChatErrors = {};
  const name = validateName(input.user_name);
  const email = validateEmail(input.user_email);
  const subject = validateSubject(input.subject);
  const message = validateMessageText(input.message, true);
  if (name) errors.user_name = name;
  if (email) errors.user_email = email;
  if (subject) errors.subject = subject;
  if (message) errors.message = message;
  return errors;
}

export function hasErrors(errors: PreChatErrors): boolean {
  return Object.keys(errors).length > 0;
}
