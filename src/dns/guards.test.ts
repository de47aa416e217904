import { describe, expect, it } from 'vitest';
import { parseApprovals } from './approvals.js';
import { capDeletions, deletionToken, isDeletion } from './guards.js';
import type { ChangeGroup, RecordSet } from './types.js';

const rs = (name: string, type = 'A'): RecordSet => ({ name, type, ttl: 300, values: ['x'] });

function deletion(name: string): ChangeGroup {
  return {
    key: `${name}|A`,
    resource: 'ingress/a/x',
    changes: [
      { action: 'DELETE', record: rs(name) },
      { action: 'DELETE', record: rs(`a-${name}`, 'TXT') },
    ],
  };
}

function create(name: string): ChangeGroup {
  return {
    key: `${name}|A`,
    resource: 'ingress/a/x',
    changes: [
      { action: 'CREATE', record: rs(name) },
      { action: 'CREATE', record: rs(`a-${name}`, 'TXT') },
    ],
  };
}

/** A record replaced by one of another type: an update, not a deletion. */
const replace: ChangeGroup = {
  key: 'r.example.test|A',
  resource: 'ingress/a/x',
  changes: [
    { action: 'DELETE', record: rs('r.example.test', 'CNAME') },
    { action: 'CREATE', record: rs('r.example.test') },
  ],
};

const names = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.example.test`);

describe('capDeletions', () => {
  it.each<[string, number, number, boolean]>([
    ['under the cap', 5, 3, false],
    ['at the cap', 3, 3, false],
    ['over the cap', 3, 5, true],
    ['no cap (0)', 0, 500, false],
  ])('%s: max %i, %i deletions, blocked %s', (_l, max, n, blocked) => {
    const groups = [...names(n).map(deletion), create('new.example.test'), replace];
    const res = capDeletions(groups, max);
    expect(res.blocked !== undefined).toBe(blocked);
    expect(res.allowed.filter(isDeletion)).toHaveLength(blocked ? 0 : n);
    // Creates and updates always go out.
    expect(res.allowed).toContain(groups.at(-2));
    expect(res.allowed).toContain(replace);
  });

  it('describes the blocked set: count, a sorted sample of ten, a token of the whole set', () => {
    const res = capDeletions(names(12).reverse().map(deletion), 3);
    expect(res.blocked?.count).toBe(12);
    expect(res.blocked?.sample).toHaveLength(10);
    expect(res.blocked?.sample[0]).toBe('A h0.example.test');
    expect(res.blocked?.token).toMatch(/^[0-9a-f]{12}$/);
  });

  it('the token depends on the set, not on its order', () => {
    const a = capDeletions(names(5).map(deletion), 3).blocked?.token;
    const b = capDeletions(names(5).reverse().map(deletion), 3).blocked?.token;
    const c = capDeletions(names(6).map(deletion), 3).blocked?.token;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toBe(deletionToken(names(5).map((n) => `A ${n}`)));
  });

  it('an approval of exactly this set lets it go; of another set it does not', () => {
    const groups = names(5).map(deletion);
    const token = capDeletions(groups, 3).blocked?.token ?? '';
    expect(capDeletions(groups, 3, new Set([token])).allowed).toEqual(groups);
    const more = [...groups, deletion('late.example.test')];
    expect(capDeletions(more, 3, new Set([token])).blocked?.count).toBe(6);
  });
});

describe('parseApprovals', () => {
  it.each<[string | undefined, string[]]>([
    [undefined, []],
    ['', []],
    ['abc', ['abc']],
    [' abc , def,,', ['abc', 'def']],
  ])('%j', (value, tokens) => {
    expect([...parseApprovals(value)]).toEqual(tokens);
  });
});
