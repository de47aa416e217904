import { describe, expect, it } from 'vitest';
import { preflightBackoffMs, preflightDelayMs, preflightMaxDelayMs } from './gates.js';

describe('preflightBackoffMs', () => {
  it.each([
    [0, preflightDelayMs],
    [1, 2 * preflightDelayMs],
    [3, 8 * preflightDelayMs],
    [5, preflightMaxDelayMs],
    [50, preflightMaxDelayMs],
    [1e9, preflightMaxDelayMs],
  ])('try %d waits %d ms', (tries, ms) => {
    expect(preflightBackoffMs(tries)).toBe(ms);
  });
});
