import { describe, expect, it } from 'vitest';
import { applyPolicy } from './policy.js';
import type { Policy } from './policy.js';
import type { Action, ChangeGroup, RecordSet } from './types.js';

const a = (name: string): RecordSet => ({ name, type: 'A', ttl: 300, values: ['192.0.2.1'] });
const cname = (name: string): RecordSet => ({ name, type: 'CNAME', ttl: 300, values: ['lb.x'] });
const txt = (name: string): RecordSet => ({ name, type: 'TXT', ttl: 300, values: ['"o"'] });

function group(key: string, ...changes: [Action, RecordSet][]): ChangeGroup {
  return {
    key,
    resource: 'ingress/apps/web',
    changes: changes.map(([action, record]) => ({ action, record })),
  };
}

const groups = {
  create: group('create', ['CREATE', a('new')], ['CREATE', txt('a-new')]),
  createOverStaleCompanion: group('stale', ['CREATE', a('stale')], ['UPSERT', txt('a-stale')]),
  update: group('update', ['UPSERT', a('upd')]),
  companionOnly: group('moved', ['UPSERT', txt('a-moved')]),
  adoption: group(
    'adopt',
    ['UPSERT', a('adopt')],
    ['UPSERT', txt('a-adopt')],
    ['DELETE', txt('adopt')],
  ),
  adoptionRegistryOnly: group('reg', ['CREATE', txt('a-reg')], ['DELETE', txt('reg')]),
  replacement: group(
    'replace',
    ['DELETE', cname('rep')],
    ['DELETE', txt('cname-rep')],
    ['CREATE', a('rep')],
    ['CREATE', txt('a-rep')],
  ),
  deletion: group('delete', ['DELETE', a('old')], ['DELETE', txt('a-old')]),
} satisfies Record<string, ChangeGroup>;

type Name = keyof typeof groups;
const all = Object.keys(groups) as Name[];

describe('applyPolicy', () => {
  it.each<[Policy, Name[]]>([
    ['sync', all],
    [
      'upsert-only',
      [
        'create',
        'createOverStaleCompanion',
        'update',
        'companionOnly',
        'adoption',
        'adoptionRegistryOnly',
        'replacement',
      ],
    ],
    ['create-only', ['create', 'createOverStaleCompanion']],
  ])('%s keeps %j', (policy, kept) => {
    const out = applyPolicy(policy, Object.values(groups));
    expect(out).toEqual(kept.map((n) => groups[n]));
  });

  it.each<Name>(all)('sync keeps %s', (name) => {
    expect(applyPolicy('sync', [groups[name]])).toEqual([groups[name]]);
  });

  it('sync returns the groups unchanged', () => {
    const input = Object.values(groups);
    expect(applyPolicy('sync', input)).toBe(input);
  });

  it.each<[Name, boolean]>([
    ['create', true],
    ['update', true],
    ['replacement', true],
    ['deletion', false],
  ])('upsert-only: %s kept = %s', (name, kept) => {
    expect(applyPolicy('upsert-only', [groups[name]])).toEqual(kept ? [groups[name]] : []);
  });

  it.each<[Name, boolean]>([
    ['create', true],
    ['createOverStaleCompanion', true],
    ['update', false],
    ['companionOnly', false],
    ['adoption', false],
    ['adoptionRegistryOnly', false],
    ['replacement', false],
    ['deletion', false],
  ])('create-only: %s kept = %s', (name, kept) => {
    expect(applyPolicy('create-only', [groups[name]])).toEqual(kept ? [groups[name]] : []);
  });

  it.each<Policy>(['sync', 'upsert-only', 'create-only'])('%s on no groups', (policy) => {
    expect(applyPolicy(policy, [])).toEqual([]);
  });

  it('keeps the order of the groups it keeps', () => {
    const input = [groups.update, groups.deletion, groups.create, groups.replacement];
    expect(applyPolicy('upsert-only', input).map((g) => g.key)).toEqual([
      'update',
      'create',
      'replace',
    ]);
  });
});
