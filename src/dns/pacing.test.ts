import { describe, expect, it } from 'vitest';
import { ZonePacer } from './pacing.js';

describe('ZonePacer', () => {
  it('lets the first change out at once and holds the next until the interval has passed', () => {
    const cases: { interval: number; calls: number[]; at: number; zone?: string; want: number }[] =
      [
        { interval: 1000, calls: [], at: 5, want: 0 },
        { interval: 1000, calls: [100], at: 150, want: 950 },
        { interval: 1000, calls: [100], at: 1100, want: 0 },
        { interval: 1000, calls: [100], at: 2000, want: 0 },
        { interval: 1000, calls: [100, 1200], at: 1300, want: 900 },
        // Zones are paced apart: another zone's call holds nothing back.
        { interval: 1000, calls: [100], at: 150, zone: 'z2', want: 0 },
        // 0: no pacing.
        { interval: 0, calls: [100], at: 100, want: 0 },
      ];
    for (const c of cases) {
      const p = new ZonePacer(c.interval);
      for (const t of c.calls) p.called('z1', t);
      expect(p.waitMs(c.zone ?? 'z1', c.at), JSON.stringify(c)).toBe(c.want);
    }
  });

  it('forgets a zone', () => {
    const p = new ZonePacer(1000);
    p.called('z1', 0);
    p.forget('z1');
    expect(p.waitMs('z1', 1)).toBe(0);
  });
});
