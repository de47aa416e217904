import { describe, expect, it } from 'vitest';
import { renewalTime, retryDelayMs, stablePick } from './renewal.js';

const day = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const cert90 = { notBefore: t0, notAfter: at(90 * day) };

describe('renewalTime', () => {
  const cases: {
    name: string;
    cert: { notBefore: Date; notAfter: Date; renewBeforeMs?: number };
    ari?: { start: Date; end: Date };
    now?: Date;
    pick?: number;
    want: Date;
    reason: RegExp;
  }[] = [
    { name: '2/3 of a 90-day lifetime', cert: cert90, want: at(60 * day), reason: /2\/3/ },
    {
      name: 'renewBefore 30 days',
      cert: { ...cert90, renewBeforeMs: 30 * day },
      want: at(60 * day),
      reason: /renewBefore/,
    },
    {
      name: 'renewBefore 45 days',
      cert: { ...cert90, renewBeforeMs: 45 * day },
      want: at(45 * day),
      reason: /renewBefore/,
    },
    {
      name: 'renewBefore 2 days hits the emergency floor (9 days)',
      cert: { ...cert90, renewBeforeMs: 2 * day },
      want: at(81 * day),
      reason: /emergency floor/,
    },
    {
      name: 'renewBefore longer than the lifetime is ignored',
      cert: { ...cert90, renewBeforeMs: 100 * day },
      want: at(60 * day),
      reason: /ignored/,
    },
    {
      name: 'ARI window start (pick 0)',
      cert: cert90,
      ari: { start: at(50 * day), end: at(52 * day) },
      pick: 0,
      want: at(50 * day),
      reason: /ARI window/,
    },
    {
      name: 'ARI window middle (pick 0.5) beats renewBefore',
      cert: { ...cert90, renewBeforeMs: 30 * day },
      ari: { start: at(50 * day), end: at(52 * day) },
      pick: 0.5,
      want: at(51 * day),
      reason: /ARI window/,
    },
    {
      name: 'ARI window after the floor: floor wins',
      cert: cert90,
      ari: { start: at(85 * day), end: at(88 * day) },
      pick: 0,
      want: at(81 * day),
      reason: /emergency floor.*ARI/,
    },
    {
      name: 'ARI window in the past (revoked, CA wants renewal now)',
      cert: cert90,
      ari: { start: at(-2 * day), end: at(-1 * day) },
      now: at(10 * day),
      want: at(10 * day),
      reason: /already ended/,
    },
    {
      name: 'a 6-day short-lived certificate',
      cert: { notBefore: t0, notAfter: at(6 * day) },
      want: at(4 * day),
      reason: /2\/3/,
    },
    {
      name: 'inverted ARI window is ignored',
      cert: cert90,
      ari: { start: at(52 * day), end: at(50 * day) },
      want: at(60 * day),
      reason: /2\/3/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = renewalTime(c.cert, c.ari, c.now ?? at(day), c.pick);
      expect(d.at.toISOString()).toBe(c.want.toISOString());
      expect(d.reason).toMatch(c.reason);
    });
  }

  it('picks the same instant for the same window, inside it', () => {
    const w = { start: at(50 * day), end: at(52 * day) };
    const a = renewalTime(cert90, w, t0);
    const b = renewalTime(cert90, { ...w }, at(day));
    expect(a.at.getTime()).toBe(b.at.getTime());
    expect(a.at.getTime()).toBeGreaterThanOrEqual(w.start.getTime());
    expect(a.at.getTime()).toBeLessThanOrEqual(w.end.getTime());
    expect(stablePick(w)).toBeGreaterThanOrEqual(0);
    expect(stablePick(w)).toBeLessThan(1);
  });

  it('spreads certificates that share a window over most of it', () => {
    const w = { start: at(50 * day), end: at(52 * day) };
    const times = Array.from({ length: 100 }, (_, i) =>
      renewalTime(
        { ...cert90, identity: `0A${i.toString(16).padStart(4, '0')}` },
        w,
        t0,
      ).at.getTime(),
    );
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(w.start.getTime());
      expect(t).toBeLessThanOrEqual(w.end.getTime());
    }
    const spread =
      (Math.max(...times) - Math.min(...times)) / (w.end.getTime() - w.start.getTime());
    expect(spread).toBeGreaterThan(0.5);
    expect(new Set(times).size).toBe(100);
    // One certificate: the same instant on every call (every replica, every reconcile).
    const again = renewalTime({ ...cert90, identity: '0A0007' }, w, at(day)).at.getTime();
    expect(again).toBe(times[7]);
  });
});

describe('retryDelayMs', () => {
  it.each([
    [0, 0],
    [1, 60_000],
    [2, 120_000],
    [5, 16 * 60_000],
    [9, 256 * 60_000],
    [10, 8 * 3_600_000],
    [100, 8 * 3_600_000],
  ])('failure %i waits %i ms', (n, ms) => {
    expect(retryDelayMs(n)).toBe(ms);
  });
});
