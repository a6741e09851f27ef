// A WebSocket that comes back by itself. It knows nothing of tickets or React: it
// opens, parses frames, and after an unexpected close waits a capped, fully jittered
// backoff before the next try. The URL is asked for again on every try, so callers
// can put the latest `since` in it. Close codes that mean "do not come back"
// (policy, auth revoked, ticket gone or closed) end it for good.

import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import { parseServerFrame, serializeClientFrame, type ClientFrame, type ServerFrame } from './protocol';

/** The subset of the browser WebSocket this class uses, so tests can pass a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(handle: number): void;
}

export const browserScheduler: Scheduler = {
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (h) => window.clearTimeout(h),
};

export type SocketState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'ended';

export interface SocketStateInfo {
  /** Failed tries in a row (0 while healthy). */
  attempt: number;
  /** How long until the next try, in reconnecting state. */
  delayMs?: number;
  /** Close code that caused this state, if any. */
  closeCode?: number;
}

const OPEN = 1;

/** Codes after which coming back cannot help (API.md "Close codes"). */
export function isTerminalCloseCode(code: number): boolean {
  return code === 1000 || code === 1008 || code === 1009 || (code >= 4000 && code <= 4999);
}

export interface ReconnectingSocketOptions {
  url: () => string;
  onFrame: (frame: ServerFrame) => void;
  onStateChange?: (state: SocketState, info: SocketStateInfo) => void;
  createSocket?: WebSocketFactory;
  scheduler?: Scheduler;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** A connection that stays open this long counts as healthy again (attempts reset). */
  stableAfterMs?: number;
}

export class ReconnectingSocket {
  private ws: WebSocketLike | null = null;
  private currentState: SocketState = 'idle';
  private attempt = 0;
  private retryTimer: number | null = null;
  private stableTimer: number | null = null;
  private readonly opts: Required<Omit<ReconnectingSocketOptions, 'onStateChange'>> &
    Pick<ReconnectingSocketOptions, 'onStateChange'>;

  constructor(options: ReconnectingSocketOptions) {
    // Field by field: an option passed as `undefined` must not hide the default.
    this.opts = {
      url: options.url,
      onFrame: options.onFrame,
      onStateChange: options.onStateChange,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url)),
      scheduler: options.scheduler ?? browserScheduler,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      stableAfterMs: options.stableAfterMs ?? 5_000,
    };
  }

  get state(): SocketState {
    return this.currentState;
  }

  get isOpen(): boolean {
    return this.currentState === 'open' && this.ws !== null && this.ws.readyState === OPEN;
  }

  /** Opens the connection (again, after stop()). */
  start(): void {
    if (this.currentState === 'connecting' || this.currentState === 'open') return;
    this.clearTimers();
    this.connect();
  }

  /** Closes for good (until start()); no reconnect follows. */
  stop(code = 1000): void {
    this.clearTimers();
    this.detach(code);
    this.setState('idle', {});
  }

  /** Drops any backoff wait and tries now (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.currentState !== 'reconnecting') return;
    this.clearTimers();
    this.connect();
  }

  /** Called by the owner when the server has proved the connection healthy (e.g. `ready`). */
  markHealthy(): void {
    this.attempt = 0;
  }

  /** Sends when open; returns false (and sends nothing) otherwise. */
  send(frame: ClientFrame): boolean {
    if (!this.isOpen || !this.ws) return false;
    try {
      this.ws.send(serializeClientFrame(frame));
      return true;
    } catch {
      return false;
    }
  }

  private connect(): void {
    this.setState('connecting', { attempt: this.attempt });
    let ws: WebSocketLike;
    try {
      ws = this.opts.createSocket(this.opts.url());
    } catch {
      this.scheduleRetry(1006);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setState('open', { attempt: this.attempt });
      this.stableTimer = this.opts.scheduler.setTimeout(() => {
        this.stableTimer = null;
        this.attempt = 0;
      }, this.opts.stableAfterMs);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      const frame = parseServerFrame(ev.data);
      if (frame) this.opts.onFrame(frame);
    };
    ws.onerror = () => {
      // A close event always follows; that is where we decide.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stableTimer !== null) {
        this.opts.scheduler.clearTimeout(this.stableTimer);
        this.stableTimer = null;
      }
      const code = typeof ev.code === 'number' ? ev.code : 1006;
      if (isTerminalCloseCode(code)) {
        this.setState('ended', { attempt: this.attempt, closeCode: code });
      } else {
        this.scheduleRetry(code);
      }
    };
  }

  private scheduleRetry(closeCode: number): void {
    const delayMs = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt += 1;
    this.setState('reconnecting', { attempt: this.attempt, delayMs, closeCode });
    this.retryTimer = this.opts.scheduler.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delayMs);
  }

  private detach(code: number): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    try {
      ws.close(code);
    } catch {
      // already closing
    }
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.opts.scheduler.clearTimeout(this.retryTimer);
    if (this.stableTimer !== null) this.opts.scheduler.clearTimeout(this.stableTimer);
    this.retryTimer = null;
    this.stableTimer = null;
  }

  private setState(state: SocketState, info: Partial<SocketStateInfo>): void {
    this.currentState = state;
    this.opts.onStateChange?.(state, { ...info, attempt: info.attempt ?? this.attempt });
  }
}
