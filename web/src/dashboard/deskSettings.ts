// The desk's settings (admins), framework-free: loading and saving
// `GET/PUT /api/support/settings`, and the rules the form checks before sending
// (the server checks them again; its 400 names the field, shown next to it).
// Issue 18 adds business hours, the greeting, …: each becomes a section of the
// settings page and a few more fields here.

import { ApiError, type ApiClient } from '../shared/api';
import { AWAY_AFTER_MAX, AWAY_AFTER_MIN, MAX_CHATS_MAX, MAX_CHATS_MIN, type Settings } from '../shared/protocol';
import { Store } from '../shared/store';

export interface DeskSettingsState {
  /** null until loaded. */
  settings: Settings | null;
  loading: boolean;
  loadError: string | null;
}

/** What the routing form holds: numbers stay text until checked. */
export interface RoutingForm {
  assignment: Settings['assignment'];
  away_after_minutes: string;
}

export type SettingsField = keyof Settings;
export type SettingsErrors = Partial<Record<SettingsField | 'form', string>>;

/** A whole number from a form field, or null. */
function wholeNumber(text: string): number | null {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** Checks the routing form; returns the settings to send, or the errors per field. */
export function checkRouting(form: RoutingForm): { ok: true; settings: Settings } | { ok: false; errors: SettingsErrors } {
  const minutes = wholeNumber(form.away_after_minutes);
  if (minutes === null || minutes < AWAY_AFTER_MIN || minutes > AWAY_AFTER_MAX) {
    return { ok: false, errors: { away_after_minutes: `Enter a whole number of minutes from ${AWAY_AFTER_MIN} to ${AWAY_AFTER_MAX} (0 turns auto-away off).` } };
  }
  return { ok: true, settings: { assignment: form.assignment, away_after_minutes: minutes } };
}

/** Checks a max_chats field: the number, or the reason it cannot be sent. */
export function checkMaxChats(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const n = wholeNumber(text);
  if (n === null || n < MAX_CHATS_MIN || n > MAX_CHATS_MAX) {
    return { ok: false, error: `Enter a whole number from ${MAX_CHATS_MIN} to ${MAX_CHATS_MAX} (0: never assigned automatically).` };
  }
  return { ok: true, value: n };
}

/** Where a failed save's message goes: the field the server named, else the form. */
export function settingsErrors(err: unknown): SettingsErrors {
  if (err instanceof ApiError) {
    if (err.field === 'assignment' || err.field === 'away_after_minutes') return { [err.field]: err.message };
    if (err.status === 403) return { form: 'Only admins can change the settings.' };
    return { form: err.message };
  }
  return { form: 'Something went wrong.' };
}

export class DeskSettings {
  readonly store = new Store<DeskSettingsState>({ settings: null, loading: false, loadError: null });

  constructor(private readonly api: ApiClient) {}

  get state(): DeskSettingsState {
    return this.store.get();
  }

  async load(): Promise<void> {
    this.store.update({ loading: true, loadError: null });
    try {
      const settings = await this.api.getSettings();
      this.store.update({ settings, loading: false });
    } catch (err) {
      this.store.update({ loading: false, loadError: err instanceof ApiError ? err.message : 'The settings could not be loaded.' });
    }
  }

  /** Saves a change; rejects with the server's error (for settingsErrors). */
  async save(change: Partial<Settings>): Promise<Settings> {
    const settings = await this.api.updateSettings(change);
    this.store.update({ settings });
    return settings;
  }
}
