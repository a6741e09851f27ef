// A WebSocket that comes back by itself. It knows nothing of tickets or React: it
// opens, parses frames, and after an unexpected close waits a capped, fully jittered
// backoff before the next try. The URL is asked for again on every try, so callers
// can put the latest `since` in it. Close codes that mean "do not come back"
// (policy, auth revoked, ticket gone or closed) end it for good.
//
// Liveness: a server that freezes (or a NAT that silently drops the flow) leaves the
// socket "open" with nothing on it, and the browser may not notice for minutes. So
// while open we send `{"type":"ping"}` every PING_INTERVAL_MS; the server answers
// `pong`, and any frame at all counts as a sign of life. When nothing has arrived
// LIVENESS_TIMEOUT_MS after a ping, the socket is given up exactly as if it had closed
// with 1006: a reconnect follows, and the owner's URL puts the latest `since` in it.
// The same bound applies to a connection that never opens.
//
// Retries: the first one comes within 2 s (see `reconnectDelay`), later ones back off.
// While waiting, the browser coming back online or the tab becoming visible again
// retries at once.

import { DEFAULT_BACKOFF, reconnectDelay, type BackoffPolicy } from './backoff';
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

/**
 * Tells the socket that a retry now may succeed. Subscribing returns the unsubscribe;
 * the socket holds a subscription only between start() and its final stop or end.
 */
export type WakeSource = (onWake: () => void) => () => void;

/** `online` on window, and `visibilitychange` to visible on document. */
export const browserWakeSource: WakeSource = (onWake) => {
  if (typeof window === 'undefined' || typeof document === 'undefined') return () => undefined;
  const onOnline = (): void => onWake();
  const onVisibility = (): void => {
    if (document.visibilityState === 'visible') onWake();
  };
  window.addEventListener('online', onOnline);
  document.addEventListener('visibilitychange', onVisibility);
  return () => {
    window.removeEventListener('online', onOnline);
    document.removeEventListener('visibilitychange', onVisibility);
  };
};

/** How often an open socket sends an app-level ping. */
export const PING_INTERVAL_MS = 15_000;
/** Silence after a ping (or before the socket opens) that counts as a dead connection. */
export const LIVENESS_TIMEOUT_MS = 30_000;

export interface LivenessPolicy {
  pingIntervalMs: number;
  timeoutMs: number;
}

export const DEFAULT_LIVENESS: LivenessPolicy = { pingIntervalMs: PING_INTERVAL_MS, timeoutMs: LIVENESS_TIMEOUT_MS };

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
  /** Ping interval and silence timeout (default DEFAULT_LIVENESS). */
  liveness?: LivenessPolicy;
  /** Where "retry now" signals come from (default: the browser's online/visibility events). */
  wake?: WakeSource;
}

export class ReconnectingSocket {
  private ws: WebSocketLike | null = null;
  private currentState: SocketState = 'idle';
  private attempt = 0;
  private retryTimer: number | null = null;
  private stableTimer: number | null = null;
  /** Gives up a socket that neither opens nor closes. */
  private openTimer: number | null = null;
  /** The next ping. */
  private pingTimer: number | null = null;
  /** Armed by the oldest unanswered ping; any received frame disarms it. */
  private silenceTimer: number | null = null;
  private unsubscribeWake: (() => void) | null = null;
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
      liveness: options.liveness ?? DEFAULT_LIVENESS,
      wake: options.wake ?? browserWakeSource,
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
    this.unsubscribeWake ??= this.opts.wake(() => this.reconnectNow());
    this.connect();
  }

  /** Closes for good (until start()); no reconnect follows. */
  stop(code = 1000): void {
    this.clearTimers();
    this.stopListeningForWake();
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
    this.openTimer = this.opts.scheduler.setTimeout(() => {
      this.openTimer = null;
      if (this.ws === ws) this.giveUp();
    }, this.opts.liveness.timeoutMs);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.clearTimer('openTimer');
      // Timers first: the state listener may stop the socket, and must find them to clear.
      this.stableTimer = this.opts.scheduler.setTimeout(() => {
        this.stableTimer = null;
        this.attempt = 0;
      }, this.opts.stableAfterMs);
      this.schedulePing();
      this.setState('open', { attempt: this.attempt });
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      // Any frame, even one we cannot parse, proves the server is there.
      this.clearTimer('silenceTimer');
      const frame = parseServerFrame(ev.data);
      // A pong has done its job by arriving; nobody above needs to see it.
      if (frame && frame.type !== 'pong') this.opts.onFrame(frame);
    };
    ws.onerror = () => {
      // A close event always follows; that is where we decide.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearConnectionTimers();
      const code = typeof ev.code === 'number' ? ev.code : 1006;
      if (isTerminalCloseCode(code)) {
        this.stopListeningForWake();
        this.setState('ended', { attempt: this.attempt, closeCode: code });
      } else {
        this.scheduleRetry(code);
      }
    };
  }

  private schedulePing(): void {
    this.pingTimer = this.opts.scheduler.setTimeout(() => {
      this.pingTimer = null;
      if (!this.isOpen) return;
      this.send({ type: 'ping' });
      // The deadline runs from the oldest ping nothing has answered yet.
      this.silenceTimer ??= this.opts.scheduler.setTimeout(() => {
        this.silenceTimer = null;
        this.giveUp();
      }, this.opts.liveness.timeoutMs);
      this.schedulePing();
    }, this.opts.liveness.pingIntervalMs);
  }

  /**
   * The server went silent: drop this socket and go on as after a 1006 close. The close
   * event is not waited for (a frozen peer never completes the handshake), and the
   * socket is closed without a code: 1000 would say "finished", not "gone".
   */
  private giveUp(): void {
    this.clearConnectionTimers();
    this.detach();
    this.scheduleRetry(1006);
  }

  private scheduleRetry(closeCode: number): void {
    const delayMs = reconnectDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt += 1;
    this.setState('reconnecting', { attempt: this.attempt, delayMs, closeCode });
    this.retryTimer = this.opts.scheduler.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delayMs);
  }

  private detach(code?: number): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    try {
      if (code === undefined) ws.close();
      else ws.close(code);
    } catch {
      // already closing
    }
  }

  private stopListeningForWake(): void {
    this.unsubscribeWake?.();
    this.unsubscribeWake = null;
  }

  private clearTimer(name: 'retryTimer' | 'stableTimer' | 'openTimer' | 'pingTimer' | 'silenceTimer'): void {
    const handle = this[name];
    if (handle !== null) this.opts.scheduler.clearTimeout(handle);
    this[name] = null;
  }

  /** The timers that belong to one connection (not the wait between connections). */
  private clearConnectionTimers(): void {
    this.clearTimer('stableTimer');
    this.clearTimer('openTimer');
    this.clearTimer('pingTimer');
    this.clearTimer('silenceTimer');
  }

  private clearTimers(): void {
    this.clearTimer('retryTimer');
    this.clearConnectionTimers();
  }

  private setState(state: SocketState, info: Partial<SocketStateInfo>): void {
    this.currentState = state;
    this.opts.onStateChange?.(state, { ...info, attempt: info.attempt ?? this.attempt });
  }
}
