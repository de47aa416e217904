import { describe, expect, it } from 'vitest';
import { Fresh, newer } from './fresh.js';

const obj = (rv: string, tag = '') => ({ metadata: { resourceVersion: rv, name: tag } });

describe('Fresh', () => {
  it('prefers what this process wrote until the cache is as new', () => {
    const f = new Fresh<ReturnType<typeof obj>>();
    f.remember('k', obj('12', 'mine'));
    expect(f.pick('k', obj('11', 'cache'))?.metadata.name).toBe('mine');
    expect(f.pick('k', undefined)?.metadata.name).toBe('mine');
    expect(f.pick('k', obj('12', 'cache'))?.metadata.name).toBe('cache');
    // Forgotten once the cache caught up.
    expect(f.pick('k', obj('5', 'old'))?.metadata.name).toBe('old');
  });

  it('defers to the cache when versions do not parse', () => {
    expect(newer(obj('abc'), obj('1'))).toBe(false);
    expect(newer(obj('100'), obj('99'))).toBe(true);
    expect(newer(obj('99'), obj('100'))).toBe(false);
  });
});
