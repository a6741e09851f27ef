// The "Hours and messages" settings (issue 18), framework-free: the form the admin
// edits, built from the stored settings and turned back into the JSON of
// `PUT /api/support/settings`, with the checks the server makes again. The server's
// 400 names a part (`business_hours.weekly.mon`, `greeting`…): errors are keyed by
// that name, so each shows next to its own field.

import { ApiError } from '../shared/api';
import {
  DESK_TEXT_MAX,
  EMAIL_AFTER_MAX,
  EMAIL_AFTER_MIN,
  WEEKDAYS,
  type BusinessHours,
  type HoursRange,
  type Settings,
  type Weekday,
} from '../shared/protocol';

export const WEEKDAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

/** One opening range as the time inputs hold it; an end of "00:00" is midnight (sent as "24:00"). */
export interface RangeForm {
  start: string;
  end: string;
}

export interface HoursForm {
  /** `business_hours: null`. The ranges below are kept, for switching back. */
  alwaysOpen: boolean;
  timezone: string;
  weekly: Record<Weekday, RangeForm[]>;
  holidays: string[];
  greeting: string;
  offline_message: string;
  /** Text until checked. */
  email_after_minutes: string;
  csat: boolean;
}

/** Keys: the server's field names (`business_hours.weekly.mon`, `greeting`, …) and `form`. */
export type HoursErrors = Partial<Record<string, string>>;

/** What a desk without hours starts from when the admin turns "Always open" off. */
const DEFAULT_DAY: HoursRange[] = [['09:00', '17:00']];
const DEFAULT_EMAIL_AFTER = 5;
const MIDNIGHT_END = '24:00';
const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The browser's zone, the default for a desk without hours. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The IANA zones to choose from, with UTC and the current choice always among them. */
export function timeZoneChoices(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  const all = new Set(zones);
  all.add('UTC');
  if (current) all.add(current);
  return [...all].sort();
}

export function hoursFormFrom(settings: Settings, defaultZone: string = browserTimeZone()): HoursForm {
  const hours = settings.business_hours ?? null;
  const weekly = {} as Record<Weekday, RangeForm[]>;
  for (const day of WEEKDAYS) {
    const ranges = hours ? (hours.weekly[day] ?? []) : day === 'sat' || day === 'sun' ? [] : DEFAULT_DAY;
    weekly[day] = ranges.map(([start, end]) => ({ start, end: end === MIDNIGHT_END ? '00:00' : end }));
  }
  return {
    alwaysOpen: hours === null,
    timezone: hours?.timezone ?? defaultZone,
    weekly,
    holidays: [...(hours?.holidays ?? [])],
    greeting: settings.greeting ?? '',
    offline_message: settings.offline_message ?? '',
    email_after_minutes: String(settings.email_after_minutes ?? DEFAULT_EMAIL_AFTER),
    csat: settings.csat ?? true,
  };
}

/** Minutes since midnight; an end at "00:00" is the day's end. */
function minutes(time: string, isEnd: boolean): number {
  const [h, m] = time.split(':').map(Number);
  const n = h * 60 + m;
  return isEnd && n === 0 ? 24 * 60 : n;
}

function checkDay(ranges: readonly RangeForm[]): string | null {
  for (const r of ranges) {
    if (!TIME_RE.test(r.start) || !TIME_RE.test(r.end)) return 'Enter each time as HH:MM.';
    if (minutes(r.end, true) <= minutes(r.start, false)) return 'Each range must end after it starts (00:00 as the end is midnight).';
  }
  const sorted = [...ranges].sort((a, b) => minutes(a.start, false) - minutes(b.start, false));
  for (let i = 1; i < sorted.length; i += 1) {
    if (minutes(sorted[i].start, false) < minutes(sorted[i - 1].end, true)) return 'The ranges of a day must not overlap.';
  }
  return null;
}

/** Checks the form; returns the settings change to send, or the errors by field name. */
export function checkHours(form: HoursForm): { ok: true; change: Partial<Settings> } | { ok: false; errors: HoursErrors } {
  const errors: HoursErrors = {};
  let business_hours: BusinessHours | null = null;
  if (!form.alwaysOpen) {
    if (!form.timezone) errors['business_hours.timezone'] = 'Choose a time zone.';
    const weekly: BusinessHours['weekly'] = {};
    for (const day of WEEKDAYS) {
      const ranges = form.weekly[day];
      const problem = checkDay(ranges);
      if (problem) errors[`business_hours.weekly.${day}`] = problem;
      else if (ranges.length > 0) {
        weekly[day] = [...ranges]
          .sort((a, b) => minutes(a.start, false) - minutes(b.start, false))
          .map((r): HoursRange => [r.start, r.end === '00:00' ? MIDNIGHT_END : r.end]);
      }
    }
    if (form.holidays.some((d) => !DATE_RE.test(d))) errors['business_hours.holidays'] = 'Enter each holiday as a date.';
    business_hours = { timezone: form.timezone, weekly, holidays: [...new Set(form.holidays)].sort() };
  }
  for (const key of ['greeting', 'offline_message'] as const) {
    if (form[key].trim().length > DESK_TEXT_MAX) errors[key] = `At most ${DESK_TEXT_MAX} characters.`;
  }
  const after = /^\d+$/.test(form.email_after_minutes.trim()) ? Number(form.email_after_minutes.trim()) : NaN;
  if (!(after >= EMAIL_AFTER_MIN && after <= EMAIL_AFTER_MAX)) {
    errors.email_after_minutes = `Enter a whole number of minutes from ${EMAIL_AFTER_MIN} to ${EMAIL_AFTER_MAX}.`;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    change: { business_hours, greeting: form.greeting.trim(), offline_message: form.offline_message.trim(), email_after_minutes: after, csat: form.csat },
  };
}

const HOURS_FIELDS = /^(business_hours(\.(timezone|holidays|weekly\.(mon|tue|wed|thu|fri|sat|sun)))?|greeting|offline_message|email_after_minutes|csat)$/;

/** Where a failed save's message goes: the part the server named, else the form. */
export function hoursErrors(err: unknown): HoursErrors {
  if (err instanceof ApiError) {
    if (err.field && HOURS_FIELDS.test(err.field)) return { [err.field]: err.message };
    if (err.status === 403) return { form: 'Only admins can change the settings.' };
    return { form: err.message };
  }
  return { form: 'Something went wrong.' };
}
