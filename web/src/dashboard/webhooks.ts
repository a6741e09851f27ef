// The admins' webhooks (issue 19), framework-free: the list (`GET
// /api/support/webhooks`), adding one (its answer carries the signing secret, which is
// handed to the caller and never kept here), deleting one, and each webhook's
// delivery log, newest first, a page at a time ("Load more" passes `next_before`).
// WebhooksSection.tsx and WebhookDeliveries.tsx draw it.

import { ApiError, type ApiClient } from '../shared/api';
import { Store } from '../shared/store';
import { WEBHOOK_EVENTS, type CreatedWebhook, type DeliveryPage, type Webhook, type WebhookBody, type WebhookDelivery, type WebhookEvent } from '../shared/webhookTypes';

/** Deliveries per page (the API allows 1 to 200). */
export const DELIVERY_PAGE_SIZE = 50;
/** The longest URL the server takes (API.md). */
export const WEBHOOK_URL_MAX = 2048;

export interface WebhookForm {
  url: string;
  events: readonly WebhookEvent[];
}
export type WebhookErrors = Partial<Record<'url' | 'events' | 'form', string>>;

export interface WebhooksState {
  /** null until the first answer. */
  webhooks: Webhook[] | null;
  loading: boolean;
  error: string | null;
}

export interface DeliveryLogState {
  deliveries: WebhookDelivery[];
  /** The next page's `before`; null: no more. */
  nextBefore: number | null;
  loading: boolean;
  error: string | null;
}

function describe(err: unknown, what: string): string {
  if (err instanceof ApiError && err.status === 403) return 'Only admins can manage webhooks.';
  return err instanceof ApiError ? err.message : `${what} could not be loaded.`;
}

/** What is wrong with the form before sending it (the server checks the rest, such as private addresses). */
export function checkWebhook(form: WebhookForm): { ok: true; body: WebhookBody } | { ok: false; errors: WebhookErrors } {
  const url = form.url.trim();
  const errors: WebhookErrors = {};
  if (!url) errors.url = 'Enter the URL to send events to.';
  else if (!/^https?:\/\/\S+$/i.test(url)) errors.url = 'The URL must start with http:// or https://.';
  else if (url.length > WEBHOOK_URL_MAX) errors.url = `The URL can be at most ${WEBHOOK_URL_MAX} characters.`;
  if (form.events.length === 0) errors.events = 'Pick at least one event.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  // In the order of the checkboxes, whatever order they were ticked in.
  return { ok: true, body: { url, events: WEBHOOK_EVENTS.filter((e) => form.events.includes(e)) } };
}

/** The server's answer to a new webhook, under the field it names. */
export function webhookErrors(err: unknown): WebhookErrors {
  if (err instanceof ApiError && err.code === 'validation_failed' && (err.field === 'url' || err.field === 'events')) return { [err.field]: err.message };
  if (err instanceof ApiError && err.status === 409) return { form: `${err.message} Delete a webhook before adding another.` };
  return { form: err instanceof ApiError ? err.message : 'The webhook could not be added.' };
}

export class DeliveryLog {
  readonly store = new Store<DeliveryLogState>({ deliveries: [], nextBefore: null, loading: false, error: null });
  /** Answers to an older request (a refresh) are dropped. */
  private request = 0;

  constructor(
    private readonly api: ApiClient,
    readonly webhookId: number,
  ) {}

  get state(): DeliveryLogState {
    return this.store.get();
  }

  /** The newest page: the first look, or Refresh. */
  async load(): Promise<void> {
    const request = ++this.request;
    this.store.update({ loading: true, error: null });
    try {
      const page = await this.api.listWebhookDeliveries(this.webhookId, { limit: DELIVERY_PAGE_SIZE });
      if (request !== this.request) return;
      this.store.update({ deliveries: page.deliveries, nextBefore: page.next_before, loading: false });
    } catch (err) {
      if (request !== this.request) return;
      this.store.update({ deliveries: [], nextBefore: null, loading: false, error: describe(err, 'The deliveries') });
    }
  }

  /** The page after the last one shown. */
  async loadMore(): Promise<void> {
    const { nextBefore, loading } = this.state;
    if (nextBefore === null || loading) return;
    const request = ++this.request;
    this.store.update({ loading: true, error: null });
    try {
      const page: DeliveryPage = await this.api.listWebhookDeliveries(this.webhookId, { before: nextBefore, limit: DELIVERY_PAGE_SIZE });
      if (request !== this.request) return;
      const known = new Set(this.state.deliveries.map((d) => d.id));
      this.store.update({
        deliveries: [...this.state.deliveries, ...page.deliveries.filter((d) => !known.has(d.id))],
        nextBefore: page.next_before,
        loading: false,
      });
    } catch (err) {
      if (request !== this.request) return;
      this.store.update({ loading: false, error: describe(err, 'The deliveries') });
    }
  }
}

export class Webhooks {
  readonly store = new Store<WebhooksState>({ webhooks: null, loading: false, error: null });
  /** One log per webhook whose deliveries were opened, kept while it exists. */
  private readonly logs = new Map<number, DeliveryLog>();

  constructor(private readonly api: ApiClient) {}

  get state(): WebhooksState {
    return this.store.get();
  }

  async load(): Promise<void> {
    this.store.update({ loading: true, error: null });
    try {
      const { webhooks } = await this.api.listWebhooks();
      this.store.update({ webhooks, loading: false });
    } catch (err) {
      this.store.update({ loading: false, error: describe(err, 'The webhooks') });
    }
  }

  /** Adds a webhook; the answer (with its secret) goes to the caller. Throws the server's ApiError. */
  async create(body: WebhookBody): Promise<CreatedWebhook> {
    const created = await this.api.createWebhook(body);
    const { secret: _secret, ...webhook } = created;
    this.store.update({ webhooks: [...(this.state.webhooks ?? []).filter((w) => w.id !== webhook.id), webhook] });
    return created;
  }

  /** Deletes a webhook (one already gone counts as deleted). Throws other errors. */
  async remove(id: number): Promise<void> {
    try {
      await this.api.deleteWebhook(id);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    this.logs.delete(id);
    this.store.update({ webhooks: (this.state.webhooks ?? []).filter((w) => w.id !== id) });
  }

  deliveries(id: number): DeliveryLog {
    let log = this.logs.get(id);
    if (!log) {
      log = new DeliveryLog(this.api, id);
      this.logs.set(id, log);
    }
    return log;
  }
}
