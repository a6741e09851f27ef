// The visitor context of one open chat (API.md GET …/context and the live `page`
// frames), framework-free: loaded through REST when the chat opens and again after
// each reconnect of the chat's socket (pages may have come while it was down), kept
// current by the `page` frames in between. VisitorContextPanel draws it.

import { ApiError } from '../shared/api';
import type { VisitedPage, VisitorContext } from '../shared/protocol';
import { Store } from '../shared/store';

/** The server keeps (and the panel lists) the newest 20 pages of a ticket. */
export const PAGES_SHOWN = 20;

export interface VisitorContextState {
  context: VisitorContext | null;
  loading: boolean;
  error: string | null;
}

const EMPTY: VisitorContext = {
  pages: [],
  user_agent: null,
  browser: null,
  os: null,
  locale: null,
  timezone: null,
  previous_tickets: [],
};

export class VisitorContextController {
  readonly store = new Store<VisitorContextState>({ context: null, loading: false, error: null });
  private readonly fetchContext: () => Promise<VisitorContext>;
  private request = 0;
  private connects = 0;

  constructor(fetchContext: () => Promise<VisitorContext>) {
    this.fetchContext = fetchContext;
  }

  async load(): Promise<void> {
    const request = ++this.request;
    this.store.update({ loading: true, error: null });
    try {
      const context = await this.fetchContext();
      if (request !== this.request) return;
      // A live page may have come while the answer was on its way.
      const live = this.store.get().context?.pages ?? [];
      this.store.update({ context: { ...context, pages: mergePages(live, context.pages) }, loading: false });
    } catch (err) {
      if (request !== this.request) return;
      this.store.update({ loading: false, error: err instanceof ApiError ? err.message : 'Could not load the visitor context.' });
    }
  }

  /** The chat's socket is ready; after the first time, pages may have been missed. */
  connected(): void {
    this.connects += 1;
    if (this.connects > 1) void this.load();
  }

  /** A live `page` frame: the visitor's current page. */
  applyPage(page: VisitedPage): void {
    const context = this.store.get().context ?? EMPTY;
    this.store.update({ context: { ...context, pages: mergePages([page], context.pages) } });
  }
}

/** Newest first, each page once (by time and URL), at most PAGES_SHOWN. */
export function mergePages(a: readonly VisitedPage[], b: readonly VisitedPage[]): VisitedPage[] {
  const seen = new Set<string>();
  return [...a, ...b]
    .sort((x, y) => Date.parse(y.at) - Date.parse(x.at))
    .filter((p) => {
      const key = `${Date.parse(p.at)} ${p.url}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, PAGES_SHOWN);
}

/** The visitor's wall-clock time now, e.g. "Tue 14:05", or null for an unknown time zone. */
export function visitorLocalTime(timezone: string | null, now: Date): string | null {
  if (!timezone) return null;
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false }).format(now);
  } catch {
    return null; // a name this browser's Intl does not know
  }
}
