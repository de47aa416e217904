import { describe, expect, it } from 'vitest';
import { OrderBudget } from './budget.js';

describe('OrderBudget', () => {
  const minute = 60_000;

  it.each([
    { name: 'under the limit', limit: 3, before: [0, 1], at: 2, ok: true },
    { name: 'at the limit', limit: 2, before: [0, 10], at: 20, ok: false, retry: 40 * minute },
    { name: 'the oldest has left the window', limit: 2, before: [0, 10], at: 60, ok: true },
    {
      name: 'a limit of 0 never allows',
      limit: 0,
      before: [],
      at: 5,
      ok: false,
      retry: 60 * minute,
    },
  ])('$name', ({ limit, before, at, ok, retry }) => {
    let now = 0;
    const b = new OrderBudget(() => now);
    for (const t of before) {
      now = t * minute;
      expect(b.take('ns', 100).ok).toBe(true);
    }
    now = at * minute;
    // peek says what take will, and takes nothing.
    const p = b.peek('ns', limit);
    expect(b.used('ns')).toBe(before.filter((t) => t > at - 60).length);
    const r = b.take('ns', limit);
    expect(p).toEqual(r);
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r.retryAfterMs).toBe(retry);
  });

  it('says when enough orders have left the window after the limit was lowered', () => {
    let now = 0;
    const b = new OrderBudget(() => now);
    for (const t of [0, 10, 20, 30, 40]) {
      now = t * minute;
      b.take('ns', 10);
    }
    now = 45 * minute;
    // 5 taken, limit 3: the orders of minutes 0, 10 and 20 must leave; the third leaves at 80.
    expect(b.take('ns', 3)).toEqual({ ok: false, retryAfterMs: 35 * minute });
    now = 80 * minute + 1;
    expect(b.take('ns', 3).ok).toBe(true);
  });

  it('keeps namespaces apart and counts only what it allowed', () => {
    let now = 0;
    const b = new OrderBudget(() => now);
    expect(b.take('a', 1).ok).toBe(true);
    expect(b.take('a', 1).ok).toBe(false);
    expect(b.take('b', 1).ok).toBe(true);
    expect(b.used('a')).toBe(1);
    now = 61 * minute;
    expect(b.used('a')).toBe(0);
  });
});
