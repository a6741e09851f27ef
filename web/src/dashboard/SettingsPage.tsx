// Admins' settings page (a dialog from the top bar), in sections: Routing (how
// waiting chats reach agents, auto-away), Team (each agent's status, open chats of
// max, and editing max_chats), Hours and messages (issue 18, HoursSection.tsx), the
// Email outbox (issue 18, OutboxSection.tsx) and Webhooks (issue 19, WebhooksSection.tsx).
// Each form checks its fields before sending; the server's 400 is shown under the
// field it names.

import { useEffect, useId, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { AWAY_AFTER_MAX, MAX_CHATS_MAX, type Agent, type AssignmentMode } from '../shared/protocol';
import { checkMaxChats, checkRouting, settingsErrors, type DeskSettings, type RoutingForm, type SettingsErrors } from './deskSettings';
import { AGENT_STATUS_LABELS, statusOf } from './presence';
import { StatusDot } from './PresenceViews';
import { HoursSection } from './HoursSection';
import { OutboxSection } from './OutboxSection';
import type { Outbox } from './outbox';
import { WebhooksSection } from './WebhooksSection';
import type { Webhooks } from './webhooks';

export interface SettingsPageProps {
  settings: DeskSettings;
  agents: readonly Agent[];
  onSaveMaxChats: (agentId: number, maxChats: number) => Promise<void>;
  onClose: () => void;
  /** The email outbox (issue 18); no section without it. */
  outbox?: Outbox;
  /** The webhooks (issue 19); no section without them. */
  webhooks?: Webhooks;
}

const SECTIONS = [
  { id: 'routing', title: 'Routing' },
  { id: 'team', title: 'Team' },
  { id: 'hours', title: 'Hours and messages' },
  { id: 'outbox', title: 'Email outbox' },
  { id: 'webhooks', title: 'Webhooks' },
] as const;

export function SettingsPage({ settings, agents, onSaveMaxChats, onClose, outbox, webhooks }: SettingsPageProps) {
  const titleId = useId();
  const prefix = useId();
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    void settings.load();
    closeButton.current?.focus();
  }, [settings]);
  return (
    <div
      className="db-settings db-settings-page"
      role="dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="db-settings-head">
        <h2 id={titleId}>Settings</h2>
        <button type="button" ref={closeButton} onClick={onClose}>
          Close
        </button>
      </div>
      <nav aria-label="Settings sections" className="db-settings-nav">
        {SECTIONS.filter((s) => (s.id !== 'outbox' || outbox) && (s.id !== 'webhooks' || webhooks)).map((s) => (
          <a key={s.id} href={`#${prefix}-${s.id}`}>
            {s.title}
          </a>
        ))}
      </nav>
      <RoutingSection id={`${prefix}-routing`} settings={settings} />
      <TeamSection id={`${prefix}-team`} agents={agents} onSaveMaxChats={onSaveMaxChats} />
      <HoursSection id={`${prefix}-hours`} settings={settings} />
      {outbox && <OutboxSection id={`${prefix}-outbox`} outbox={outbox} />}
      {webhooks && <WebhooksSection id={`${prefix}-webhooks`} webhooks={webhooks} />}
    </div>
  );
}

function RoutingSection({ id, settings }: { id: string; settings: DeskSettings }) {
  const state = useSyncExternalStore(settings.store.subscribe, settings.store.get);
  const [form, setForm] = useState<RoutingForm | null>(null);
  const [errors, setErrors] = useState<SettingsErrors>({});
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState('');
  const minutesId = useId();
  // The form starts from the stored settings once they arrive.
  const current: RoutingForm | null =
    form ?? (state.settings ? { assignment: state.settings.assignment, away_after_minutes: String(state.settings.away_after_minutes) } : null);

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!current) return;
    const checked = checkRouting(current);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setSaving(true);
    setErrors({});
    setStatus('');
    try {
      const saved = await settings.save(checked.settings);
      setForm({ assignment: saved.assignment, away_after_minutes: String(saved.away_after_minutes) });
      setStatus('Routing settings saved.');
    } catch (err) {
      setErrors(settingsErrors(err));
    } finally {
      setSaving(false);
    }
  };

  const minutesError = errors.away_after_minutes;
  return (
    <section id={id} aria-labelledby={`${id}-title`} className="db-settings-section">
      <h3 id={`${id}-title`}>Routing</h3>
      {state.loadError && (
        <p className="db-field-error" role="alert">
          {state.loadError}
        </p>
      )}
      {current === null ? (
        <p className="db-muted">{state.loading ? 'Loading…' : ''}</p>
      ) : (
        <form onSubmit={(e) => void save(e)} aria-label="Routing settings" noValidate>
          <fieldset aria-describedby={errors.assignment ? `${id}-assignment-error` : undefined}>
            <legend>Assignment of waiting chats</legend>
            {(['auto', 'manual'] as const satisfies readonly AssignmentMode[]).map((mode) => (
              <label key={mode} className="db-radio">
                <input
                  type="radio"
                  name={`${id}-assignment`}
                  value={mode}
                  checked={current.assignment === mode}
                  onChange={() => setForm({ ...current, assignment: mode })}
                />{' '}
                {mode === 'auto' ? 'Automatic: each waiting chat goes to the online agent with the most room' : 'Manual: chats wait in the queue until an agent takes one'}
              </label>
            ))}
            {errors.assignment && (
              <p id={`${id}-assignment-error`} className="db-field-error" role="alert">
                {errors.assignment}
              </p>
            )}
          </fieldset>
          <div className="db-field">
            <label htmlFor={minutesId}>Away after inactivity (minutes, 0 = never)</label>
            <input
              id={minutesId}
              type="number"
              inputMode="numeric"
              min={0}
              max={AWAY_AFTER_MAX}
              value={current.away_after_minutes}
              aria-invalid={minutesError ? true : undefined}
              aria-describedby={minutesError ? `${minutesId}-error` : undefined}
              onChange={(e) => setForm({ ...current, away_after_minutes: e.target.value })}
            />
            {minutesError && (
              <p id={`${minutesId}-error`} className="db-field-error" role="alert">
                {minutesError}
              </p>
            )}
          </div>
          {errors.form && (
            <p className="db-field-error" role="alert">
              {errors.form}
            </p>
          )}
          <button type="submit" className="db-primary" disabled={saving}>
            Save routing
          </button>{' '}
          <span className="db-settings-saved" role="status">
            {status}
          </span>
        </form>
      )}
    </section>
  );
}

function TeamSection({ id, agents, onSaveMaxChats }: { id: string; agents: readonly Agent[]; onSaveMaxChats: (agentId: number, maxChats: number) => Promise<void> }) {
  return (
    <section id={id} aria-labelledby={`${id}-title`} className="db-settings-section">
      <h3 id={`${id}-title`}>Team</h3>
      <p className="db-muted">Automatic assignment gives an online agent a chat while their open chats are below their maximum (0 to {MAX_CHATS_MAX}; 0: never).</p>
      <ul className="db-team">
        {agents.map((a) => (
          <TeamRow key={a.id} agent={a} onSave={onSaveMaxChats} />
        ))}
      </ul>
    </section>
  );
}

function TeamRow({ agent, onSave }: { agent: Agent; onSave: (agentId: number, maxChats: number) => Promise<void> }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState('');
  const inputId = useId();
  const status = statusOf(agent);
  const value = text ?? (agent.max_chats === undefined ? '' : String(agent.max_chats));

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const checked = checkMaxChats(value);
    if (!checked.ok) {
      setError(checked.error);
      return;
    }
    setSaving(true);
    setError(null);
    setSaved('');
    try {
      await onSave(agent.id, checked.value);
      setText(null);
      setSaved('Saved.');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The change could not be saved.');
    } finally {
      setSaving(false);
    }
  };

  return (
    <li className={agent.disabled ? 'db-team-disabled' : undefined}>
      <div className="db-team-who">
        <StatusDot status={status} decorative /> <strong>{agent.name}</strong>{' '}
        <span className="db-muted">
          {AGENT_STATUS_LABELS[status]}
          {agent.role === 'admin' ? ' · admin' : ''}
          {agent.disabled ? ' · disabled' : ''}
        </span>
      </div>
      <div className="db-team-load">
        {agent.open_chats ?? 0} open {agent.open_chats === 1 ? 'chat' : 'chats'} of {agent.max_chats ?? '–'}
      </div>
      <form className="db-team-form" onSubmit={(e) => void save(e)} noValidate>
        <label htmlFor={inputId}>Max chats for {agent.name}</label>
        <input
          id={inputId}
          type="number"
          inputMode="numeric"
          min={0}
          max={MAX_CHATS_MAX}
          value={value}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${inputId}-error` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
            setSaved('');
          }}
        />
        <button type="submit" disabled={saving} aria-label={`Save max chats for ${agent.name}`}>
          Save
        </button>
        <span role="status" className="db-settings-saved">
          {saved}
        </span>
        {error && (
          <p id={`${inputId}-error`} className="db-field-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </li>
  );
}
