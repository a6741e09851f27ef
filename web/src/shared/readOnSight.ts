// Read-on-sight: which messages were actually on screen. The view reports, for each
// message element it watches, whether it is visible (IntersectionObserver); the
// tracker answers the highest seq seen so far, which is what a `read` frame may claim.
// A message scrolled past unseen (below the fold, or while the panel was hidden) is
// never reported read.

export interface SightEntry {
  seq: number;
  visible: boolean;
}

export class SeenTracker {
  private readonly onScreen = new Set<number>();
  private seen = 0;

  /** Applies a batch of visibility changes; returns the highest seq seen so far. */
  update(entries: readonly SightEntry[]): number {
    for (const e of entries) {
      if (e.visible) this.onScreen.add(e.seq);
      else this.onScreen.delete(e.seq);
    }
    for (const seq of this.onScreen) if (seq > this.seen) this.seen = seq;
    return this.seen;
  }

  /** Seqs visible right now, ascending. */
  visible(): number[] {
    return [...this.onScreen].sort((a, b) => a - b);
  }

  /** Forgets what is on screen (the panel was hidden); the seen mark stays. */
  reset(): void {
    this.onScreen.clear();
  }
}

/** The new read mark after the reader saw up to `seenSeq`, or null when it does not move. */
export function nextReadMark(current: number, seenSeq: number): number | null {
  return seenSeq > current ? seenSeq : null;
}

/** How far from the bottom (px) still counts as "at the bottom" for following new messages. */
export const PINNED_SLACK_PX = 48;

export function isAtBottom(el: { scrollHeight: number; scrollTop: number; clientHeight: number }): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= PINNED_SLACK_PX;
}
