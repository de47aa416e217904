import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from './token-bucket.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Takes a token and records, under `label`, the fake time it was granted at. */
function taker(bucket: TokenBucket, grants: { label: string; at: number }[], t0: number) {
  return (label: string, priority: number) =>
    void bucket.take(priority).then(() => grants.push({ label, at: Date.now() - t0 }));
}

/** Tokens granted by time t can never exceed the burst plus rate·t. */
function expectWithinRate(grants: { at: number }[], rate: number): void {
  const times = grants.map((g) => g.at).sort((a, b) => a - b);
  times.forEach((at, i) => expect(i + 1).toBeLessThanOrEqual(rate + (rate * at) / 1000 + 1e-9));
  // And in any one-second window, at most the burst plus one second's refill.
  for (const start of times) {
    const inWindow = times.filter((t) => t >= start && t < start + 1000).length;
    expect(inWindow).toBeLessThanOrEqual(2 * rate);
  }
}

describe('TokenBucket', () => {
  it('never exceeds the rate, whatever the priorities', async () => {
    const bucket = new TokenBucket(5);
    const grants: { label: string; at: number }[] = [];
    const take = taker(bucket, grants, Date.now());
    for (let i = 0; i < 40; i++) take(`c${i}`, i % 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(grants).toHaveLength(5); // the burst
    await vi.advanceTimersByTimeAsync(1000);
    expect(grants).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(6000);
    expect(grants).toHaveLength(40);
    expect(bucket.waiting).toBe(0);
    expectWithinRate(grants, 5);
  });

  it('never exceeds the rate under steady arrivals faster than the rate', async () => {
    const bucket = new TokenBucket(5);
    const grants: { label: string; at: number }[] = [];
    const take = taker(bucket, grants, Date.now());
    for (let i = 0; i < 60; i++) {
      take(`c${i}`, (i * 7) % 3);
      await vi.advanceTimersByTimeAsync(50); // 20 a second against a rate of 5
    }
    await vi.advanceTimersByTimeAsync(20_000);
    expect(grants).toHaveLength(60);
    expectWithinRate(grants, 5);
  });

  it('serves waiting high-priority calls before lower ones that waited longer', async () => {
    const bucket = new TokenBucket(5);
    const grants: { label: string; at: number }[] = [];
    const take = taker(bucket, grants, Date.now());
    for (let i = 0; i < 5; i++) take(`burst${i}`, 2);
    take('poll1', 2);
    take('list1', 1);
    take('poll2', 2);
    await vi.advanceTimersByTimeAsync(100);
    take('change1', 0); // arrives last, while the others wait for a token
    take('list2', 1);
    take('change2', 0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(grants.slice(5).map((g) => g.label)).toEqual([
      'change1',
      'change2',
      'list1',
      'list2',
      'poll1',
      'poll2',
    ]);
    // One token every 200 ms after the burst: the order changed, the pace did not.
    expect(grants.slice(5).map((g) => g.at)).toEqual([200, 400, 600, 800, 1000, 1200]);
  });

  it('is FIFO within one priority', async () => {
    const bucket = new TokenBucket(2);
    const grants: { label: string; at: number }[] = [];
    const take = taker(bucket, grants, Date.now());
    const labels = [...Array(12).keys()].map((i) => `p${i}`);
    for (const l of labels) take(l, 1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(grants.map((g) => g.label)).toEqual(labels);
  });

  it('grants at once while tokens are left, and refills only up to the burst', async () => {
    const bucket = new TokenBucket(5);
    const grants: { label: string; at: number }[] = [];
    await vi.advanceTimersByTimeAsync(60_000); // idle: the bucket stays at 5, not 300
    const take = taker(bucket, grants, Date.now());
    for (let i = 0; i < 6; i++) take(`c${i}`, 2);
    await vi.advanceTimersByTimeAsync(0);
    expect(grants.map((g) => g.at)).toEqual([0, 0, 0, 0, 0]);
    await vi.advanceTimersByTimeAsync(199);
    expect(grants).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1);
    expect(grants).toHaveLength(6);
  });

  it('uses an injected clock', async () => {
    let now = 1_000_000;
    const bucket = new TokenBucket(1, { now: () => now });
    const grants: string[] = [];
    void bucket.take().then(() => grants.push('a'));
    void bucket.take().then(() => grants.push('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(grants).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(5000); // timers fire, but the injected clock stood still
    expect(grants).toEqual(['a']);
    now += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(grants).toEqual(['a', 'b']);
  });
});
