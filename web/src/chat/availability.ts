// What the visitor reads about the desk's availability (issue 18): how soon agents
// usually reply, and, outside the business hours, when they are back, in the
// VISITOR's own time zone and locale (the desk's zone would mislead a visitor abroad).
// Also the subject of a message left outside the hours. Framework-free, tested alone.

import type { Availability } from '../shared/protocol';
import type { Translate } from '../shared/i18n/translate';

/** How the chat app starts: the live chat, a pre-chat form, or the leave-a-message form. */
export type Entry = 'chat' | 'leave-message';

/** Outside the hours nobody answers a chat: the visitor leaves a message instead. */
export function entryFor(availability: Availability | null): Entry {
  return availability?.reason === 'outside_hours' ? 'leave-message' : 'chat';
}

/** "Usually replies in N min", rounded up; null without data or while nobody is in. */
export function replyTimeText(availability: Availability | null, t: Translate): string | null {
  if (!availability?.online || availability.typical_reply_seconds === null) return null;
  const minutes = Math.ceil(availability.typical_reply_seconds / 60);
  return minutes <= 1 ? t('avail.replyInAMinute') : t('avail.replyIn', { minutes });
}

function dayKey(date: Date, timeZone: string | undefined): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

/**
 * "We're away, back at 09:00", with the day's name when the opening is not today,
 * both in the visitor's zone (`timeZone` undefined: the browser's) and locale.
 */
export function awayText(nextOpenAt: string | null, t: Translate, opts: { locale?: string; timeZone?: string; now?: Date } = {}): string {
  const next = nextOpenAt ? new Date(nextOpenAt) : null;
  if (!next || Number.isNaN(next.getTime())) return t('avail.away');
  const { locale, timeZone } = opts;
  const now = opts.now ?? new Date();
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(next);
  if (dayKey(next, timeZone) === dayKey(now, timeZone)) return t('avail.awayAt', { time });
  const day = new Intl.DateTimeFormat(locale, { timeZone, weekday: 'long' }).format(next);
  return t('avail.awayDayAt', { day, time });
}

/** A left message's subject (**decision**): its first line, cut at about 60 characters on a word. */
export const LEFT_MESSAGE_SUBJECT_MAX = 60;

export function subjectOf(message: string): string {
  const line = message.trim().split(/\r?\n/)[0].trim();
  if (line.length <= LEFT_MESSAGE_SUBJECT_MAX) return line;
  const cut = line.slice(0, LEFT_MESSAGE_SUBJECT_MAX - 1);
  // A word that ends right at the cut stays whole.
  const space = line[cut.length] === ' ' ? cut.length : cut.lastIndexOf(' ');
  return `${(space > LEFT_MESSAGE_SUBJECT_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
