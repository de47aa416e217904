import { describe, expect, it } from 'vitest';
import { paint, serialize, table, useColour } from './render.js';

describe('useColour', () => {
  it.each<[boolean | undefined, Record<string, string | undefined>, boolean]>([
    [true, {}, true],
    [false, {}, false],
    [undefined, {}, false],
    [true, { NO_COLOR: '' }, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { TERM: 'dumb' }, false],
  ])('tty %s, env %j -> %s', (tty, env, want) => {
    expect(useColour(tty, env)).toBe(want);
  });
});

describe('table', () => {
  it('pads to the widest cell, colour codes not counted, the last column unpadded', () => {
    const red = paint({ colour: true }, 'red', 'failed');
    expect(
      table(
        ['A', 'STATE', 'X'],
        [
          ['long-name', red, 'x'],
          ['b', 'ok', ''],
        ],
      ),
    ).toBe(['A          STATE   X', `long-name  ${red}  x`, 'b          ok'].join('\n'));
  });
  it('no colour: plain text', () => {
    expect(paint({ colour: false }, 'red', 'failed')).toBe('failed');
  });
});

describe('serialize', () => {
  it.each<['json' | 'yaml', string]>([
    ['json', '{\n  "a": [\n    1\n  ]\n}'],
    ['yaml', 'a:\n  - 1'],
  ])('%s', (f, want) => {
    expect(serialize(f, { a: [1] })).toBe(want);
  });
});
