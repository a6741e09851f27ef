// The settings page's "Webhooks" section (issue 19, admins): the webhooks with their
// events, a form to add one (URL and events), the new webhook's signing secret shown
// once with a copy button, deleting with a confirmation, and each webhook's delivery
// log (WebhookDeliveries.tsx). The state lives in webhooks.ts; the secret only here,
// until the admin closes its notice.

import { useEffect, useId, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { formatDateTime } from '../shared/format';
import { WEBHOOK_EVENTS, type CreatedWebhook, type Webhook, type WebhookEvent } from '../shared/webhookTypes';
import { WebhookDeliveries } from './WebhookDeliveries';
import { WEBHOOK_URL_MAX, checkWebhook, webhookErrors, type WebhookErrors, type Webhooks } from './webhooks';

const EVENT_HINTS: Readonly<Record<WebhookEvent, string>> = {
  'ticket.created': 'a new conversation',
  'ticket.updated': 'status, priority, agent or labels changed',
  'message.created': 'a message the visitor sees',
  'note.created': 'a private note (internal text)',
  'rating.created': 'the visitor rated the conversation',
};

export const SECRET_NOTICE = 'This secret is shown only once. Copy it now and keep it with the receiver: it signs every delivery (X-Livesupport-Signature).';

export function WebhooksSection({ id, webhooks }: { id: string; webhooks: Webhooks }) {
  const state = useSyncExternalStore(webhooks.store.subscribe, webhooks.store.get);
  const [created, setCreated] = useState<CreatedWebhook | null>(null);
  const [openLog, setOpenLog] = useState<number | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<number | null>(null);
  const [status, setStatus] = useState('');
  const [deleteError, setDeleteError] = useState<string | null>(null);
  useEffect(() => {
    void webhooks.load();
  }, [webhooks]);

  const remove = async (w: Webhook): Promise<void> => {
    setDeleteError(null);
    try {
      await webhooks.remove(w.id);
      setStatus(`Deleted the webhook to ${w.url}.`);
      if (openLog === w.id) setOpenLog(null);
      if (created?.id === w.id) setCreated(null);
    } catch (err) {
      setDeleteError(err instanceof ApiError ? err.message : 'The webhook could not be deleted.');
    } finally {
      setConfirmDelete(null);
    }
  };

  const list = state.webhooks ?? [];
  return (
    <section id={id} aria-labelledby={`${id}-title`} className="db-settings-section db-webhooks">
      <h3 id={`${id}-title`}>Webhooks</h3>
      <p className="db-muted">Each event is sent as a signed POST to the URL, retried until the receiver answers 2xx.</p>
      {state.error && (
        <p className="db-field-error" role="alert">
          {state.error}
        </p>
      )}
      {created && <SecretNotice webhook={created} onDone={() => setCreated(null)} />}
      <p className="db-muted" role="status">
        {status || (state.webhooks === null ? (state.loading ? 'Loading…' : '') : list.length === 0 ? 'No webhooks yet.' : '')}
      </p>
      {deleteError && (
        <p className="db-field-error" role="alert">
          {deleteError}
        </p>
      )}
      <ul className="db-webhook-list" aria-label="Webhooks">
        {list.map((w) => {
          const logId = `${id}-log-${w.id}`;
          return (
            <li key={w.id}>
              <div className="db-webhook-head">
                <div>
                  <strong className="db-webhook-url">{w.url}</strong>
                  <span className="db-webhook-events">
                    {w.events.map((e) => (
                      <span key={e} className="db-badge">
                        {e}
                      </span>
                    ))}
                  </span>
                  <span className="db-muted"> added {formatDateTime(w.created_at)}</span>
                </div>
                {confirmDelete === w.id ? (
                  <span role="group" aria-label={`Confirm deleting the webhook to ${w.url}`} className="db-webhook-actions">
                    <button type="button" className="db-danger" onClick={() => void remove(w)}>
                      Yes, delete
                    </button>
                    <button type="button" onClick={() => setConfirmDelete(null)}>
                      Cancel
                    </button>
                  </span>
                ) : (
                  <span className="db-webhook-actions">
                    <button type="button" aria-expanded={openLog === w.id} aria-controls={openLog === w.id ? logId : undefined} aria-label={`Deliveries to ${w.url}`} onClick={() => setOpenLog(openLog === w.id ? null : w.id)}>
                      Deliveries
                    </button>
                    <button type="button" aria-label={`Delete the webhook to ${w.url}`} onClick={() => setConfirmDelete(w.id)}>
                      Delete
                    </button>
                  </span>
                )}
              </div>
              {openLog === w.id && <WebhookDeliveries id={logId} log={webhooks.deliveries(w.id)} url={w.url} />}
            </li>
          );
        })}
      </ul>
      <WebhookFormView
        webhooks={webhooks}
        onCreated={(c) => {
          setCreated(c);
          setStatus('');
        }}
      />
    </section>
  );
}

function SecretNotice({ webhook, onDone }: { webhook: CreatedWebhook; onDone: () => void }) {
  const [copied, setCopied] = useState('');
  const titleId = useId();
  const inputId = useId();
  const copyButton = useRef<HTMLButtonElement>(null);
  useEffect(() => copyButton.current?.focus(), []);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(webhook.secret);
      setCopied('Copied.');
    } catch {
      setCopied('Copying failed: select the secret and copy it.');
    }
  };
  return (
    <div className="db-webhook-secret" role="region" aria-labelledby={titleId}>
      <p id={titleId}>
        <strong>Webhook added:</strong> {webhook.url}
      </p>
      <p>
        <label htmlFor={inputId}>Signing secret</label>{' '}
        <input id={inputId} className="db-webhook-secret-value" type="text" readOnly value={webhook.secret} spellCheck={false} onFocus={(e) => e.target.select()} />{' '}
        <button type="button" ref={copyButton} onClick={() => void copy()}>
          Copy secret
        </button>{' '}
        <span role="status">{copied}</span>
      </p>
      <p className="db-webhook-once">{SECRET_NOTICE}</p>
      <button type="button" onClick={onDone}>
        I have saved it
      </button>
    </div>
  );
}

function WebhookFormView({ webhooks, onCreated }: { webhooks: Webhooks; onCreated: (webhook: CreatedWebhook) => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<readonly WebhookEvent[]>([]);
  const [errors, setErrors] = useState<WebhookErrors>({});
  const [saving, setSaving] = useState(false);
  const urlId = useId();
  const eventsId = useId();
  const urlInput = useRef<HTMLInputElement>(null);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const checked = checkWebhook({ url, events });
    if (!checked.ok) {
      setErrors(checked.errors);
      if (checked.errors.url) urlInput.current?.focus();
      return;
    }
    setSaving(true);
    setErrors({});
    try {
      onCreated(await webhooks.create(checked.body));
      setUrl('');
      setEvents([]);
    } catch (err) {
      setErrors(webhookErrors(err));
    } finally {
      setSaving(false);
    }
  };

  const toggle = (event: WebhookEvent, on: boolean): void => {
    setEvents(on ? [...events, event] : events.filter((x) => x !== event));
    setErrors({ ...errors, events: undefined });
  };

  return (
    <form className="db-webhook-form" aria-label="Add a webhook" onSubmit={(e) => void submit(e)} noValidate>
      <h4>Add a webhook</h4>
      <div className="db-field">
        <label htmlFor={urlId}>URL</label>
        <input
          ref={urlInput}
          id={urlId}
          type="url"
          inputMode="url"
          placeholder="https://crm.example.com/hooks/chat"
          maxLength={WEBHOOK_URL_MAX}
          value={url}
          aria-invalid={errors.url ? true : undefined}
          aria-describedby={errors.url ? `${urlId}-error` : undefined}
          onChange={(e) => {
            setUrl(e.target.value);
            setErrors({ ...errors, url: undefined });
          }}
        />
        {errors.url && (
          <p id={`${urlId}-error`} className="db-field-error" role="alert">
            {errors.url}
          </p>
        )}
      </div>
      <fieldset aria-describedby={errors.events ? `${eventsId}-error` : undefined}>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((event) => (
          <label key={event} className="db-radio">
            <input type="checkbox" checked={events.includes(event)} onChange={(e) => toggle(event, e.target.checked)} />{' '}
            <span>
              <code>{event}</code> <span className="db-muted">{EVENT_HINTS[event]}</span>
            </span>
          </label>
        ))}
        {errors.events && (
          <p id={`${eventsId}-error`} className="db-field-error" role="alert">
            {errors.events}
          </p>
        )}
      </fieldset>
      {errors.form && (
        <p className="db-field-error" role="alert">
          {errors.form}
        </p>
      )}
      <button type="submit" className="db-primary" disabled={saving}>
        Add webhook
      </button>
    </form>
  );
}
