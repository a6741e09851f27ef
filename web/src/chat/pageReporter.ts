// The chat app's side of visitor context (API.md `page`): the loader tells which host
// page the visitor is on (livesupport:page); this sends it on the visitor socket as a
// `page` frame, at most one a second, trailing (within a second of navigating, the
// newest page goes out, never a stale one), only while a ticket's socket is ready (so
// nothing is sent before the ticket exists), and once more after every (re)connect, so
// the agent's "current page" is right even if a report was lost with a dropped socket.
// Framework-free, with an injectable clock, for unit tests.

import type { PageReport } from '../shared/protocol';
import type { Scheduler } from '../shared/socket';
import { browserScheduler } from '../shared/socket';

/** At most one page frame per this many ms (the server stores about one a second). */
export const PAGE_REPORT_INTERVAL_MS = 1_000;

export interface PageReporterOptions {
  /** Sends a frame when the ticket's socket is ready; false when it is not. */
  send: (page: PageReport) => boolean;
  scheduler?: Scheduler;
  now?: () => number;
}

function samePage(a: PageReport, b: PageReport): boolean {
  return a.url === b.url && a.title === b.title;
}

export class PageReporter {
  private readonly opts: PageReporterOptions;
  private readonly scheduler: Scheduler;
  private readonly now: () => number;
  /** The page the visitor is on now, as the loader last said. */
  private current: PageReport | null = null;
  /** What the socket was last given (null: nothing yet on this connection). */
  private sent: PageReport | null = null;
  private lastSentAt = -Infinity;
  private timer: number | null = null;

  constructor(options: PageReporterOptions) {
    this.opts = options;
    this.scheduler = options.scheduler ?? browserScheduler;
    this.now = options.now ?? Date.now;
  }

  /** The loader reports the host page. */
  report(page: PageReport): void {
    this.current = page;
    this.flush();
  }

  /** A ticket's socket is ready (first connect or reconnect): the current page goes again. */
  connected(): void {
    this.sent = null;
    this.flush();
  }

  dispose(): void {
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }

  private flush(): void {
    const page = this.current;
    if (!page || (this.sent && samePage(this.sent, page))) return;
    if (this.timer !== null) return; // the trailing send takes the newest page
    const wait = this.lastSentAt + PAGE_REPORT_INTERVAL_MS - this.now();
    if (wait > 0) {
      this.timer = this.scheduler.setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
      return;
    }
    // Not connected (no ticket yet, or reconnecting): connected() sends it later.
    if (!this.opts.send(page)) return;
    this.sent = page;
    this.lastSentAt = this.now();
  }
}
