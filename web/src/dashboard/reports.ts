// The Reports page's state and wording (issue 19), framework-free: a range of days
// in a time zone, `GET /api/support/reports/summary` for it (an answer to an older
// range is dropped), and the helpers that turn the figures into text: durations as
// "1 min 20 s", the weekday × hour grid of `by_hour`. ReportsPage.tsx draws it.

import { ApiError, type ApiClient } from '../shared/api';
import type { ReportQuery, ReportSummary } from '../shared/reportTypes';
import { Store } from '../shared/store';

/** The longest range the server accepts, in days (API.md). */
export const MAX_RANGE_DAYS = 366;
/** The presets of the range picker: the last N days, today included. */
export const RANGE_PRESETS = [7, 30, 90] as const;
export const DEFAULT_RANGE_DAYS = 7;
/** Shown for a figure no ticket has (a null median, no ratings). */
export const NO_VALUE = '—';
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export const HOURS_PER_DAY = 24;

export type ReportField = 'from' | 'to' | 'tz';
export type ReportErrors = Partial<Record<ReportField | 'form', string>>;

export interface ReportsState {
  query: ReportQuery;
  /** The "last N days" preset the range follows (recomputed on each load, so a page
   * left open overnight moves with the days); null for a range of chosen dates. */
  preset: number | null;
  /** The answer for `query`; null until it comes (or after an error). */
  summary: ReportSummary | null;
  loading: boolean;
  errors: ReportErrors;
}

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Milliseconds of a valid `YYYY-MM-DD` at UTC midnight; null for anything else. */
function dayValue(day: string): number | null {
  const m = DAY_PATTERN.exec(day);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2026-02-31 over to March: a day that changes is no day.
  return new Date(ms).toISOString().slice(0, 10) === day ? ms : null;
}

export function addDays(day: string, days: number): string {
  const ms = dayValue(day);
  return ms === null ? day : new Date(ms + days * DAY_MS).toISOString().slice(0, 10);
}

/** Today's date in a time zone, as `YYYY-MM-DD`. */
export function todayIn(tz: string, now: Date = new Date()): string {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
    const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
    return `${part('year')}-${part('month')}-${part('day')}`;
  } catch {
    return now.toISOString().slice(0, 10); // a zone Intl does not know: UTC's day
  }
}

/** The last `days` days ending today in `tz`. */
export function lastDays(days: number, tz: string, now: Date = new Date()): { from: string; to: string } {
  const to = todayIn(tz, now);
  return { from: addDays(to, -(days - 1)), to };
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The zones to choose from: Intl's list where the browser has one, with UTC and `current` always in it. */
export function timeZoneChoices(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set(['UTC', current, ...known])].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}

/** What is wrong with a range before asking the server (which says the same with a 400). */
export function checkRange(from: string, to: string): ReportErrors {
  const start = dayValue(from);
  const end = dayValue(to);
  if (start === null) return { from: 'Enter the first day as a date.' };
  if (end === null) return { to: 'Enter the last day as a date.' };
  if (start > end) return { to: 'The last day cannot be before the first.' };
  if ((end - start) / DAY_MS + 1 > MAX_RANGE_DAYS) return { to: `Pick at most ${MAX_RANGE_DAYS} days.` };
  return {};
}

function describe(err: unknown): ReportErrors {
  if (err instanceof ApiError && err.code === 'validation_failed' && (err.field === 'from' || err.field === 'to' || err.field === 'tz')) return { [err.field]: err.message };
  return { form: err instanceof ApiError ? err.message : 'The report could not be loaded.' };
}

/** "1 min 20 s", "2 h 5 min", "3 d 4 h"; the two largest units, rounded to the second. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return NO_VALUE;
  const total = Math.max(0, Math.round(seconds));
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = total;
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n} ${name}`);
    if (parts.length === 2) break;
  }
  // "1 h 0 min" says no more than "1 h".
  const shown = parts.filter((p, i) => i === 0 || !p.startsWith('0 '));
  return shown.length === 0 ? '0 s' : shown.join(' ');
}

/** An average score such as 4.3; "—" without ratings. */
export function formatAverage(average: number | null): string {
  return average === null || !Number.isFinite(average) ? NO_VALUE : average.toFixed(1);
}

/** `by_hour` as a full 7 × 24 grid of counts (rows Monday to Sunday), and its largest count. */
export function hourGrid(byHour: ReportSummary['by_hour']): { counts: number[][]; max: number } {
  const counts = WEEKDAYS.map(() => new Array<number>(HOURS_PER_DAY).fill(0));
  let max = 0;
  for (const [weekday, hour, count] of byHour) {
    const row = counts[weekday];
    if (!row || hour < 0 || hour >= HOURS_PER_DAY) continue;
    row[hour] = count;
    max = Math.max(max, count);
  }
  return { counts, max };
}

/** The shade of a heatmap cell: 0 for none, then 1 to 4 by its share of the busiest hour. */
export function heatLevel(count: number, max: number): number {
  if (count <= 0 || max <= 0) return 0;
  return Math.min(4, Math.ceil((count / max) * 4));
}

export class Reports {
  readonly store: Store<ReportsState>;
  /** Answers to an older request (another range or zone) are dropped. */
  private request = 0;

  constructor(
    private readonly api: ApiClient,
    tz: string = browserTimeZone(),
    private readonly now: () => Date = () => new Date(),
  ) {
    const query = { ...lastDays(DEFAULT_RANGE_DAYS, tz, now()), tz };
    this.store = new Store<ReportsState>({ query, preset: DEFAULT_RANGE_DAYS, summary: null, loading: false, errors: {} });
  }

  get state(): ReportsState {
    return this.store.get();
  }

  /** Where "Download CSV" points: the same tickets, for the query shown. */
  csvUrl(): string {
    return this.api.reportCsvUrl(this.state.query);
  }

  /** The last `days` days, today included, in the zone shown. */
  choosePreset(days: number): Promise<void> {
    this.store.update({ preset: days });
    return this.load();
  }

  /** The summary for changed dates or zone (the current ones by default); a bad range is not sent. */
  async load(change: Partial<ReportQuery> = {}): Promise<void> {
    const preset = change.from !== undefined || change.to !== undefined ? null : this.state.preset;
    const merged = { ...this.state.query, ...change };
    const query = preset === null ? merged : { ...merged, ...lastDays(preset, merged.tz, this.now()) };
    const request = ++this.request;
    const errors = checkRange(query.from, query.to);
    if (Object.keys(errors).length > 0) {
      this.store.update({ query, preset, errors, loading: false });
      return;
    }
    this.store.update({ query, preset, loading: true, errors: {} });
    try {
      const summary = await this.api.getReportSummary(query);
      if (request !== this.request) return;
      this.store.update({ summary, loading: false });
    } catch (err) {
      if (request !== this.request) return;
      this.store.update({ summary: null, loading: false, errors: describe(err) });
    }
  }
}
