import { describe, expect, it } from 'vitest';
import { LineSplitter } from './raw-api.js';

function split(chunks: (string | Buffer)[], end = true): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  if (end) s.end();
  return lines;
}

describe('LineSplitter', () => {
  const euro = Buffer.from('€'); // three bytes in UTF-8
  it.each<[string, (string | Buffer)[], string[]]>([
    ['one line per chunk', ['{"a":1}\n', '{"b":2}\n'], ['{"a":1}', '{"b":2}']],
    [
      'several lines in one chunk',
      ['{"a":1}\n{"b":2}\n{"c":3}\n'],
      ['{"a":1}', '{"b":2}', '{"c":3}'],
    ],
    ['a line across three chunks', ['{"a":', '"xyz', '"}\n'], ['{"a":"xyz"}']],
    [
      'a chunk that ends a line and starts the next',
      ['{"a"', ':1}\n{"b"', ':2}\n'],
      ['{"a":1}', '{"b":2}'],
    ],
    [
      'a multi-byte character split between chunks',
      [Buffer.from('"'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('"\n')],
      ['"€"'],
    ],
    ['a last line without a newline', ['{"a":1}\n{"b":2}'], ['{"a":1}', '{"b":2}']],
    ['empty lines and CRLF', ['\n{"a":1}\r\n\n'], ['{"a":1}\r']],
    ['a newline as its own chunk', ['{"a":1}', '\n', '\n'], ['{"a":1}']],
  ])('%s', (_name, chunks, want) => {
    expect(split(chunks)).toEqual(want);
  });

  it('holds a partial line until its end arrives', () => {
    expect(split(['{"a":1}\n{"b":'], false)).toEqual(['{"a":1}']);
  });

  it('emits lines as strings of their own: the chunk may be reused', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const chunk = Buffer.from('{"a":1}\n{"b":2}\n');
    s.push(chunk);
    chunk.fill(0); // the emitted lines are strings of their own
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });
});
