// The email outbox as admins see it (issue 18), framework-free: `GET
// /api/support/outbox` filtered by status, newest first, a page at a time ("Load
// more" passes the last page's `next_before` as `before`), and whether the node has
// an SMTP server at all. OutboxSection.tsx draws it.

import { ApiError, type ApiClient } from '../shared/api';
import type { OutboxEmail, OutboxStatus } from '../shared/protocol';
import { Store } from '../shared/store';

export type OutboxFilter = OutboxStatus | 'all';
export const OUTBOX_FILTERS: readonly OutboxFilter[] = ['all', 'pending', 'sent', 'failed'];

/** Emails per page (the API allows 1 to 200). */
export const OUTBOX_PAGE_SIZE = 50;

export interface OutboxState {
  filter: OutboxFilter;
  emails: OutboxEmail[];
  /** The next page's `before`; null: no more. */
  nextBefore: number | null;
  /** null until the first answer. */
  smtpConfigured: boolean | null;
  loading: boolean;
  error: string | null;
}

function describe(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return 'Only admins can see the email outbox.';
  return err instanceof ApiError ? err.message : 'The outbox could not be loaded.';
}

export class Outbox {
  readonly store = new Store<OutboxState>({ filter: 'all', emails: [], nextBefore: null, smtpConfigured: null, loading: false, error: null });
  /** Answers to an older request (another filter, a refresh) are dropped. */
  private request = 0;

  constructor(private readonly api: ApiClient) {}

  get state(): OutboxState {
    return this.store.get();
  }

  /** The first page for a filter (the current one by default): Refresh, or a new filter. */
  async load(filter: OutboxFilter = this.state.filter): Promise<void> {
    const request = ++this.request;
    this.store.update({ filter, loading: true, error: null });
    try {
      const page = await this.api.listOutbox({ status: filter === 'all' ? undefined : filter, limit: OUTBOX_PAGE_SIZE });
      if (request !== this.request) return;
      this.store.update({ emails: page.emails, nextBefore: page.next_before, smtpConfigured: page.smtp_configured, loading: false });
    } catch (err) {
      if (request !== this.request) return;
      this.store.update({ emails: [], nextBefore: null, loading: false, error: describe(err) });
    }
  }

  /** The page after the last one shown. */
  async loadMore(): Promise<void> {
    const { filter, nextBefore, loading } = this.state;
    if (nextBefore === null || loading) return;
    const request = ++this.request;
    this.store.update({ loading: true, error: null });
    try {
      const page = await this.api.listOutbox({ status: filter === 'all' ? undefined : filter, before: nextBefore, limit: OUTBOX_PAGE_SIZE });
      if (request !== this.request) return;
      const known = new Set(this.state.emails.map((e) => e.id));
      this.store.update({
        emails: [...this.state.emails, ...page.emails.filter((e) => !known.has(e.id))],
        nextBefore: page.next_before,
        smtpConfigured: page.smtp_configured,
        loading: false,
      });
    } catch (err) {
      if (request !== this.request) return;
      this.store.update({ loading: false, error: describe(err) });
    }
  }
}
