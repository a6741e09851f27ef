import { describe, expect, it } from 'vitest';
import { TypingIndicator, TypingNotifier } from './typing';
import { FakeScheduler } from '../test/fakes';

describe('typing', () => {
  it('sends "typing" once, refreshes it slowly, and "stopped" after idle', () => {
    const clock = new FakeScheduler();
    const sent: boolean[] = [];
    const n = new TypingNotifier((t) => sent.push(t) > 0, clock, () => clock.now, 2500, 3000);
    n.input('h');
    clock.advance(100);
    n.input('he');
    clock.advance(100);
    n.input('hel');
    expect(sent).toEqual([true]);
    clock.advance(2400);
    n.input('hell');
    expect(sent).toEqual([true, true]);
    clock.advance(3000);
    expect(sent).toEqual([true, true, false]);
  });

  it('stops at once when the draft is cleared or sent', () => {
    const clock = new FakeScheduler();
    const sent: boolean[] = [];
    const n = new TypingNotifier((t) => sent.push(t) > 0, clock, () => clock.now);
    n.input('hi');
    n.stop();
    n.stop();
    n.input('');
    expect(sent).toEqual([true, false]);
  });

  it('tries again on the next key when the first "typing" could not be sent', () => {
    const clock = new FakeScheduler();
    const sent: boolean[] = [];
    let connected = false;
    const n = new TypingNotifier((t) => connected && sent.push(t) > 0, clock, () => clock.now);
    n.input('h');
    connected = true;
    clock.advance(50);
    n.input('he');
    expect(sent).toEqual([true]);
  });

  it('expires an indicator that is not refreshed', () => {
    const clock = new FakeScheduler();
    const seen: (string | null)[] = [];
    const i = new TypingIndicator((name) => seen.push(name), clock, 6000);
    i.update('Alice', true);
    clock.advance(5000);
    i.update('Alice', true);
    clock.advance(5000);
    expect(seen).toEqual(['Alice']);
    clock.advance(1000);
    expect(seen).toEqual(['Alice', null]);
  });
});
