// State of the agents' tools beside the queue, framework-free: the canned responses
// (loaded once, on first use, and again after an admin changes them) and the labels in
// use (for the label input's autocomplete and the queue's label filter). Loading them
// is background work: a failure leaves the last list in place and never interrupts
// the agent; the settings page shows its own errors next to its fields.

import type { ApiClient, CannedBody } from '../shared/api';
import type { CannedResponse, LabelCount } from '../shared/protocol';
import { Store } from '../shared/store';

export interface DeskToolsState {
  /** null until loaded. Most used first, then by shortcut (the server's order). */
  canned: CannedResponse[] | null;
  labels: LabelCount[];
}

/** The server's order (API.md: uses, most first, then shortcut). */
function byUse(a: CannedResponse, b: CannedResponse): number {
  return b.uses - a.uses || (a.shortcut < b.shortcut ? -1 : a.shortcut > b.shortcut ? 1 : 0);
}

export class DeskTools {
  readonly store = new Store<DeskToolsState>({ canned: null, labels: [] });
  private cannedRequest: Promise<void> | null = null;

  constructor(private readonly api: ApiClient) {}

  get state(): DeskToolsState {
    return this.store.get();
  }

  /** Loads the canned responses unless they are loaded (or `force`). */
  loadCanned(force = false): Promise<void> {
    if (this.state.canned !== null && !force) return Promise.resolve();
    if (this.cannedRequest && !force) return this.cannedRequest;
    const request = this.api
      .listCanned()
      .then(({ canned }) => this.store.update({ canned }))
      .catch(() => undefined)
      .finally(() => {
        if (this.cannedRequest === request) this.cannedRequest = null;
      });
    this.cannedRequest = request;
    return request;
  }

  async loadLabels(): Promise<void> {
    try {
      const { labels } = await this.api.listLabels();
      this.store.update({ labels });
    } catch {
      // keep the last list: the autocomplete is a help, not a requirement
    }
  }

  /** An agent inserted `id`: it moves up here at once and on the server. */
  recordUse(id: number): void {
    const canned = this.state.canned;
    if (canned) this.store.update({ canned: canned.map((c) => (c.id === id ? { ...c, uses: c.uses + 1 } : c)).sort(byUse) });
    void this.api.recordCannedUse(id).catch(() => undefined);
  }

  /** Creates, or with `id` updates, a canned response; an ApiError (with its field) is thrown to the form. */
  async saveCanned(body: CannedBody, id?: number): Promise<CannedResponse> {
    const saved = id === undefined ? await this.api.createCanned(body) : await this.api.updateCanned(id, body);
    const rest = (this.state.canned ?? []).filter((c) => c.id !== saved.id);
    this.store.update({ canned: [...rest, saved].sort(byUse) });
    return saved;
  }

  async deleteCanned(id: number): Promise<void> {
    await this.api.deleteCanned(id);
    this.store.update({ canned: (this.state.canned ?? []).filter((c) => c.id !== id) });
  }

  reset(): void {
    this.store.set({ canned: null, labels: [] });
  }
}
