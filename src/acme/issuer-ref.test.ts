import { describe, expect, it } from 'vitest';
import {
  describeIssuer,
  issuerKeyOf,
  issuerKeyString,
  keyOfIssuerObject,
  parseIssuerKey,
  sameIssuer,
  secretNamespace,
  type IssuerKey,
} from './issuer-ref.js';

const cluster = (name: string): IssuerKey => ({ kind: 'ClusterIssuer', namespace: '', name });
const ns = (namespace: string, name: string): IssuerKey => ({ kind: 'Issuer', namespace, name });

describe('issuerKeyOf: what a Certificate names', () => {
  it.each<[string, string, { name: string; kind?: 'ClusterIssuer' | 'Issuer' }, IssuerKey]>([
    ['no kind: a ClusterIssuer', 'team-a', { name: 'le' }, cluster('le')],
    ['kind ClusterIssuer', 'team-a', { name: 'le', kind: 'ClusterIssuer' }, cluster('le')],
    [
      "kind Issuer: in the Certificate's namespace",
      'team-a',
      { name: 'le', kind: 'Issuer' },
      ns('team-a', 'le'),
    ],
    [
      'the same Issuer name elsewhere is another key',
      'team-b',
      { name: 'le', kind: 'Issuer' },
      ns('team-b', 'le'),
    ],
  ])('%s', (_n, namespace, ref, key) => {
    expect(issuerKeyOf(namespace, ref)).toEqual(key);
  });

  it('keys an issuer object by its kind (a ClusterIssuer has no namespace)', () => {
    expect(keyOfIssuerObject('ClusterIssuer', { name: 'le', namespace: 'x' })).toEqual(
      cluster('le'),
    );
    expect(keyOfIssuerObject('Issuer', { name: 'le', namespace: 'team-a' })).toEqual(
      ns('team-a', 'le'),
    );
  });
});

describe('issuer keys', () => {
  it.each<[IssuerKey, string, string]>([
    [cluster('le'), 'ClusterIssuer/le', 'ClusterIssuer le'],
    [ns('team-a', 'le'), 'Issuer/team-a/le', 'Issuer team-a/le'],
  ])('%o <-> %s', (key, s, text) => {
    expect(issuerKeyString(key)).toBe(s);
    expect(parseIssuerKey(s)).toEqual(key);
    expect(describeIssuer(key)).toBe(text);
  });

  it.each(['le', 'Issuer/le', 'ClusterIssuer/a/b', 'Issuer//le', 'Other/x', ''])(
    'refuses %j',
    (s) => expect(parseIssuerKey(s)).toBeUndefined(),
  );

  it('tells a ClusterIssuer x from an Issuer x, and Issuers x of two namespaces apart', () => {
    expect(sameIssuer(cluster('x'), ns('a', 'x'))).toBe(false);
    expect(sameIssuer(ns('a', 'x'), ns('b', 'x'))).toBe(false);
    expect(sameIssuer(ns('a', 'x'), ns('a', 'x'))).toBe(true);
  });
});

describe('secretNamespace', () => {
  it("is the operator's for a ClusterIssuer and the Issuer's own for an Issuer", () => {
    expect(secretNamespace(cluster('le'), 'certroute')).toBe('certroute');
    expect(secretNamespace(ns('team-a', 'le'), 'certroute')).toBe('team-a');
  });
});
