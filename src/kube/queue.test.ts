import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { jitteredBackoff } from './backoff.js';
import { WorkQueue, type Reconciler } from './queue.js';

function queue(reconcile: Reconciler, concurrency = 4) {
  return new WorkQueue({
    name: 'test',
    concurrency,
    reconcile,
    log: silentLogger,
    metrics: createMetrics(),
    baseRetryMs: 10,
    maxRetryMs: 40,
  });
}

describe('WorkQueue', () => {
  it('coalesces repeated adds of a waiting key into one reconcile', async () => {
    const seen: string[] = [];
    const q = queue(async (k) => {
      seen.push(k);
      await sleep(5);
    }, 1);
    q.add('busy');
    for (let i = 0; i < 5; i++) q.add('a');
    await q.idle();
    expect(seen).toEqual(['busy', 'a']);
  });

  it('never runs one key twice at once, and re-runs a key changed while it ran', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const q = queue(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      runs++;
      await sleep(20);
      inFlight--;
    });
    q.add('k');
    await sleep(5);
    q.add('k');
    q.add('k');
    await q.idle();
    expect(maxInFlight).toBe(1);
    expect(runs).toBe(2);
  });

  it('runs different keys in parallel up to the bound', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const q = queue(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(10);
      inFlight--;
    }, 3);
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await q.idle();
    expect(maxInFlight).toBe(3);
  });

  it('retries a failing key with backoff until it succeeds', async () => {
    let attempts = 0;
    const q = queue(() => {
      attempts++;
      return attempts < 3 ? Promise.reject(new Error('transient')) : Promise.resolve();
    });
    q.add('k');
    await expect.poll(() => attempts, { timeout: 2000 }).toBe(3);
    await q.idle();
  });

  it('requeues after the requested delay', async () => {
    let runs = 0;
    const q = queue(() => {
      runs++;
      return Promise.resolve(runs === 1 ? { requeueAfterMs: 20 } : undefined);
    });
    q.add('k');
    await expect.poll(() => runs, { timeout: 2000 }).toBe(2);
  });

  it('shutdown drops waiting keys and waits for the running one', async () => {
    const done: string[] = [];
    const q = queue(async (k) => {
      await sleep(20);
      done.push(k);
    }, 1);
    q.add('a');
    q.add('b');
    await sleep(5);
    await q.shutdown();
    expect(done).toEqual(['a']);
    q.add('c');
    expect(q.depth).toBe(0);
  });
});

describe('jitteredBackoff', () => {
  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [3, 0.5, 300],
    [20, 1, 1000],
  ])('attempt %i with random %f -> %f ms', (attempt, r, want) => {
    expect(jitteredBackoff(attempt, 100, 1000, () => r)).toBe(want);
  });
});

describe('WorkQueue hold and release', () => {
  it('keeps keys coalesced while held and works them once released', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({
      name: 'hold',
      concurrency: 2,
      reconcile: (k) => {
        seen.push(k);
        return Promise.resolve();
      },
      log: silentLogger,
      metrics: createMetrics(),
    });
    q.hold();
    q.add('a');
    q.add('b');
    q.add('a');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([]);
    expect(q.depth).toBe(2);
    q.release();
    await q.idle();
    expect(seen.sort()).toEqual(['a', 'b']);
    await q.shutdown();
  });
});
