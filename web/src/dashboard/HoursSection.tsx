// The settings page's "Hours and messages" section (issue 18): the desk's time zone,
// each weekday's opening ranges (none: closed), holidays, "Always open" (no hours),
// the greeting and offline message the widget shows, when unanswered visitors get an
// email, and whether visitors are asked to rate a conversation. The rules and the JSON
// live in businessHours.ts; a 400 from the server shows next to the part it names.

import { useId, useMemo, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { DESK_TEXT_MAX, EMAIL_AFTER_MAX, EMAIL_AFTER_MIN, WEEKDAYS, type Weekday } from '../shared/protocol';
import { checkHours, hoursErrors, hoursFormFrom, timeZoneChoices, WEEKDAY_NAMES, type HoursErrors, type HoursForm } from './businessHours';
import type { DeskSettings } from './deskSettings';

function FieldError({ id, error }: { id: string; error: string | undefined }) {
  if (!error) return null;
  return (
    <p id={id} className="db-field-error" role="alert">
      {error}
    </p>
  );
}

export function HoursSection({ id, settings }: { id: string; settings: DeskSettings }) {
  const state = useSyncExternalStore(settings.store.subscribe, settings.store.get);
  const [form, setForm] = useState<HoursForm | null>(null);
  const [errors, setErrors] = useState<HoursErrors>({});
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState('');
  const [holiday, setHoliday] = useState('');
  const ids = { zone: useId(), greeting: useId(), offline: useId(), after: useId(), holiday: useId(), always: useId(), csat: useId() };
  const current: HoursForm | null = form ?? (state.settings ? hoursFormFrom(state.settings) : null);
  const zones = useMemo(() => timeZoneChoices(current?.timezone ?? ''), [current?.timezone]);

  if (current === null) {
    return (
      <section id={id} aria-labelledby={`${id}-title`} className="db-settings-section">
        <h3 id={`${id}-title`}>Hours and messages</h3>
        <p className="db-muted">{state.loading ? 'Loading…' : ''}</p>
      </section>
    );
  }

  const edit = (change: Partial<HoursForm>): void => {
    setForm({ ...current, ...change });
    setStatus('');
  };
  const editDay = (day: Weekday, ranges: HoursForm['weekly'][Weekday]): void => edit({ weekly: { ...current.weekly, [day]: ranges } });
  const describedBy = (key: string, errId: string): { 'aria-invalid'?: true; 'aria-describedby'?: string } =>
    errors[key] ? { 'aria-invalid': true, 'aria-describedby': errId } : {};

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const checked = checkHours(current);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setSaving(true);
    setErrors({});
    setStatus('');
    try {
      const saved = await settings.save(checked.change);
      setForm(hoursFormFrom(saved, current.timezone));
      setStatus('Hours and messages saved.');
    } catch (err) {
      setErrors(hoursErrors(err));
    } finally {
      setSaving(false);
    }
  };

  const addHoliday = (): void => {
    if (!holiday || current.holidays.includes(holiday)) return;
    edit({ holidays: [...current.holidays, holiday].sort() });
    setHoliday('');
  };

  const hoursPart: ReactNode = (
    <>
      <div className="db-field">
        <label htmlFor={ids.zone}>Time zone</label>
        <select id={ids.zone} value={current.timezone} onChange={(e) => edit({ timezone: e.target.value })} {...describedBy('business_hours.timezone', `${ids.zone}-error`)}>
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
        <FieldError id={`${ids.zone}-error`} error={errors['business_hours.timezone']} />
      </div>
      <p className="db-muted">A day without ranges is closed. An end of 00:00 is midnight.</p>
      {WEEKDAYS.map((day) => {
        const name = WEEKDAY_NAMES[day];
        const ranges = current.weekly[day];
        const errKey = `business_hours.weekly.${day}`;
        const errId = `${id}-${day}-error`;
        return (
          <fieldset key={day} className="db-hours-day" aria-describedby={errors[errKey] ? errId : undefined}>
            <legend>{name}</legend>
            {ranges.length === 0 && <span className="db-muted">Closed</span>}
            {ranges.map((r, i) => (
              <span key={i} className="db-hours-range">
                <input
                  type="time"
                  aria-label={`${name} range ${i + 1} from`}
                  value={r.start}
                  onChange={(e) => editDay(day, ranges.map((x, j) => (j === i ? { ...x, start: e.target.value } : x)))}
                  {...describedBy(errKey, errId)}
                />
                {' – '}
                <input
                  type="time"
                  aria-label={`${name} range ${i + 1} until`}
                  value={r.end}
                  onChange={(e) => editDay(day, ranges.map((x, j) => (j === i ? { ...x, end: e.target.value } : x)))}
                  {...describedBy(errKey, errId)}
                />{' '}
                <button type="button" aria-label={`Remove ${name} range ${i + 1}`} onClick={() => editDay(day, ranges.filter((_, j) => j !== i))}>
                  ×
                </button>
              </span>
            ))}
            <button
              type="button"
              aria-label={`Add a range on ${name}`}
              onClick={() => editDay(day, [...ranges, ranges.length ? { start: ranges[ranges.length - 1].end, end: '00:00' } : { start: '09:00', end: '17:00' }])}
            >
              + Range
            </button>
            <FieldError id={errId} error={errors[errKey]} />
          </fieldset>
        );
      })}
      <fieldset className="db-hours-holidays" aria-describedby={errors['business_hours.holidays'] ? `${ids.holiday}-error` : undefined}>
        <legend>Holidays (closed all day)</legend>
        <ul>
          {current.holidays.map((d) => (
            <li key={d}>
              {d}{' '}
              <button type="button" aria-label={`Remove holiday ${d}`} onClick={() => edit({ holidays: current.holidays.filter((x) => x !== d) })}>
                ×
              </button>
            </li>
          ))}
        </ul>
        <label htmlFor={ids.holiday}>Holiday date</label>{' '}
        <input id={ids.holiday} type="date" value={holiday} onChange={(e) => setHoliday(e.target.value)} />{' '}
        <button type="button" onClick={addHoliday} disabled={!holiday}>
          Add holiday
        </button>
        <FieldError id={`${ids.holiday}-error`} error={errors['business_hours.holidays']} />
      </fieldset>
    </>
  );

  return (
    <section id={id} aria-labelledby={`${id}-title`} className="db-settings-section">
      <h3 id={`${id}-title`}>Hours and messages</h3>
      <form onSubmit={(e) => void save(e)} aria-label="Hours and messages" noValidate>
        <div className="db-field">
          <label htmlFor={ids.always} className="db-radio">
            <input id={ids.always} type="checkbox" role="switch" checked={current.alwaysOpen} onChange={(e) => edit({ alwaysOpen: e.target.checked })} {...describedBy('business_hours', `${ids.always}-error`)} /> Always open
          </label>
          <FieldError id={`${ids.always}-error`} error={errors.business_hours} />
        </div>
        {!current.alwaysOpen && hoursPart}
        <div className="db-field">
          <label htmlFor={ids.greeting}>Greeting (empty: the widget's own words)</label>
          <textarea id={ids.greeting} rows={2} maxLength={DESK_TEXT_MAX * 2} value={current.greeting} onChange={(e) => edit({ greeting: e.target.value })} {...describedBy('greeting', `${ids.greeting}-error`)} />
          <FieldError id={`${ids.greeting}-error`} error={errors.greeting} />
        </div>
        <div className="db-field">
          <label htmlFor={ids.offline}>Offline message (outside the hours)</label>
          <textarea id={ids.offline} rows={2} maxLength={DESK_TEXT_MAX * 2} value={current.offline_message} onChange={(e) => edit({ offline_message: e.target.value })} {...describedBy('offline_message', `${ids.offline}-error`)} />
          <FieldError id={`${ids.offline}-error`} error={errors.offline_message} />
        </div>
        <div className="db-field">
          <label htmlFor={ids.after}>Email an unanswered visitor after (minutes)</label>
          <input
            id={ids.after}
            type="number"
            inputMode="numeric"
            min={EMAIL_AFTER_MIN}
            max={EMAIL_AFTER_MAX}
            value={current.email_after_minutes}
            onChange={(e) => edit({ email_after_minutes: e.target.value })}
            {...describedBy('email_after_minutes', `${ids.after}-error`)}
          />
          <FieldError id={`${ids.after}-error`} error={errors.email_after_minutes} />
        </div>
        <div className="db-field">
          <label htmlFor={ids.csat} className="db-radio">
            <input id={ids.csat} type="checkbox" checked={current.csat} onChange={(e) => edit({ csat: e.target.checked })} {...describedBy('csat', `${ids.csat}-error`)} /> Ask visitors to rate the conversation
          </label>
          <FieldError id={`${ids.csat}-error`} error={errors.csat} />
        </div>
        <FieldError id={`${id}-form-error`} error={errors.form} />
        <button type="submit" className="db-primary" disabled={saving}>
          Save hours and messages
        </button>{' '}
        <span className="db-settings-saved" role="status">
          {status}
        </span>
      </form>
    </section>
  );
}
