import { describe, expect, it } from 'vitest';
import { shared, sharedCount } from './shared-strings.js';

describe('shared', () => {
  it('keeps one copy of each value, returns it unchanged, and is bounded', () => {
    const before = sharedCount();
    const v = `shared-test-${Math.random()}`;
    expect(shared(v)).toBe(v);
    expect(sharedCount()).toBe(before + 1);
    // The same value again (a separate copy, as JSON.parse gives it): nothing new is held.
    expect(shared([...v].join(''))).toBe(v);
    expect(sharedCount()).toBe(before + 1);
    // Long values are not worth a table entry.
    const long = 'x'.repeat(129);
    expect(shared(long)).toBe(long);
    expect(sharedCount()).toBe(before + 1);
  });

  it('stops holding new values at its limit, and still returns them', () => {
    for (let i = 0; sharedCount() < 10_000; i++) shared(`fill-${i}`);
    const full = sharedCount();
    expect(shared('one-more-value')).toBe('one-more-value');
    expect(sharedCount()).toBe(full);
  });
});
