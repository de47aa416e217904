import { describe, expect, it } from 'vitest';
import { sameCondition, setCondition } from './conditions.js';

const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-02T00:00:00Z');
const ready = { type: 'Ready', status: 'True' as const, reason: 'Issued', message: 'ok' };

describe('setCondition', () => {
  it('adds, keeps the transition time while the status holds, and moves it on change', () => {
    const a = setCondition(undefined, ready, t1);
    expect(a).toEqual([{ ...ready, lastTransitionTime: t1.toISOString() }]);
    const b = setCondition(a, { ...ready, message: 'still ok' }, t2);
    expect(b[0]?.lastTransitionTime).toBe(t1.toISOString());
    expect(b[0]?.message).toBe('still ok');
    const c = setCondition(b, { ...ready, status: 'False', reason: 'Failed' }, t2);
    expect(c[0]?.lastTransitionTime).toBe(t2.toISOString());
  });

  it('leaves other conditions alone', () => {
    const a = setCondition(undefined, ready, t1);
    const b = setCondition(a, { type: 'Issuing', status: 'True', reason: 'x', message: '' }, t2);
    expect(b.map((c) => c.type).sort()).toEqual(['Issuing', 'Ready']);
    expect(sameCondition(b, ready)).toBe(true);
    expect(sameCondition(b, { ...ready, reason: 'Other' })).toBe(false);
  });
});
