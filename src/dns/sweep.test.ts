import { describe, expect, it } from 'vitest';
import { silentLogger } from '../observability/logger.js';
import { BackgroundSweep } from './sweep.js';
import type { Zone } from './types.js';

const zone = (id: string): Zone => ({ id, name: `${id}.test`, private: false });

describe('BackgroundSweep', () => {
  it('lists one zone at a time, each once, and syncs each after its listing, failed or not', async () => {
    const log: string[] = [];
    let inFlight = 0;
    let most = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    const sweep = new BackgroundSweep({
      list: async (z) => {
        inFlight++;
        most = Math.max(most, inFlight);
        log.push(`list ${z.id}`);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (z.id === 'b') throw new Error('throttled');
      },
      listed: (z) => {
        log.push(`sync ${z.id}`);
        if (z.id === 'c') done();
      },
      log: silentLogger,
    });
    sweep.add([zone('a'), zone('b')]);
    sweep.add([zone('b'), zone('c')]);
    await finished;
    expect(most).toBe(1);
    expect(log).toEqual(['list a', 'sync a', 'list b', 'sync b', 'list c', 'sync c']);
  });

  it('stops: waiting zones are dropped and nothing more is synced', async () => {
    const synced: string[] = [];
    const sweep = new BackgroundSweep({
      list: () => new Promise((r) => setTimeout(r, 10)),
      listed: (z) => void synced.push(z.id),
      log: silentLogger,
    });
    sweep.add([zone('a'), zone('b'), zone('c')]);
    await sweep.stop();
    expect(synced).toEqual([]);
    expect(sweep.size).toBe(0);
  });
});
