import { describe, expect, it } from 'vitest';
import type { KeyAlgorithm } from '../api/v1alpha1.js';
import {
  hostnameProblem,
  annotations,
  isValidHostname,
  normalizeKeyAlgorithm,
  parseAnnotations,
} from './annotations.js';
import type { IngressSettings, ParseDefaults } from './annotations.js';

const ISSUER = 'certroute.io/issuer';
const CM_ISSUER = 'cert-manager.io/cluster-issuer';
const ISSUER_KIND = 'certroute.io/issuer-kind';
const CM_NS_ISSUER = 'cert-manager.io/issuer';
const CM_ISSUER_KIND = 'cert-manager.io/issuer-kind';
const TLS_ACME = 'kubernetes.io/tls-acme';
const DNS = 'certroute.io/dns';
const TARGET = 'certroute.io/target';
const ACM_REGION = 'certroute.io/acm-region';
const CHALLENGE = 'certroute.io/challenge';
const KEY_ALGORITHM = 'certroute.io/key-algorithm';
const RENEW_BEFORE = 'certroute.io/renew-before';
const TTL = 'certroute.io/ttl';
const ED_TTL_ALPHA = 'external-dns.alpha.kubernetes.io/ttl';
const ED_TTL = 'external-dns.kubernetes.io/ttl';
const HOSTNAME = 'certroute.io/hostname';
const ED_HOSTNAME_ALPHA = 'external-dns.alpha.kubernetes.io/hostname';
const ED_HOSTNAME = 'external-dns.kubernetes.io/hostname';
const DNS_TARGET = 'certroute.io/dns-target';
const ED_TARGET_ALPHA = 'external-dns.alpha.kubernetes.io/target';
const ED_TARGET = 'external-dns.kubernetes.io/target';

const defaults: ParseDefaults = {
  dnsDefault: false,
  defaultIssuer: 'default-issuer',
  awsRegion: 'us-east-1',
};
const noDefaults: ParseDefaults = { dnsDefault: false, defaultIssuer: '' };

function parse(a: Record<string, string>, d: ParseDefaults = defaults) {
  const { settings, problems } = parseAnnotations(a, d);
  return { settings, problems, keys: problems.map((p) => p.annotation) };
}

describe('annotation names', () => {
  it('match the documented keys', () => {
    expect(annotations).toEqual({
      issuer: ISSUER,
      issuerKind: ISSUER_KIND,
      dns: DNS,
      target: TARGET,
      acmRegion: ACM_REGION,
      challenge: CHALLENGE,
      keyAlgorithm: KEY_ALGORITHM,
      renewBefore: RENEW_BEFORE,
      ttl: TTL,
      hostname: HOSTNAME,
      dnsTarget: DNS_TARGET,
      cmClusterIssuer: CM_ISSUER,
      cmIssuer: CM_NS_ISSUER,
      cmIssuerKind: CM_ISSUER_KIND,
      tlsAcme: TLS_ACME,
      edHostname: [ED_HOSTNAME_ALPHA, ED_HOSTNAME],
      edTtl: [ED_TTL_ALPHA, ED_TTL],
      edTarget: [ED_TARGET_ALPHA, ED_TARGET],
    });
  });
});

describe('parseAnnotations: no annotations', () => {
  it.each<[string, ParseDefaults, IngressSettings]>([
    ['dns off by default', defaults, { dns: false, target: 'secret', extraHostnames: [] }],
    [
      'dns on by default',
      { ...defaults, dnsDefault: true },
      { dns: true, target: 'secret', extraHostnames: [] },
    ],
    ['no defaults at all', noDefaults, { dns: false, target: 'secret', extraHostnames: [] }],
  ])('%s', (_name, d, expected) => {
    const { settings, problems } = parse({}, d);
    expect(settings).toEqual(expected);
    expect(settings.issuer).toBeUndefined();
    expect(problems).toEqual([]);
  });
});

describe('parseAnnotations: issuer', () => {
  it.each<[string, Record<string, string>, ParseDefaults, string | undefined, string[]]>([
    ['none', {}, defaults, undefined, []],
    ['certroute.io/issuer', { [ISSUER]: 'letsencrypt-prod' }, defaults, 'letsencrypt-prod', []],
    ['cert-manager.io/cluster-issuer', { [CM_ISSUER]: 'cm-issuer' }, defaults, 'cm-issuer', []],
    ["both: certroute's wins", { [ISSUER]: 'ours', [CM_ISSUER]: 'theirs' }, defaults, 'ours', []],
    [
      "both, certroute's invalid: it still wins and is reported",
      { [ISSUER]: 'Ours', [CM_ISSUER]: 'theirs' },
      defaults,
      undefined,
      [ISSUER],
    ],
    [
      "both, cert-manager's invalid: ignored",
      { [ISSUER]: 'ours', [CM_ISSUER]: 'Theirs!' },
      defaults,
      'ours',
      [],
    ],
    ['cert-manager.io invalid', { [CM_ISSUER]: 'Bad_Name' }, defaults, undefined, [CM_ISSUER]],
    ['tls-acme with a default issuer', { [TLS_ACME]: 'true' }, defaults, 'default-issuer', []],
    [
      'tls-acme without a default issuer',
      { [TLS_ACME]: 'true' },
      noDefaults,
      undefined,
      [TLS_ACME],
    ],
    ['tls-acme "false"', { [TLS_ACME]: 'false' }, defaults, undefined, []],
    ['tls-acme "false", no default', { [TLS_ACME]: 'false' }, noDefaults, undefined, []],
    [
      'explicit issuer beats tls-acme',
      { [TLS_ACME]: 'true', [ISSUER]: 'explicit' },
      defaults,
      'explicit',
      [],
    ],
    [
      'cert-manager issuer beats tls-acme',
      { [TLS_ACME]: 'true', [CM_ISSUER]: 'cm' },
      noDefaults,
      'cm',
      [],
    ],
    [
      'invalid explicit issuer does not fall back to the default via tls-acme',
      { [TLS_ACME]: 'true', [ISSUER]: 'NOPE' },
      defaults,
      undefined,
      [ISSUER],
    ],
  ])('%s', (_name, a, d, issuer, problemKeys) => {
    const { settings, keys } = parse(a, d);
    expect(settings.issuer).toBe(issuer);
    expect(keys).toEqual(problemKeys);
  });

  it.each<[string, Record<string, string>, string | undefined, 'Issuer' | undefined, string[]]>([
    ['certroute.io/issuer alone: a ClusterIssuer', { [ISSUER]: 'le' }, 'le', undefined, []],
    [
      'certroute.io/issuer-kind Issuer',
      { [ISSUER]: 'le', [ISSUER_KIND]: 'Issuer' },
      'le',
      'Issuer',
      [],
    ],
    [
      'certroute.io/issuer-kind ClusterIssuer (the default, left unset)',
      { [ISSUER]: 'le', [ISSUER_KIND]: 'ClusterIssuer' },
      'le',
      undefined,
      [],
    ],
    [
      "cert-manager.io/issuer: cert-manager's Issuer",
      { [CM_NS_ISSUER]: 'team' },
      'team',
      'Issuer',
      [],
    ],
    [
      'cert-manager.io/issuer with issuer-kind ClusterIssuer',
      { [CM_NS_ISSUER]: 'le', [CM_ISSUER_KIND]: 'ClusterIssuer' },
      'le',
      undefined,
      [],
    ],
    [
      "cert-manager's issuer-kind read for certroute.io/issuer too",
      { [ISSUER]: 'team', [CM_ISSUER_KIND]: 'Issuer' },
      'team',
      'Issuer',
      [],
    ],
    [
      'certroute.io/issuer beats cert-manager.io/issuer',
      { [ISSUER]: 'ours', [CM_NS_ISSUER]: 'theirs' },
      'ours',
      undefined,
      [],
    ],
    [
      'cert-manager.io/issuer and cluster-issuer both: a conflict, no certificates',
      { [CM_NS_ISSUER]: 'a', [CM_ISSUER]: 'b' },
      undefined,
      undefined,
      [CM_NS_ISSUER],
    ],
    [
      'cluster-issuer with issuer-kind Issuer: a conflict',
      { [CM_ISSUER]: 'b', [ISSUER_KIND]: 'Issuer' },
      undefined,
      undefined,
      [CM_ISSUER],
    ],
    [
      'the two issuer-kind annotations disagree: a conflict',
      { [ISSUER]: 'le', [ISSUER_KIND]: 'Issuer', [CM_ISSUER_KIND]: 'ClusterIssuer' },
      undefined,
      undefined,
      [ISSUER_KIND],
    ],
    [
      'an unknown kind (an external issuer): no certificates',
      { [CM_NS_ISSUER]: 'pca', [CM_ISSUER_KIND]: 'AWSPCAClusterIssuer' },
      undefined,
      undefined,
      [CM_ISSUER_KIND],
    ],
    [
      'a kind spelled differently',
      { [ISSUER]: 'le', [ISSUER_KIND]: 'issuer' },
      undefined,
      undefined,
      [ISSUER_KIND],
    ],
    [
      'a kind with no issuer: reported, tls-acme still uses the default',
      { [ISSUER_KIND]: 'Issuer', [TLS_ACME]: 'true' },
      'default-issuer',
      undefined,
      [ISSUER_KIND],
    ],
    [
      'an invalid Issuer name',
      { [CM_NS_ISSUER]: 'Bad_Name' },
      undefined,
      undefined,
      [CM_NS_ISSUER],
    ],
  ])('kind: %s', (_name, a, issuer, kind, problemKeys) => {
    const { settings, keys } = parse(a);
    expect(settings.issuer).toBe(issuer);
    expect(settings.issuerKind).toBe(kind);
    expect(keys).toEqual(problemKeys);
  });

  it.each<[string, Record<string, string>, boolean]>([
    ['no issuer annotation', {}, false],
    ['a valid issuer', { [CM_NS_ISSUER]: 'team' }, false],
    ['tls-acme without a default issuer', { [TLS_ACME]: 'true' }, false],
    ['a kind with no issuer', { [ISSUER_KIND]: 'Issuer' }, false],
    ['an invalid name', { [ISSUER]: 'Bad_Name' }, true],
    ['an invalid kind', { [ISSUER]: 'le', [ISSUER_KIND]: 'Cluster' }, true],
    ['issuer and cluster-issuer', { [CM_NS_ISSUER]: 'a', [CM_ISSUER]: 'b' }, true],
    ['cluster-issuer of kind Issuer', { [CM_ISSUER]: 'b', [CM_ISSUER_KIND]: 'Issuer' }, true],
  ])('issuerInvalid (keep the Certificates): %s -> %s', (_name, a, invalid) => {
    expect(parseAnnotations(a, noDefaults).issuerInvalid).toBe(invalid);
  });

  it.each<[string, boolean]>([
    ['a', true],
    ['letsencrypt-prod', true],
    ['issuer.example.com', true],
    ['le2', true],
    ['a'.repeat(253), true],
    ['a'.repeat(254), false],
    ['', false],
    ['LetsEncrypt', false],
    ['-prod', false],
    ['prod-', false],
    ['.prod', false],
    ['prod.', false],
    ['lets_encrypt', false],
    ['with space', false],
    ['letsencrypt/prod', false],
  ])('issuer name %j valid: %s', (name, valid) => {
    for (const key of [ISSUER, CM_ISSUER, CM_NS_ISSUER]) {
      const { settings, problems } = parse({ [key]: name });
      expect(settings.issuer).toBe(valid ? name : undefined);
      if (valid) expect(problems).toEqual([]);
      else {
        expect(problems).toHaveLength(1);
        expect(problems[0]?.annotation).toBe(key);
        expect(problems[0]?.message).toContain(JSON.stringify(name));
      }
    }
  });
});

describe('parseAnnotations: certroute.io/dns', () => {
  it.each<[string | undefined, boolean, boolean, string[]]>([
    [undefined, false, false, []],
    [undefined, true, true, []],
    ['true', false, true, []],
    ['true', true, true, []],
    ['false', true, false, []],
    ['false', false, false, []],
    ['TRUE', false, false, [DNS]],
    ['True', true, true, [DNS]],
    ['yes', false, false, [DNS]],
    ['1', true, true, [DNS]],
    ['0', true, true, [DNS]],
    ['', true, true, [DNS]],
    [' true', false, false, [DNS]],
  ])('%j with dnsDefault=%s -> %s', (value, dnsDefault, dns, problemKeys) => {
    const a: Record<string, string> = value === undefined ? {} : { [DNS]: value };
    const { settings, keys } = parse(a, { ...defaults, dnsDefault });
    expect(settings.dns).toBe(dns);
    expect(keys).toEqual(problemKeys);
  });
});

describe('parseAnnotations: certroute.io/target and acm-region', () => {
  it.each<
    [
      string,
      Record<string, string>,
      ParseDefaults,
      Pick<IngressSettings, 'target' | 'acmRegion'>,
      string[],
    ]
  >([
    ['absent', {}, defaults, { target: 'secret', acmRegion: undefined }, []],
    ['secret', { [TARGET]: 'secret' }, defaults, { target: 'secret', acmRegion: undefined }, []],
    [
      'secret ignores acm-region',
      { [TARGET]: 'secret', [ACM_REGION]: 'eu-west-1' },
      defaults,
      { target: 'secret', acmRegion: undefined },
      [],
    ],
    [
      'acm with the annotation region (beats the default)',
      { [TARGET]: 'acm', [ACM_REGION]: 'eu-west-1' },
      defaults,
      { target: 'acm', acmRegion: 'eu-west-1' },
      [],
    ],
    [
      'acm with the annotation region and no default',
      { [TARGET]: 'acm', [ACM_REGION]: 'ap-southeast-2' },
      noDefaults,
      { target: 'acm', acmRegion: 'ap-southeast-2' },
      [],
    ],
    [
      'acm falls back to the operator region',
      { [TARGET]: 'acm' },
      defaults,
      { target: 'acm', acmRegion: 'us-east-1' },
      [],
    ],
    [
      'acm with no region anywhere',
      { [TARGET]: 'acm' },
      noDefaults,
      { target: 'acm', acmRegion: undefined },
      [ACM_REGION],
    ],
    [
      'acm with an empty region annotation and no default',
      { [TARGET]: 'acm', [ACM_REGION]: '' },
      noDefaults,
      { target: 'acm', acmRegion: '' },
      [ACM_REGION],
    ],
    [
      'acm-issued with the annotation region',
      { [TARGET]: 'acm-issued', [ACM_REGION]: 'eu-west-1' },
      noDefaults,
      { target: 'acm-issued', acmRegion: 'eu-west-1' },
      [],
    ],
    [
      'acm-issued falls back to the operator region',
      { [TARGET]: 'acm-issued' },
      defaults,
      { target: 'acm-issued', acmRegion: 'us-east-1' },
      [],
    ],
    [
      'acm-issued with no region anywhere',
      { [TARGET]: 'acm-issued' },
      noDefaults,
      { target: 'acm-issued', acmRegion: undefined },
      [ACM_REGION],
    ],
    [
      'upper-case ACM is garbage',
      { [TARGET]: 'ACM' },
      defaults,
      { target: 'secret', acmRegion: undefined },
      [TARGET],
    ],
    [
      'garbage falls back to secret and ignores acm-region',
      { [TARGET]: 'both', [ACM_REGION]: 'eu-west-1' },
      defaults,
      { target: 'secret', acmRegion: undefined },
      [TARGET],
    ],
    [
      'empty is garbage',
      { [TARGET]: '' },
      noDefaults,
      { target: 'secret', acmRegion: undefined },
      [TARGET],
    ],
  ])('%s', (_name, a, d, expected, problemKeys) => {
    const { settings, keys } = parse(a, d);
    expect(settings.target).toBe(expected.target);
    expect(settings.acmRegion).toBe(expected.acmRegion);
    expect(keys).toEqual(problemKeys);
  });
});

describe('parseAnnotations: certroute.io/challenge', () => {
  it.each<[string, IngressSettings['challenge'], string[]]>([
    ['http-01', 'http01', []],
    ['dns-01', 'dns01', []],
    ['HTTP01', 'http01', []],
    ['http01', 'http01', []],
    ['DNS-01', 'dns01', []],
    ['Dns01', 'dns01', []],
    ['tls-alpn-01', undefined, [CHALLENGE]],
    ['http', undefined, [CHALLENGE]],
    ['garbage', undefined, [CHALLENGE]],
    ['', undefined, [CHALLENGE]],
    [' http-01', undefined, [CHALLENGE]],
  ])('%j -> %s', (value, challenge, problemKeys) => {
    const { settings, keys } = parse({ [CHALLENGE]: value });
    expect(settings.challenge).toBe(challenge);
    expect(keys).toEqual(problemKeys);
  });

  it('is unset when absent', () => {
    expect(parse({}).settings.challenge).toBeUndefined();
  });
});

const acceptedKeyAlgorithms: [string, KeyAlgorithm][] = [
  // canonical names, any case, with '_' or ' ' for '-'
  ['ECDSA-P256', 'ECDSA-P256'],
  ['ecdsa-p256', 'ECDSA-P256'],
  ['ECDSA_P256', 'ECDSA-P256'],
  ['ECDSA-P384', 'ECDSA-P384'],
  ['ecdsa p384', 'ECDSA-P384'],
  ['RSA-2048', 'RSA-2048'],
  ['rsa_2048', 'RSA-2048'],
  ['RSA-3072', 'RSA-3072'],
  ['rsa 3072', 'RSA-3072'],
  ['RSA-4096', 'RSA-4096'],
  ['rsa-4096', 'RSA-4096'],
  // aliases
  ['ECDSA', 'ECDSA-P256'],
  ['ecdsa', 'ECDSA-P256'],
  ['EC', 'ECDSA-P256'],
  ['ec', 'ECDSA-P256'],
  ['P256', 'ECDSA-P256'],
  ['p256', 'ECDSA-P256'],
  ['P-256', 'ECDSA-P256'],
  ['p_256', 'ECDSA-P256'],
  ['EC-P256', 'ECDSA-P256'],
  ['ec_p256', 'ECDSA-P256'],
  ['ECDSA-P-256', 'ECDSA-P256'],
  ['ecdsa p 256', 'ECDSA-P256'],
  ['P384', 'ECDSA-P384'],
  ['p-384', 'ECDSA-P384'],
  ['EC-P384', 'ECDSA-P384'],
  ['ECDSA-P-384', 'ECDSA-P384'],
  ['RSA', 'RSA-2048'],
  ['rsa', 'RSA-2048'],
  ['RSA2048', 'RSA-2048'],
  ['RSA3072', 'RSA-3072'],
  ['rsa4096', 'RSA-4096'],
];

const rejectedKeyAlgorithms = [
  '',
  ' rsa',
  'rsa ',
  'RSA-1024',
  'RSA1024',
  'RSA-8192',
  'ECDSA-P521',
  'P-521',
  'ECDSA384',
  'EC-P-256',
  'ed25519',
  'DSA',
  'constructor',
  '__proto__',
  'toString',
];

describe('normalizeKeyAlgorithm', () => {
  it.each(acceptedKeyAlgorithms)('%j -> %s', (value, expected) => {
    expect(normalizeKeyAlgorithm(value)).toBe(expected);
  });

  it.each(rejectedKeyAlgorithms)('rejects %j', (value) => {
    expect(normalizeKeyAlgorithm(value)).toBeUndefined();
  });
});

describe('parseAnnotations: certroute.io/key-algorithm', () => {
  it.each(acceptedKeyAlgorithms)('%j -> %s', (value, expected) => {
    const { settings, problems } = parse({ [KEY_ALGORITHM]: value });
    expect(settings.keyAlgorithm).toBe(expected);
    expect(problems).toEqual([]);
  });

  it.each(rejectedKeyAlgorithms)('rejects %j', (value) => {
    const { settings, problems } = parse({ [KEY_ALGORITHM]: value });
    expect(settings.keyAlgorithm).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.annotation).toBe(KEY_ALGORITHM);
    expect(problems[0]?.message).toContain('ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096');
  });

  it('is unset when absent', () => {
    expect(parse({}).settings.keyAlgorithm).toBeUndefined();
  });
});

describe('parseAnnotations: certroute.io/renew-before', () => {
  it.each<[string, string | undefined]>([
    ['720h', '720h'],
    ['30d', '30d'],
    ['1h30m', '1h30m'],
    ['1m', '1m'],
    ['60s', '60s'],
    ['90s', '90s'],
    ['1.5m', '1.5m'],
    // a bare number is seconds, written with its unit (the CRD pattern needs one)
    ['3600', '3600s'],
    ['60', '60s'],
    // too short
    ['59s', undefined],
    ['30s', undefined],
    ['0.5m', undefined],
    ['59999ms', undefined],
    ['59', undefined],
    ['0', undefined],
    // garbage
    ['', undefined],
    ['soon', undefined],
    ['-1h', undefined],
    ['720 h', undefined],
    ['720H', undefined],
    ['1w', undefined],
    ['h', undefined],
  ])('%j -> %s', (value, expected) => {
    const { settings, keys } = parse({ [RENEW_BEFORE]: value });
    expect(settings.renewBefore).toBe(expected);
    expect(keys).toEqual(expected === undefined ? [RENEW_BEFORE] : []);
  });
});

describe('parseAnnotations: ttl', () => {
  const values: [string, number | undefined][] = [
    ['300', 300],
    ['1', 1],
    ['2147483647', 2147483647],
    ['5m', 300],
    ['90s', 90],
    ['1h', 3600],
    ['1m30s', 90],
    ['1d', 86400],
    ['2000ms', 2],
    ['0', undefined],
    ['0s', undefined],
    ['-60', undefined],
    ['-1m', undefined],
    ['1.5', undefined],
    ['1.5s', undefined],
    ['1500ms', undefined],
    ['500ms', undefined],
    ['2147483648', undefined],
    ['1e3', undefined],
    ['', undefined],
    [' 60', undefined],
    ['soon', undefined],
  ];
  const cases = [TTL, ED_TTL_ALPHA, ED_TTL].flatMap((key) =>
    values.map(([v, ttl]) => [key, v, ttl] as const),
  );

  it.each(cases)('%s=%j -> %s', (key, value, ttl) => {
    const { settings, problems } = parse({ [key]: value });
    expect(settings.ttl).toBe(ttl);
    if (ttl !== undefined) expect(problems).toEqual([]);
    else {
      expect(problems).toHaveLength(1);
      expect(problems[0]?.annotation).toBe(key);
      expect(problems[0]?.message).toContain(JSON.stringify(value));
    }
  });

  it.each<[string, Record<string, string>, number | undefined, string[]]>([
    ['absent', {}, undefined, []],
    [
      'certroute.io/ttl beats both',
      { [TTL]: '60', [ED_TTL_ALPHA]: '120', [ED_TTL]: '180' },
      60,
      [],
    ],
    ['certroute.io/ttl beats alpha', { [TTL]: '60', [ED_TTL_ALPHA]: '120' }, 60, []],
    ['certroute.io/ttl beats non-alpha', { [TTL]: '60', [ED_TTL]: '180' }, 60, []],
    ['alpha beats non-alpha', { [ED_TTL_ALPHA]: '120', [ED_TTL]: '180' }, 120, []],
    [
      'a valid certroute.io/ttl hides a garbage compat one',
      { [TTL]: '60', [ED_TTL_ALPHA]: 'garbage', [ED_TTL]: '-1' },
      60,
      [],
    ],
    [
      'a garbage certroute.io/ttl still wins: reported, no fallback to compat',
      { [TTL]: 'garbage', [ED_TTL_ALPHA]: '120' },
      undefined,
      [TTL],
    ],
    [
      'a garbage alpha ttl still wins over non-alpha',
      { [ED_TTL_ALPHA]: '0', [ED_TTL]: '180' },
      undefined,
      [ED_TTL_ALPHA],
    ],
  ])('%s', (_name, a, ttl, problemKeys) => {
    const { settings, keys } = parse(a);
    expect(settings.ttl).toBe(ttl);
    expect(keys).toEqual(problemKeys);
  });
});

describe('parseAnnotations: hostnames', () => {
  const values: [string, string[], string[]][] = [
    ['a.example.com', ['a.example.com'], []],
    ['a.example.com,b.example.com', ['a.example.com', 'b.example.com'], []],
    [' a.example.com , b.example.com ', ['a.example.com', 'b.example.com'], []],
    ['a.example.com,,b.example.com,', ['a.example.com', 'b.example.com'], []],
    ['A.Example.COM.', ['a.example.com'], []],
    ['*.example.com', ['*.example.com'], []],
    ['', [], []],
    [' , ', [], []],
    ['localhost', [], ['localhost']],
    [
      'good.example.com,bad_host.example.com,localhost,ALSO.example.com.',
      ['good.example.com', 'also.example.com'],
      ['bad_host.example.com', 'localhost'],
    ],
    ['a.example.com b.example.com', [], ['a.example.com b.example.com']],
    ['example.com..', [], ['example.com..']],
    ['-bad.example.com,ok.example.com', ['ok.example.com'], ['-bad.example.com']],
  ];
  const cases = [HOSTNAME, ED_HOSTNAME_ALPHA, ED_HOSTNAME].flatMap((key) =>
    values.map(([v, hosts, bad]) => [key, v, hosts, bad] as const),
  );

  it.each(cases)('%s=%j -> %j', (key, value, hosts, bad) => {
    const { settings, problems } = parse({ [key]: value });
    expect(settings.extraHostnames).toEqual(hosts);
    // each invalid entry is reported on its own, naming the annotation and the raw entry
    expect(problems.map((p) => p.annotation)).toEqual(bad.map(() => key));
    bad.forEach((raw, i) => expect(problems[i]?.message).toContain(JSON.stringify(raw)));
  });

  it('merges all three annotations in order (no precedence, dedup happens later)', () => {
    const { settings, problems } = parse({
      [ED_HOSTNAME]: 'c.example.com,a.example.com',
      [HOSTNAME]: 'a.example.com',
      [ED_HOSTNAME_ALPHA]: 'b.example.com,bad!',
    });
    expect(settings.extraHostnames).toEqual([
      'a.example.com',
      'b.example.com',
      'c.example.com',
      'a.example.com',
    ]);
    expect(problems.map((p) => p.annotation)).toEqual([ED_HOSTNAME_ALPHA]);
  });
});

describe('parseAnnotations: dns targets', () => {
  it.each<[string, Record<string, string>, string[] | undefined, string[]]>([
    ['absent', {}, undefined, []],
    ['one IP', { [DNS_TARGET]: '192.0.2.1' }, ['192.0.2.1'], []],
    [
      'IP list with spaces',
      { [DNS_TARGET]: ' 192.0.2.1 , 192.0.2.2 ' },
      ['192.0.2.1', '192.0.2.2'],
      [],
    ],
    ['a hostname', { [DNS_TARGET]: 'lb.example.net' }, ['lb.example.net'], []],
    ['IPv6', { [DNS_TARGET]: '2001:db8::1' }, ['2001:db8::1'], []],
    ['alpha external-dns target', { [ED_TARGET_ALPHA]: 'lb.example.net' }, ['lb.example.net'], []],
    ['external-dns target', { [ED_TARGET]: '192.0.2.9' }, ['192.0.2.9'], []],
    [
      'certroute.io/dns-target beats both',
      {
        [DNS_TARGET]: '192.0.2.1',
        [ED_TARGET_ALPHA]: 'a.example.net',
        [ED_TARGET]: 'b.example.net',
      },
      ['192.0.2.1'],
      [],
    ],
    [
      'alpha beats non-alpha',
      { [ED_TARGET_ALPHA]: 'a.example.net', [ED_TARGET]: 'b.example.net' },
      ['a.example.net'],
      [],
    ],
    ['empty certroute.io/dns-target', { [DNS_TARGET]: '' }, undefined, [DNS_TARGET]],
    ['only commas', { [DNS_TARGET]: ' , ,' }, undefined, [DNS_TARGET]],
    ['empty alpha target', { [ED_TARGET_ALPHA]: '' }, undefined, [ED_TARGET_ALPHA]],
    ['empty target', { [ED_TARGET]: ',' }, undefined, [ED_TARGET]],
    [
      'an empty certroute.io/dns-target still wins over a compat one',
      { [DNS_TARGET]: '', [ED_TARGET]: 'b.example.net' },
      undefined,
      [DNS_TARGET],
    ],
  ])('%s', (_name, a, targets, problemKeys) => {
    const { settings, keys } = parse(a);
    expect(settings.dnsTargets).toEqual(targets);
    expect(keys).toEqual(problemKeys);
  });

  // A malformed entry is reported and voids the whole override.
  it.each<[string, string]>([
    [DNS_TARGET, 'not a host!'],
    [DNS_TARGET, '192.0.2.1,bad_target'],
    [ED_TARGET_ALPHA, 'LB.example.net/path'],
  ])('rejects %s=%j', (key, value) => {
    const { settings, problems } = parse({ [key]: value });
    expect(settings.dnsTargets).toBeUndefined();
    expect(problems.map((p) => p.annotation)).toEqual([key]);
  });

  it('normalises valid targets', () => {
    const { settings } = parse({ [DNS_TARGET]: 'LB.Example.net., 2001:db8::1' });
    expect(settings.dnsTargets).toEqual(['lb.example.net', '2001:db8::1']);
  });
});

describe('parseAnnotations: one bad annotation never changes an unrelated setting', () => {
  const good: Record<string, string> = {
    [ISSUER]: 'letsencrypt-prod',
    [DNS]: 'true',
    [TARGET]: 'acm',
    [ACM_REGION]: 'eu-west-1',
    [CHALLENGE]: 'dns-01',
    [KEY_ALGORITHM]: 'rsa-4096',
    [RENEW_BEFORE]: '720h',
    [TTL]: '120',
    [HOSTNAME]: 'extra.example.com',
    [DNS_TARGET]: 'lb.example.net',
  };
  const goodSettings: IngressSettings = {
    issuer: 'letsencrypt-prod',
    dns: true,
    target: 'acm',
    acmRegion: 'eu-west-1',
    challenge: 'dns01',
    keyAlgorithm: 'RSA-4096',
    renewBefore: '720h',
    ttl: 120,
    extraHostnames: ['extra.example.com'],
    dnsTargets: ['lb.example.net'],
  };

  it('parses the all-good set without problems', () => {
    const { settings, problems } = parse(good);
    expect(settings).toEqual(goodSettings);
    expect(problems).toEqual([]);
  });

  it.each<[string, string, Partial<IngressSettings>]>([
    [ISSUER, 'Not_Valid', { issuer: undefined }],
    [DNS, 'yes', { dns: false }],
    [TARGET, 'azure', { target: 'secret', acmRegion: undefined }],
    [CHALLENGE, 'tls-alpn-01', { challenge: undefined }],
    [KEY_ALGORITHM, 'dsa', { keyAlgorithm: undefined }],
    [RENEW_BEFORE, '30s', { renewBefore: undefined }],
    [TTL, '1.5', { ttl: undefined }],
    [HOSTNAME, 'bad_host.example.com', { extraHostnames: [] }],
    [DNS_TARGET, ' , ', { dnsTargets: undefined }],
  ])('bad %s=%j', (key, value, fallback) => {
    const { settings, problems } = parse({ ...good, [key]: value });
    expect(settings).toEqual({ ...goodSettings, ...fallback });
    expect(problems.map((p) => p.annotation)).toEqual([key]);
  });

  it('a missing acm region only touches acmRegion', () => {
    const a = { ...good };
    delete a[ACM_REGION];
    const { settings, problems } = parse(a, { dnsDefault: false, defaultIssuer: '' });
    expect(settings).toEqual({ ...goodSettings, acmRegion: undefined });
    expect(problems.map((p) => p.annotation)).toEqual([ACM_REGION]);
  });

  it('reports every bad annotation once when all are bad', () => {
    const { settings, problems } = parse(
      {
        [ISSUER]: 'Bad!',
        [DNS]: 'maybe',
        [TARGET]: 'acm',
        [CHALLENGE]: 'x',
        [KEY_ALGORITHM]: 'x',
        [RENEW_BEFORE]: 'x',
        [ED_TTL]: 'x',
        [ED_HOSTNAME_ALPHA]: 'x',
        [ED_TARGET]: '',
      },
      noDefaults,
    );
    expect(settings).toEqual({
      dns: false,
      target: 'acm',
      acmRegion: undefined,
      extraHostnames: [],
    });
    expect(problems.map((p) => p.annotation).sort()).toEqual(
      [
        ISSUER,
        DNS,
        ACM_REGION,
        CHALLENGE,
        KEY_ALGORITHM,
        RENEW_BEFORE,
        ED_TTL,
        ED_HOSTNAME_ALPHA,
        ED_TARGET,
      ].sort(),
    );
    for (const p of problems) expect(p.message).not.toBe('');
  });
});

describe('isValidHostname', () => {
  const label63 = 'a'.repeat(63);
  const host253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`;
  it.each<[string, boolean]>([
    ['example.com', true],
    ['a.b', true],
    ['www.example.com', true],
    ['my-app.example.co.uk', true],
    ['123.example.com', true],
    ['xn--bcher-kva.example', true],
    ['*.example.com', true],
    ['*.a.example.com', true],
    [`${label63}.example.com`, true],
    [host253, true],
    ['', false],
    ['localhost', false],
    ['com', false],
    ['*.com', false],
    ['*', false],
    ['**.example.com', false],
    ['foo.*.example.com', false],
    ['*example.com', false],
    [`${'a'.repeat(64)}.example.com`, false],
    [`example.${'c'.repeat(64)}`, false],
    [`${host253}x`, false],
    ['under_score.example.com', false],
    ['_acme-challenge.example.com', false],
    ['Example.com', false],
    ['example.com.', false],
    ['.example.com', false],
    ['a..example.com', false],
    ['-a.example.com', false],
    ['a-.example.com', false],
    ['example.123', false],
    ['192.0.2.1', false],
    ['exa mple.com', false],
    ['example.com/path', false],
  ])('%j -> %s', (host, valid) => {
    expect(isValidHostname(host)).toBe(valid);
  });

  it('the 253-character case is really 253 characters', () => {
    expect(host253).toHaveLength(253);
  });
});

describe('hostnameProblem', () => {
  it.each([
    ['shop.example.com', undefined],
    ['*.example.com', undefined],
    ['', 'empty'],
    ['10.0.0.1', 'an IP address, not a hostname'],
    ['localhost', 'a single label, not a fully qualified name'],
    ['*.com', 'a single label, not a fully qualified name'],
    ['a.*.example.com', 'a wildcard must be the whole leftmost label'],
    ['w*.example.com', 'a wildcard must be the whole leftmost label'],
    [`${'a'.repeat(64)}.example.com`, 'a label is longer than 63 characters'],
    ['host.123', 'its last label is all digits'],
    [`${'a.'.repeat(130)}com`, '263 characters long (at most 253)'],
    [
      'bad_host.example.com',
      'not a valid hostname (letters, digits and hyphens in dot-separated labels)',
    ],
  ])('%s', (host, why) => {
    expect(hostnameProblem(host)).toBe(why);
  });
});
