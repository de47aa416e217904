import { beforeAll, describe, expect, it } from 'vitest';
import { parsedLeaf, pendingLeaf, type CachedCertificateSlots } from '../x509.js';
import { cachedSecret, classifySecret, mergeSecretData } from './secret.js';
import { expiryOf } from '../tls-secrets.js';
import { testChain } from '../../../test/doubles/test-chain.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let leafPem = '';
let chainPem = '';
const notAfter = new Date('2031-01-01T00:00:00Z');

beforeAll(async () => {
  const c = await testChain(notAfter);
  leafPem = c.leafPem + '\n';
  chainPem = leafPem + c.caPem + '\n';
});

function managedSecret(data: Record<string, string>) {
  return {
    metadata: {
      name: 'a-tls',
      namespace: 'ns',
      labels: { 'app.kubernetes.io/managed-by': 'certroute' },
      annotations: { 'certroute.io/certificate-name': 'a-tls' },
    },
    type: 'kubernetes.io/tls',
    data,
  };
}

describe('cachedSecret', () => {
  it('keeps metadata and the leaf, no data: no key, no CA; the PEM goes once parsed', () => {
    const s = managedSecret({
      'tls.crt': b64(chainPem),
      'tls.key': b64('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
      'ca.crt': b64('ca'),
    });
    const c = cachedSecret(s);
    expect(c.data).toEqual({});
    expect(JSON.stringify(c)).not.toContain(b64(chainPem).slice(0, 40));
    expect(c.metadata).toEqual(s.metadata);
    expect(c.type).toBe('kubernetes.io/tls');
    const slots = c as CachedCertificateSlots;
    const pending = Buffer.from(slots[pendingLeaf] ?? '', 'base64').toString('utf8');
    expect(pending.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(pending.replace(/\s/g, '')).toBe(leafPem.replace(/\s/g, ''));
    // The first reader parses it; then only the parsed certificate is held, by every copy.
    expect(expiryOf(c)).toEqual(notAfter);
    expect(slots[pendingLeaf]).toBeUndefined();
    expect(slots[parsedLeaf]?.notAfter).toEqual(notAfter);
    expect(expiryOf({ ...c })).toEqual(notAfter);
  });

  it('gives what the controllers read from the full Secret', () => {
    const full = managedSecret({ 'tls.crt': b64(chainPem), 'tls.key': b64('k') });
    const cached = cachedSecret(full);
    const a = classifySecret(full, 'a-tls');
    const b = classifySecret(cached, 'a-tls');
    expect(a.kind).toBe('managed');
    expect(b.kind).toBe('managed');
    if (a.kind !== 'managed' || b.kind !== 'managed') return;
    expect(b.info?.dnsNames).toEqual(['a.example']);
    expect(b.info?.serialNumber).toBe(a.info?.serialNumber);
    expect(b.info?.notAfter).toEqual(notAfter);
    expect(b.info?.ariCertID).toBeDefined();
    expect(b.info?.ariCertID).toBe(a.info?.ariCertID);
    expect(expiryOf(cached)).toEqual(notAfter);
  });

  it('keeps a Secret without tls.crt as such', () => {
    const c = cachedSecret(managedSecret({ 'tls.key': b64('k') }));
    expect(c.data).toEqual({});
    const cls = classifySecret(c, 'a-tls');
    expect(cls).toMatchObject({ kind: 'managed', info: undefined });
  });

  it('keeps a Secret whose tls.crt does not parse as one without a certificate', () => {
    const c = cachedSecret(managedSecret({ 'tls.crt': b64('not a certificate') }));
    expect(c.data).toEqual({});
    expect(classifySecret(c, 'a-tls')).toMatchObject({ kind: 'managed', info: undefined });
    expect(expiryOf(c)).toBeUndefined();
  });
});

describe('mergeSecretData', () => {
  it.each<{
    name: string;
    existing: Record<string, string> | undefined;
    ours: Record<string, string>;
    want: Record<string, string>;
  }>([
    {
      name: 'keeps keys users or other tools added, replaces ours',
      existing: { 'tls.crt': 'old', 'tls.key': 'oldkey', 'keystore.jks': 'j', 'app.conf': 'c' },
      ours: { 'tls.crt': 'new', 'tls.key': 'newkey' },
      want: { 'tls.crt': 'new', 'tls.key': 'newkey', 'keystore.jks': 'j', 'app.conf': 'c' },
    },
    {
      name: 'drops a ca.crt the new chain no longer has',
      existing: { 'tls.crt': 'old', 'tls.key': 'k', 'ca.crt': 'root' },
      ours: { 'tls.crt': 'new', 'tls.key': 'k2' },
      want: { 'tls.crt': 'new', 'tls.key': 'k2' },
    },
    {
      name: 'a Secret with no data',
      existing: undefined,
      ours: { 'tls.crt': 'new', 'tls.key': 'k', 'ca.crt': 'root' },
      want: { 'tls.crt': 'new', 'tls.key': 'k', 'ca.crt': 'root' },
    },
  ])('$name', ({ existing, ours, want }) => {
    expect(mergeSecretData(existing, ours)).toEqual(want);
  });
});
