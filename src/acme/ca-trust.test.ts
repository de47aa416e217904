import { describe, expect, it } from 'vitest';
import { CaTrust, originTrust, type TrustEntry } from './ca-trust.js';

const LE = 'https://acme.example/directory';
const PRIV = 'https://ca.internal:14000/dir';
const c = (server: string, caBundle?: string): TrustEntry => ({ cluster: true, server, caBundle });
const n = (server: string, caBundle?: string): TrustEntry => ({ cluster: false, server, caBundle });

describe('originTrust', () => {
  it.each<[string, TrustEntry[], [string, string | undefined][]]>([
    ['a ClusterIssuer with a bundle', [c(PRIV, 'A')], [['https://ca.internal:14000', 'A\n']]],
    ['a ClusterIssuer on the system roots', [c(LE)], [['https://acme.example', undefined]]],
    [
      "an Issuer cannot replace a ClusterIssuer's trust",
      [c(LE), n(LE, 'EVIL')],
      [['https://acme.example', undefined]],
    ],
    [
      "nor remove a ClusterIssuer's bundle",
      [n(PRIV), c(PRIV, 'A')],
      [['https://ca.internal:14000', 'A\n']],
    ],
    [
      'Issuers alone: their bundles',
      [n(PRIV, 'B'), n(PRIV, 'A'), n(PRIV, 'A')],
      [['https://ca.internal:14000', 'A\nB\n']],
    ],
    ['an unparsable URL is left out', [n('not a url', 'X')], []],
  ])('%s', (_name, entries, want) => {
    expect([...originTrust(entries)]).toEqual(want);
  });
});

describe('CaTrust', () => {
  it('applies only changes, and drops an origin when its last issuer goes', () => {
    const applied: [string, string | undefined][] = [];
    const t = new CaTrust((url, pem) => applied.push([url, pem]));
    t.set('Issuer/a/x', n(PRIV, 'B'));
    t.set('Issuer/a/x', n(PRIV, 'B'));
    t.set('ClusterIssuer/p', c(PRIV, 'A'));
    t.set('ClusterIssuer/p', undefined);
    t.set('Issuer/a/x', undefined);
    expect(applied).toEqual([
      ['https://ca.internal:14000', 'B\n'],
      ['https://ca.internal:14000', 'A\n'],
      ['https://ca.internal:14000', 'B\n'],
      ['https://ca.internal:14000', undefined],
    ]);
  });

  it('moves an issuer whose server changes, and leaves other origins alone', () => {
    const applied: [string, string | undefined][] = [];
    const t = new CaTrust((url, pem) => applied.push([url, pem]));
    t.set('ClusterIssuer/le', c(LE));
    t.set('Issuer/a/x', n(PRIV, 'B'));
    t.set('Issuer/a/x', n('https://other.internal/dir', 'B'));
    expect(applied).toEqual([
      ['https://acme.example', undefined],
      ['https://ca.internal:14000', 'B\n'],
      ['https://ca.internal:14000', undefined],
      ['https://other.internal', 'B\n'],
    ]);
  });
});
