// Pure helpers over a ticket's message list: merge pages and live frames without
// duplicates, apply read receipts, count unread messages.

import type { ChatMessage, SenderType } from './protocol';

/** Union by seq, ascending; on a clash the incoming copy wins (it is newer). */
export function mergeMessages(existing: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return existing as ChatMessage[];
  const bySeq = new Map<number, ChatMessage>();
  for (const m of existing) bySeq.set(m.seq, m);
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function maxSeq(messages: readonly ChatMessage[]): number {
  return messages.reduce((max, m) => Math.max(max, m.seq), 0);
}

/** The reader has read everything the other side sent up to seq. */
export function applyRead(messages: readonly ChatMessage[], readerType: SenderType, upToSeq: number): ChatMessage[] {
  let changed = false;
  const next = messages.map((m) => {
    if (m.seq <= upToSeq && !m.is_read && m.sender_type !== readerType && m.sender_type !== 'system') {
      changed = true;
      return { ...m, is_read: true };
    }
    return m;
  });
  return changed ? next : (messages as ChatMessage[]);
}

/** Messages from `peer` after the reader's read mark that are not flagged read. */
export function countUnread(messages: readonly ChatMessage[], peer: SenderType, readUpToSeq: number): number {
  let n = 0;
  for (const m of messages) if (m.sender_type === peer && m.seq > readUpToSeq && !m.is_read) n += 1;
  return n;
}

/** Highest seq among the peer's messages that the server already marks read. */
export function readMarkFromHistory(messages: readonly ChatMessage[], peer: SenderType): number {
  let mark = 0;
  for (const m of messages) if (m.sender_type === peer && m.is_read) mark = Math.max(mark, m.seq);
  return mark;
}
