// Keyboard shortcuts of the dashboard (issue 14 point 19): single keys, never while
// typing in a field, never with Ctrl/Meta/Alt (the browser's and screen readers' own).

export type Shortcut = 'next' | 'previous' | 'reply' | 'assign' | 'resolve' | 'help';

export const SHORTCUTS: readonly { keys: string; action: Shortcut; label: string }[] = [
  { keys: 'j', action: 'next', label: 'Next ticket in the queue' },
  { keys: 'k', action: 'previous', label: 'Previous ticket in the queue' },
  { keys: 'r', action: 'reply', label: 'Focus the reply box' },
  { keys: 'a', action: 'assign', label: 'Join / assign the open ticket to me' },
  { keys: 'e', action: 'resolve', label: 'Mark the open ticket resolved' },
  { keys: '?', action: 'help', label: 'Show or hide this list' },
];

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** The element the key was typed in. */
  target: EventTarget | null;
}

function isField(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** The shortcut a key press means, or null (typing in a field, a modifier, another key). */
export function shortcutFor(e: KeyLike): Shortcut | null {
  if (e.ctrlKey || e.metaKey || e.altKey || isField(e.target)) return null;
  return SHORTCUTS.find((s) => s.keys === e.key)?.action ?? null;
}

/** The ticket `step` places away from `current` in the queue (wrapping), or null for an empty queue. */
export function stepTicket(ids: readonly number[], current: number | null, step: 1 | -1): number | null {
  if (ids.length === 0) return null;
  const at = current === null ? -1 : ids.indexOf(current);
  if (at === -1) return step === 1 ? ids[0] : ids[ids.length - 1];
  return ids[(at + step + ids.length) % ids.length];
}
