import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Poller } from '../poller';

/** A resource whose answers are given one per load. */
function resource(values: Array<{ v: string; done?: boolean } | Error>) {
  const queue = [...values];
  const load = vi.fn(async () => {
    const next = queue.length > 1 ? queue.shift()! : queue[0];
    if (next instanceof Error) {
      throw next;
    }
    return next;
  });
  return load;
}

describe('Poller', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const backoff = { initial: 100, factor: 2, max: 400 };

  it('loads at once, then backs off while nothing changes, and stops when done', async () => {
    const load = resource([{ v: 'a' }, { v: 'a' }, { v: 'a' }, { v: 'a' }, { v: 'a' }, { v: 'b', done: true }]);
    const seen: string[] = [];
    const poller = new Poller({
      load,
      fingerprint: d => d.v,
      isDone: d => !!d.done,
      onData: d => seen.push(d.v),
      backoff
    });
    poller.start();
    expect(poller.isRunning).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(load).toHaveBeenCalledTimes(1);
    expect(poller.nextDelay).toBe(100);
    await vi.advanceTimersByTimeAsync(100);
    expect(load).toHaveBeenCalledTimes(2);
    expect(poller.nextDelay).toBe(200);
    await vi.advanceTimersByTimeAsync(200);
    expect(poller.nextDelay).toBe(400);
    await vi.advanceTimersByTimeAsync(400);
    expect(poller.nextDelay).toBe(400);
    await vi.advanceTimersByTimeAsync(400);
    expect(load).toHaveBeenCalledTimes(5);
    await vi.advanceTimersByTimeAsync(400);
    expect(load).toHaveBeenCalledTimes(6);
    expect(seen).toEqual(['a', 'a', 'a', 'a', 'a', 'b']);
    expect(poller.isRunning).toBe(false);
    expect(poller.nextDelay).toBeNull();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(load).toHaveBeenCalledTimes(6);
  });

  it('resets the backoff when the data changes', async () => {
    const load = resource([{ v: 'a' }, { v: 'a' }, { v: 'a' }, { v: 'b' }, { v: 'b' }]);
    const poller = new Poller({ load, fingerprint: d => d.v, isDone: () => false, onData: () => {}, backoff });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(200);
    expect(poller.nextDelay).toBe(400);
    await vi.advanceTimersByTimeAsync(400); // 'b': a change
    expect(poller.nextDelay).toBe(100);
    poller.stop();
  });

  it('reports errors and keeps polling with backoff', async () => {
    const load = resource([new Error('boom'), new Error('boom'), { v: 'a', done: true }]);
    const errors: unknown[] = [];
    const poller = new Poller({
      load,
      fingerprint: d => d.v,
      isDone: d => !!d.done,
      onData: () => {},
      onError: e => errors.push(e),
      backoff
    });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(poller.nextDelay).toBe(100);
    await vi.advanceTimersByTimeAsync(100);
    expect(errors).toHaveLength(2);
    expect(poller.nextDelay).toBe(200);
    await vi.advanceTimersByTimeAsync(200);
    expect(poller.isRunning).toBe(false);
  });

  it('drops an answer that arrives after stop', async () => {
    let resolve!: (v: { v: string }) => void;
    const load = vi.fn(() => new Promise<{ v: string }>(r => (resolve = r)));
    const onData = vi.fn();
    const poller = new Poller({ load, fingerprint: d => d.v, isDone: () => false, onData, backoff });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    poller.stop();
    resolve({ v: 'late' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(onData).not.toHaveBeenCalled();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('poke polls at once, resets the backoff, and never runs two loops', async () => {
    const load = resource([{ v: 'a' }]);
    const poller = new Poller({ load, fingerprint: d => d.v, isDone: () => false, onData: () => {}, backoff });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(poller.nextDelay).toBe(200);
    poller.poke();
    await vi.advanceTimersByTimeAsync(0);
    expect(load).toHaveBeenCalledTimes(3);
    expect(poller.nextDelay).toBe(100);
    // One loop only: over 1 s with delays 100, 200, 400 there are 3 more loads.
    await vi.advanceTimersByTimeAsync(700);
    expect(load).toHaveBeenCalledTimes(6);
    poller.stop();
  });

  it('poke restarts a poller that finished', async () => {
    const load = resource([{ v: 'a', done: true }]);
    const poller = new Poller({ load, fingerprint: d => d.v, isDone: d => !!d.done, onData: () => {}, backoff });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(poller.isRunning).toBe(false);
    poller.poke();
    await vi.advanceTimersByTimeAsync(0);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
