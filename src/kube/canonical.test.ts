import { describe, expect, it } from 'vitest';
import { canonical, sameStatus } from './canonical.js';

describe('canonical', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['key order', { b: 1, a: 2 }, { a: 2, b: 1 }, true],
    [
      'nested key order',
      { x: { b: 1, a: [{ d: 1, c: 2 }] } },
      { x: { a: [{ c: 2, d: 1 }], b: 1 } },
      true,
    ],
    ['array order counts', [1, 2], [2, 1], false],
    ['values count', { a: 1 }, { a: '1' }, false],
    ['null vs undefined', { a: null }, { a: undefined }, false],
    ['primitives', 'x', 'x', true],
  ])('%s -> equal: %s', (_name, a, b, equal) => {
    expect(canonical(a) === canonical(b)).toBe(equal);
  });

  it('sorts keys in the output', () => {
    expect(canonical({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });
});

describe('sameStatus', () => {
  const ready = (status: string, at: string) => ({
    type: 'Ready',
    status,
    reason: 'R',
    lastTransitionTime: at,
  });
  const issuing = { type: 'Issuing', status: 'False', reason: 'R', lastTransitionTime: 't' };

  it.each<[string, object, object, boolean]>([
    [
      'only transition times differ',
      { conditions: [ready('True', 'a')] },
      { conditions: [ready('True', 'b')] },
      true,
    ],
    [
      'condition order differs',
      { conditions: [ready('True', 'a'), issuing] },
      { conditions: [issuing, ready('True', 'a')] },
      true,
    ],
    [
      'a condition status differs',
      { conditions: [ready('True', 'a')] },
      { conditions: [ready('False', 'a')] },
      false,
    ],
    ['a field differs', { notAfter: 'x' }, { notAfter: 'y' }, false],
    ['no conditions on either side', { a: 1 }, { a: 1 }, true],
  ])('%s -> %s', (_name, a, b, same) => {
    expect(sameStatus(a, b)).toBe(same);
  });
});
