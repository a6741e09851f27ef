// Issue 19's Reports page: the figures of a summary, "—" for what no ticket has, a new
// request for each range or zone, the CSV link, the errors; and the wording helpers.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiClient, type FetchLike } from '../shared/api';
import type { ReportSummary } from '../shared/reportTypes';
import { fakeFetch } from '../test/fakeFetch';
import { ReportsPage } from './ReportsPage';
import { Reports, addDays, checkRange, formatDuration, heatLevel, hourGrid, lastDays, timeZoneChoices, todayIn } from './reports';

/** Noon UTC on a Monday: the same day in Berlin and in UTC. */
const NOW = new Date('2026-12-07T12:00:00Z');

function summary(overrides: Partial<ReportSummary> = {}): ReportSummary {
  return {
    from: '2026-12-01',
    to: '2026-12-07',
    tz: 'Europe/Berlin',
    tickets_created: 120,
    tickets_resolved: 97,
    first_response_seconds: { median: 42, p90: 310 },
    queue_wait_seconds: { median: 12, p90: null },
    resolution_seconds: { median: 1800, p90: 7200 },
    csat: { average: 4.3, count: 40, distribution: { '1': 1, '2': 2, '3': 3, '4': 10, '5': 24 } },
    by_hour: [
      [0, 9, 14],
      [0, 10, 11],
      [6, 23, 1],
    ],
    by_agent: [
      { agent_id: 3, name: 'Alice', tickets: 40, first_response_seconds: { median: 35 }, csat_average: 4.5 },
      { agent_id: 4, name: 'Bob', tickets: 2, first_response_seconds: { median: null }, csat_average: null },
    ],
    ...overrides,
  };
}

type Answer = { status: number; body: unknown };

function setup(answer: (q: URLSearchParams) => Answer = () => ({ status: 200, body: summary() })) {
  const { fetch, calls } = fakeFetch([({ method, url }) => (method === 'GET' && url.pathname === '/api/support/reports/summary' ? answer(url.searchParams) : undefined)]);
  let now = NOW;
  const reports = new Reports(new ApiClient({ fetch }), 'Europe/Berlin', () => now);
  render(<ReportsPage reports={reports} onClose={() => {}} />);
  const summaries = () => calls.filter((c) => c.path.startsWith('/api/support/reports/summary')).map((c) => c.path);
  return { summaries, reports, setNow: (at: Date) => (now = at) };
}

const cells = (row: HTMLElement): string[] => within(row).getAllByRole('cell').map((c) => c.textContent ?? '');
const rowOf = (table: HTMLElement, name: string): HTMLElement => within(table).getByRole('row', { name: new RegExp(`^${name}`) });

describe('the Reports page', () => {
  it('asks for the last 7 days in the browser\'s zone and shows the counts, times, CSAT, hours and agents', async () => {
    const { summaries } = setup();
    const dialog = screen.getByRole('dialog', { name: 'Reports' });
    expect(await within(dialog).findByText('Tickets created from 2026-12-01 to 2026-12-07 (Europe/Berlin)')).toBeTruthy();
    expect(summaries()).toEqual(['/api/support/reports/summary?from=2026-12-01&to=2026-12-07&tz=Europe%2FBerlin']);
    expect(within(dialog).getByRole('button', { name: 'Last 7 days' }).getAttribute('aria-pressed')).toBe('true');

    const tile = (name: string): string | null | undefined => within(dialog).getByText(name, { selector: 'dt' }).nextElementSibling?.textContent;
    expect(tile('Tickets created')).toBe('120');
    expect(tile('Tickets resolved')).toBe('97');
    expect(tile('Average rating')).toBe('4.3 of 5');
    expect(tile('Ratings')).toBe('40');

    const times = within(dialog).getByRole('table', { name: 'Response times' });
    expect(cells(rowOf(times, 'First response'))).toEqual(['42 s', '5 min 10 s']);
    expect(cells(rowOf(times, 'Queue wait'))).toEqual(['12 s', '—']);
    expect(cells(rowOf(times, 'Resolution'))).toEqual(['30 min', '2 h']);

    const ratings = within(dialog).getByRole('table', { name: 'Ratings by score' });
    expect(['1', '2', '3', '4', '5'].map((s) => cells(rowOf(ratings, `${s} of 5`))[0])).toEqual(['1', '2', '3', '10', '24']);
    // The chart itself: one bar per score.
    expect(within(dialog).getByRole('figure', { name: 'Ratings by score' }).querySelectorAll('.recharts-bar-rectangle')).toHaveLength(5);

    const heatmap = within(dialog).getByRole('table', { name: 'Tickets created by weekday and hour' });
    const monday = cells(rowOf(heatmap, 'Monday'));
    expect(monday).toHaveLength(24);
    expect([monday[9], monday[10], monday[11]]).toEqual(['14', '11', '']);
    expect(cells(rowOf(heatmap, 'Sunday'))[23]).toBe('1');
    expect(within(heatmap).getAllByRole('cell').filter((c) => c.textContent !== '')).toHaveLength(3);

    const agents = within(dialog).getByRole('table', { name: 'Tickets by agent' });
    expect(cells(rowOf(agents, 'Alice'))).toEqual(['40', '35 s', '4.5']);
    expect(cells(rowOf(agents, 'Bob'))).toEqual(['2', '—', '—']);
  });

  it('asks again when the range, a preset or the zone changes, and links the CSV of what is shown', async () => {
    const { summaries } = setup((q) => ({ status: 200, body: summary({ from: q.get('from')!, to: q.get('to')!, tz: q.get('tz')! }) }));
    const dialog = screen.getByRole('dialog', { name: 'Reports' });
    await within(dialog).findByText(/Tickets created from/);
    const csv = () => within(dialog).getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    expect(csv()).toBe('/api/support/reports/tickets.csv?from=2026-12-01&to=2026-12-07&tz=Europe%2FBerlin');

    fireEvent.click(within(dialog).getByRole('button', { name: 'Last 30 days' }));
    await waitFor(() => expect(summaries()).toHaveLength(2));
    expect(summaries()[1]).toBe('/api/support/reports/summary?from=2026-11-08&to=2026-12-07&tz=Europe%2FBerlin');
    expect(within(dialog).getByRole('button', { name: 'Last 30 days' }).getAttribute('aria-pressed')).toBe('true');

    fireEvent.change(within(dialog).getByLabelText('From'), { target: { value: '2026-11-20' } });
    await waitFor(() => expect(summaries()).toHaveLength(3));
    expect(summaries()[2]).toBe('/api/support/reports/summary?from=2026-11-20&to=2026-12-07&tz=Europe%2FBerlin');

    fireEvent.change(within(dialog).getByLabelText('Time zone'), { target: { value: 'UTC' } });
    await waitFor(() => expect(summaries()).toHaveLength(4));
    expect(summaries()[3]).toBe('/api/support/reports/summary?from=2026-11-20&to=2026-12-07&tz=UTC');
    expect(await within(dialog).findByText('Tickets created from 2026-11-20 to 2026-12-07 (UTC)')).toBeTruthy();
    expect(csv()).toBe('/api/support/reports/tickets.csv?from=2026-11-20&to=2026-12-07&tz=UTC');
  });

  it('moves "last 7 days" with the days when asked again later, but not a range of chosen dates', async () => {
    const { summaries, reports, setNow } = setup();
    const dialog = screen.getByRole('dialog', { name: 'Reports' });
    await within(dialog).findByText(/Tickets created from/);
    setNow(new Date('2026-12-09T12:00:00Z'));
    await reports.load();
    expect(summaries()[1]).toBe('/api/support/reports/summary?from=2026-12-03&to=2026-12-09&tz=Europe%2FBerlin');
    fireEvent.change(within(dialog).getByLabelText('To'), { target: { value: '2026-12-08' } });
    await waitFor(() => expect(summaries()).toHaveLength(3));
    expect(within(dialog).getByRole('button', { name: 'Last 7 days' }).getAttribute('aria-pressed')).toBe('false');
    setNow(new Date('2026-12-20T12:00:00Z'));
    await reports.load();
    expect(summaries()[3]).toBe('/api/support/reports/summary?from=2026-12-03&to=2026-12-08&tz=Europe%2FBerlin');
  });

  it('does not send a range that ends before it starts, and shows it under the field', async () => {
    const { summaries } = setup();
    const dialog = screen.getByRole('dialog', { name: 'Reports' });
    await within(dialog).findByText(/Tickets created from/);
    fireEvent.change(within(dialog).getByLabelText('To'), { target: { value: '2026-11-01' } });
    const error = await within(dialog).findByText('The last day cannot be before the first.');
    expect(within(dialog).getByLabelText('To').getAttribute('aria-describedby')).toBe(error.id);
    expect(summaries()).toHaveLength(1);
    expect(within(dialog).queryByRole('link', { name: 'Download CSV' })).toBeNull();
  });

  it('says when no ticket was created, and hides the figures about them', async () => {
    setup(() => ({
      status: 200,
      body: summary({
        tickets_created: 0,
        tickets_resolved: 3,
        first_response_seconds: { median: null, p90: null },
        csat: { average: null, count: 0, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 } },
        by_hour: [],
        by_agent: [],
      }),
    }));
    const dialog = screen.getByRole('dialog', { name: 'Reports' });
    expect(await within(dialog).findByText('No tickets were created in this range.')).toBeTruthy();
    expect(within(dialog).queryByRole('table')).toBeNull();
    expect(within(dialog).getByText('Tickets resolved', { selector: 'dt' }).nextElementSibling?.textContent).toBe('3');
  });

  it('shows the server\'s error: a bad zone under its field, anything else for the page', async () => {
    let answer: Answer = { status: 400, body: { error: { code: 'validation_failed', message: 'tz is not a known time zone', field: 'tz' } } };
    setup(() => answer);
    const dialog = screen.getByRole('dialog', { name: 'Reports' });
    const error = await within(dialog).findByText('tz is not a known time zone');
    expect(within(dialog).getByLabelText('Time zone').getAttribute('aria-describedby')).toBe(error.id);
    answer = { status: 503, body: { error: { code: 'unavailable', message: 'The service is busy; try again.' } } };
    fireEvent.click(within(dialog).getByRole('button', { name: 'Last 30 days' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('The service is busy; try again.');
    expect(within(dialog).queryByText('Tickets created', { selector: 'dt' })).toBeNull();
  });

  it('keeps only the answer to the latest request', async () => {
    const pending: ((a: Answer) => void)[] = [];
    // Every answer is given by hand, in the other order.
    const slow: FetchLike = () => new Promise((resolve) => pending.push((a) => resolve(new Response(JSON.stringify(a.body), { status: a.status }))));
    const reports = new Reports(new ApiClient({ fetch: slow }), 'UTC', () => NOW);
    const first = reports.load();
    const second = reports.load({ tz: 'Europe/Berlin' });
    pending[1]!({ status: 200, body: summary({ tz: 'Europe/Berlin', tickets_created: 2 }) });
    pending[0]!({ status: 200, body: summary({ tz: 'UTC', tickets_created: 1 }) });
    await Promise.all([first, second]);
    expect(reports.state.summary?.tickets_created).toBe(2);
  });
});

describe('the reports\' wording', () => {
  it('words durations with their two largest units, and null as "—"', () => {
    const cases: [number | null, string][] = [
      [null, '—'],
      [0, '0 s'],
      [42.4, '42 s'],
      [80, '1 min 20 s'],
      [600, '10 min'],
      [3_600, '1 h'],
      [3_725, '1 h 2 min'],
      [90_000, '1 d 1 h'],
      [172_800, '2 d'],
    ];
    for (const [seconds, text] of cases) expect(formatDuration(seconds), `${seconds}`).toBe(text);
  });

  it('counts days in the chosen zone', () => {
    const lateEvening = new Date('2026-12-07T23:30:00Z');
    expect(todayIn('UTC', lateEvening)).toBe('2026-12-07');
    expect(todayIn('Europe/Berlin', lateEvening)).toBe('2026-12-08');
    expect(lastDays(7, 'Europe/Berlin', lateEvening)).toEqual({ from: '2026-12-02', to: '2026-12-08' });
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(timeZoneChoices('Mars/Olympus')).toEqual(expect.arrayContaining(['UTC', 'Mars/Olympus']));
    expect(timeZoneChoices('Mars/Olympus')[0]).toBe('UTC');
  });

  it('checks a range as the server does', () => {
    expect(checkRange('2026-12-01', '2026-12-07')).toEqual({});
    expect(checkRange('2026-02-31', '2026-03-07').from).toBeTruthy();
    expect(checkRange('2026-12-01', '').to).toBeTruthy();
    expect(checkRange('2025-01-01', '2026-01-01')).toEqual({}); // 366 days
    expect(checkRange('2025-01-01', '2026-01-02').to).toBe('Pick at most 366 days.');
  });

  it('shades the hour grid by share of the busiest hour', () => {
    const { counts, max } = hourGrid([
      [2, 5, 8],
      [9, 5, 3], // no such weekday: ignored
    ]);
    expect(max).toBe(8);
    expect(counts[2]![5]).toBe(8);
    expect(counts.flat().reduce((a, b) => a + b, 0)).toBe(8);
    expect([0, 1, 2, 4, 6, 8].map((n) => heatLevel(n, 8))).toEqual([0, 1, 1, 2, 3, 4]);
  });
});
