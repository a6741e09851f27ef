// Issue 18 in the settings page: the "Hours and messages" editor builds the JSON of
// PUT /api/support/settings, checks it first, and shows the server's 400 next to the
// part it names.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../shared/api';
import type { Settings } from '../shared/protocol';
import { fakeFetch } from '../test/fakeFetch';
import { checkHours, hoursFormFrom, timeZoneChoices } from './businessHours';
import { DeskSettings } from './deskSettings';
import { HoursSection } from './HoursSection';

const BASE: Settings = { assignment: 'auto', away_after_minutes: 10, business_hours: null, greeting: '', offline_message: '', email_after_minutes: 5, csat: true };

function setup(initial: Settings, putError?: { field: string; message: string }) {
  let stored = initial;
  const { fetch, calls } = fakeFetch([
    ({ method, url, body }) => {
      if (url.pathname !== '/api/support/settings') return undefined;
      if (method === 'GET') return { status: 200, body: stored };
      if (putError) return { status: 400, body: { error: { code: 'validation_failed', message: putError.message, field: putError.field } } };
      stored = { ...stored, ...(body as Partial<Settings>) };
      return { status: 200, body: stored };
    },
  ]);
  const settings = new DeskSettings(new ApiClient({ fetch }));
  void settings.load();
  render(<HoursSection id="hours" settings={settings} />);
  return { calls, puts: () => calls.filter((c) => c.method === 'PUT') };
}

describe('the hours form model', () => {
  it('keeps 24:00 as an end of 00:00 both ways, sorts ranges, and leaves closed days out', () => {
    const form = hoursFormFrom({ ...BASE, business_hours: { timezone: 'Europe/Berlin', weekly: { mon: [['13:30', '24:00'], ['09:00', '12:30']] }, holidays: ['2026-12-26', '2026-12-25'] } });
    expect(form.alwaysOpen).toBe(false);
    expect(form.weekly.mon).toEqual([{ start: '13:30', end: '00:00' }, { start: '09:00', end: '12:30' }]);
    expect(form.weekly.tue).toEqual([]);
    const checked = checkHours(form);
    expect(checked).toEqual({
      ok: true,
      change: {
        business_hours: { timezone: 'Europe/Berlin', weekly: { mon: [['09:00', '12:30'], ['13:30', '24:00']] }, holidays: ['2026-12-25', '2026-12-26'] },
        greeting: '',
        offline_message: '',
        email_after_minutes: 5,
        csat: true,
      },
    });
  });

  it('refuses backward and overlapping ranges and an email delay out of range, by field name', () => {
    const form = hoursFormFrom({ ...BASE, business_hours: { timezone: 'UTC', weekly: {}, holidays: [] } });
    form.weekly.mon = [{ start: '10:00', end: '09:00' }];
    form.weekly.tue = [{ start: '09:00', end: '12:00' }, { start: '11:00', end: '13:00' }];
    form.email_after_minutes = '0';
    const checked = checkHours(form);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(Object.keys(checked.errors).sort()).toEqual(['business_hours.weekly.mon', 'business_hours.weekly.tue', 'email_after_minutes']);
  });

  it('always offers UTC and the current zone', () => {
    expect(timeZoneChoices('Mars/Olympus')).toContain('UTC');
    expect(timeZoneChoices('Mars/Olympus')).toContain('Mars/Olympus');
  });
});

describe('the Hours and messages section', () => {
  it('starts "Always open"; turned off it edits ranges and holidays and saves the JSON', async () => {
    const { puts } = setup(BASE);
    const always = (await screen.findByRole('switch', { name: 'Always open' })) as HTMLInputElement;
    expect(always.checked).toBe(true);
    expect(screen.queryByLabelText('Time zone')).toBeNull();
    fireEvent.click(always);
    fireEvent.change(screen.getByLabelText('Time zone'), { target: { value: 'Europe/Berlin' } });
    // Monday to Friday start 09:00–17:00; the weekend is closed.
    const monday = screen.getByRole('group', { name: 'Monday' });
    fireEvent.change(within(monday).getByLabelText('Monday range 1 until'), { target: { value: '12:30' } });
    fireEvent.click(within(monday).getByRole('button', { name: 'Add a range on Monday' }));
    fireEvent.change(within(monday).getByLabelText('Monday range 2 from'), { target: { value: '13:30' } });
    fireEvent.change(within(monday).getByLabelText('Monday range 2 until'), { target: { value: '17:30' } });
    fireEvent.click(screen.getByRole('button', { name: 'Remove Wednesday range 1' }));
    fireEvent.click(screen.getByRole('button', { name: 'Add a range on Sunday' }));
    fireEvent.change(screen.getByLabelText('Sunday range 1 until'), { target: { value: '00:00' } });
    fireEvent.change(screen.getByLabelText('Holiday date'), { target: { value: '2026-12-25' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add holiday' }));
    fireEvent.change(screen.getByLabelText(/^Greeting/), { target: { value: ' Hi! Ask us anything. ' } });
    fireEvent.change(screen.getByLabelText(/^Email an unanswered visitor/), { target: { value: '15' } });
    fireEvent.click(screen.getByLabelText('Ask visitors to rate the conversation'));
    fireEvent.click(screen.getByRole('button', { name: 'Save hours and messages' }));
    expect(await screen.findByText('Hours and messages saved.')).toBeTruthy();
    expect(puts()).toHaveLength(1);
    expect(puts()[0].body).toEqual({
      business_hours: {
        timezone: 'Europe/Berlin',
        weekly: {
          mon: [['09:00', '12:30'], ['13:30', '17:30']],
          tue: [['09:00', '17:00']],
          thu: [['09:00', '17:00']],
          fri: [['09:00', '17:00']],
          sun: [['09:00', '24:00']],
        },
        holidays: ['2026-12-25'],
      },
      greeting: 'Hi! Ask us anything.',
      offline_message: '',
      email_after_minutes: 15,
      csat: false,
    });
    // Back to always open: business_hours null.
    fireEvent.click(screen.getByRole('switch', { name: 'Always open' }));
    fireEvent.click(screen.getByRole('button', { name: 'Save hours and messages' }));
    await waitFor(() => expect(puts()).toHaveLength(2));
    expect((puts()[1].body as Settings).business_hours).toBeNull();
  });

  it('shows the server\'s 400 next to the day it names', async () => {
    setup({ ...BASE, business_hours: { timezone: 'UTC', weekly: { mon: [['09:00', '17:00']] }, holidays: [] } }, { field: 'business_hours.weekly.mon', message: 'business_hours.weekly.mon: ranges overlap' });
    fireEvent.click(await screen.findByRole('button', { name: 'Save hours and messages' }));
    const monday = screen.getByRole('group', { name: 'Monday' });
    expect(await within(monday).findByText('business_hours.weekly.mon: ranges overlap')).toBeTruthy();
    expect(within(monday).getByLabelText('Monday range 1 from').getAttribute('aria-invalid')).toBe('true');
    expect(within(screen.getByRole('group', { name: 'Tuesday' })).queryByRole('alert')).toBeNull();
  });

  it('checks locally first: nothing is sent for a range that ends before it starts', async () => {
    const { puts } = setup({ ...BASE, business_hours: { timezone: 'UTC', weekly: { fri: [['09:00', '17:00']] }, holidays: [] } });
    fireEvent.change(await screen.findByLabelText('Friday range 1 until'), { target: { value: '08:00' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save hours and messages' }));
    expect(within(screen.getByRole('group', { name: 'Friday' })).getByRole('alert').textContent).toMatch(/end after it starts/);
    expect(puts()).toHaveLength(0);
  });
});
