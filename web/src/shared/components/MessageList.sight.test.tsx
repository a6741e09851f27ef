import { act, render } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MessageList } from './MessageList';
import { msg } from '../../test/fakes';

// A controllable IntersectionObserver: the test says which message elements are on screen.
class FakeIO {
  static all: FakeIO[] = [];
  readonly targets = new Set<Element>();
  constructor(private readonly cb: IntersectionObserverCallback) {
    FakeIO.all.push(this);
  }
  observe(el: Element) {
    this.targets.add(el);
  }
  unobserve(el: Element) {
    this.targets.delete(el);
  }
  disconnect() {
    this.targets.clear();
  }
  show(seqs: number[]) {
    const entries = [...this.targets].map((target) => {
      const on = seqs.includes(Number((target as HTMLElement).dataset.seq));
      return { target, isIntersecting: on, intersectionRatio: on ? 1 : 0 } as unknown as IntersectionObserverEntry;
    });
    act(() => this.cb(entries, this as unknown as IntersectionObserver));
  }
}

const agent = (seq: number) => msg(seq, { sender_type: 'supporter', sender_name: 'Alice', message: `reply ${seq}` });

describe('MessageList read on sight', () => {
  beforeEach(() => {
    FakeIO.all = [];
    vi.stubGlobal('IntersectionObserver', FakeIO);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('reports only messages that were on screen, and nothing while onSeen is not given', () => {
    const onSeen = vi.fn();
    const messages = [msg(1), agent(2), agent(3), agent(4)];
    const { rerender } = render(<MessageList self="user" messages={messages} outbox={[]} />);
    expect(FakeIO.all).toHaveLength(0); // panel hidden: nothing watched
    rerender(<MessageList self="user" messages={messages} outbox={[]} onSeen={onSeen} />);
    const io = FakeIO.all[0];
    io.show([1, 2]); // 3 and 4 below the fold
    expect(onSeen).toHaveBeenLastCalledWith(2);
    io.show([1]); // scrolled back up: no new report
    expect(onSeen).toHaveBeenCalledTimes(1);
    io.show([3, 4]);
    expect(onSeen).toHaveBeenLastCalledWith(4);
  });

  it('watches messages that arrive later', async () => {
    const onSeen = vi.fn();
    const { rerender } = render(<MessageList self="user" messages={[agent(1)]} outbox={[]} onSeen={onSeen} />);
    rerender(<MessageList self="user" messages={[agent(1), agent(2)]} outbox={[]} onSeen={onSeen} />);
    await act(async () => undefined); // MutationObserver callback
    const io = FakeIO.all[0];
    expect([...io.targets].map((t) => (t as HTMLElement).dataset.seq)).toEqual(['1', '2']);
    io.show([2]);
    expect(onSeen).toHaveBeenLastCalledWith(2);
  });
});
