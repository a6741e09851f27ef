import { describe, expect, it } from 'vitest';
import { SESSION_KEY, SessionStore, type StorageLike } from './session';

class MemoryStorage implements StorageLike {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
}

describe('SessionStore', () => {
  it('keeps the session id and only ever raises the seq marks', () => {
    const storage = new MemoryStorage();
    const s = new SessionStore(storage);
    s.save({ session_id: 'abc', last_seq: 0, read_up_to: 0 });
    s.advance('abc', { last_seq: 5 });
    s.advance('abc', { last_seq: 3, read_up_to: 4 });
    s.advance('other', { last_seq: 99 });
    expect(s.load()).toEqual({ session_id: 'abc', last_seq: 5, read_up_to: 4 });
  });

  it('keeps unsent messages per session and clears them with the session', () => {
    const storage = new MemoryStorage();
    const s = new SessionStore(storage);
    s.save({ session_id: 'abc', last_seq: 0, read_up_to: 0 });
    s.saveOutbox('abc', [{ client_msg_id: 'k', message: 'hi', created_at: '', state: 'queued' }]);
    expect(new SessionStore(storage).loadOutbox('abc')).toHaveLength(1);
    s.clear();
    expect(s.load()).toBeNull();
    expect(s.loadOutbox('abc')).toEqual([]);
  });

  it('survives corrupt or missing storage', () => {
    const storage = new MemoryStorage();
    storage.setItem(SESSION_KEY, '{not json');
    expect(new SessionStore(storage).load()).toBeNull();
    expect(new SessionStore(null).load()).toBeNull();
  });
});
