// The guest's chat session in localStorage, so a reload or a second tab resumes the same
// ticket: its session id (the guest's capability), the last seq seen, our read mark, and
// the messages not yet acknowledged (resent with the same client_msg_id).

import type { PendingMessage } from '../shared/ticketChannel';

export interface StoredSession {
  session_id: string;
  last_seq: number;
  read_up_to: number;
}

export const SESSION_KEY = 'livesupport:session';
/** Name and email of the last chat, to fill "Start a new chat" with. */
export const VISITOR_KEY = 'livesupport:visitor';

export interface StoredVisitor {
  user_name: string;
  user_email: string;
}
const outboxKey = (sessionId: string): string => `livesupport:outbox:${sessionId}`;

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function readJson(storage: StorageLike, key: string): unknown {
  try {
    const raw = storage.getItem(key);
    return raw ? (JSON.parse(raw) as unknown) : null;
  } catch {
    return null;
  }
}

function isPending(v: unknown): v is PendingMessage {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Partial<PendingMessage>;
  return typeof p.client_msg_id === 'string' && typeof p.message === 'string' && typeof p.state === 'string';
}

export class SessionStore {
  constructor(private readonly storage: StorageLike | null) {}

  load(): StoredSession | null {
    if (!this.storage) return null;
    const v = readJson(this.storage, SESSION_KEY);
    if (typeof v !== 'object' || v === null) return null;
    const s = v as Partial<StoredSession>;
    if (typeof s.session_id !== 'string' || s.session_id === '') return null;
    return {
      session_id: s.session_id,
      last_seq: typeof s.last_seq === 'number' ? s.last_seq : 0,
      read_up_to: typeof s.read_up_to === 'number' ? s.read_up_to : 0,
    };
  }

  save(session: StoredSession): void {
    try {
      this.storage?.setItem(SESSION_KEY, JSON.stringify(session));
    } catch {
      // storage full or blocked: the chat still works, it just will not resume
    }
  }

  /** Raises last_seq / read_up_to, never lowers them (another tab may be ahead). */
  advance(sessionId: string, patch: { last_seq?: number; read_up_to?: number }): void {
    const current = this.load();
    if (!current || current.session_id !== sessionId) return;
    this.save({
      session_id: sessionId,
      last_seq: Math.max(current.last_seq, patch.last_seq ?? 0),
      read_up_to: Math.max(current.read_up_to, patch.read_up_to ?? 0),
    });
  }

  clear(): void {
    const current = this.load();
    try {
      this.storage?.removeItem(SESSION_KEY);
      if (current) this.storage?.removeItem(outboxKey(current.session_id));
    } catch {
      // ignore
    }
  }

  loadVisitor(): StoredVisitor | null {
    if (!this.storage) return null;
    const v = readJson(this.storage, VISITOR_KEY);
    if (typeof v !== 'object' || v === null) return null;
    const r = v as Partial<StoredVisitor>;
    if (typeof r.user_name !== 'string') return null;
    return { user_name: r.user_name, user_email: typeof r.user_email === 'string' ? r.user_email : '' };
  }

  saveVisitor(visitor: StoredVisitor): void {
    try {
      this.storage?.setItem(VISITOR_KEY, JSON.stringify(visitor));
    } catch {
      // ignore
    }
  }

  loadOutbox(sessionId: string): PendingMessage[] {
    if (!this.storage) return [];
    const v = readJson(this.storage, outboxKey(sessionId));
    return Array.isArray(v) ? v.filter(isPending) : [];
  }

  saveOutbox(sessionId: string, outbox: readonly PendingMessage[]): void {
    try {
      if (outbox.length === 0) this.storage?.removeItem(outboxKey(sessionId));
      else this.storage?.setItem(outboxKey(sessionId), JSON.stringify(outbox));
    } catch {
      // ignore
    }
  }
}

export function browserStorage(): StorageLike | null {
  try {
    return window.localStorage;
  } catch {
    return null; // blocked third-party storage
  }
}
