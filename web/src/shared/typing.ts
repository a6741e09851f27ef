// Typing indicators, both directions, framework-free.
// Sender: the first keystroke says "typing", repeated at most every `refreshMs` while
// keys keep coming (the server forwards at most 2 a second), and "stopped" after
// `idleMs` without a key or when the message is sent.
// Receiver: an indicator that is not refreshed expires by itself, so a lost "stopped"
// frame never leaves "typing…" on screen forever.

import { browserScheduler, type Scheduler } from './socket';

export class TypingNotifier {
  private typing = false;
  private lastSentAt = -Infinity;
  private idleTimer: number | null = null;

  constructor(
    /** Returns false when the frame could not go out (not connected yet): it is tried again on the next key. */
    private readonly send: (isTyping: boolean) => boolean,
    private readonly scheduler: Scheduler = browserScheduler,
    private readonly now: () => number = () => Date.now(),
    private readonly refreshMs = 2_500,
    private readonly idleMs = 3_000,
  ) {}

  /** Call on every edit of the draft. */
  input(draft: string): void {
    if (draft.trim() === '') {
      this.stop();
      return;
    }
    const t = this.now();
    if (!this.typing || t - this.lastSentAt >= this.refreshMs) {
      if (this.send(true)) {
        this.typing = true;
        this.lastSentAt = t;
      }
    }
    if (this.idleTimer !== null) this.scheduler.clearTimeout(this.idleTimer);
    this.idleTimer = this.scheduler.setTimeout(() => this.stop(), this.idleMs);
  }

  /** Call when the message is sent or the draft is dropped. */
  stop(): void {
    if (this.idleTimer !== null) this.scheduler.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.typing) return;
    this.typing = false;
    this.send(false);
  }
}

export class TypingIndicator {
  private timer: number | null = null;
  private name: string | null = null;

  constructor(
    private readonly onChange: (name: string | null) => void,
    private readonly scheduler: Scheduler = browserScheduler,
    private readonly expireMs = 6_000,
  ) {}

  update(name: string, isTyping: boolean): void {
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
    if (isTyping) {
      this.timer = this.scheduler.setTimeout(() => this.set(null), this.expireMs);
      this.set(name);
    } else {
      this.set(null);
    }
  }

  clear(): void {
    this.update('', false);
  }

  private set(name: string | null): void {
    if (this.name === name) return;
    this.name = name;
    this.onChange(name);
  }
}
