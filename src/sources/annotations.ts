import { isIP } from 'node:net';
import { parseDuration } from '../config/index.js';
import {
  keyAlgorithms,
  type IssuerKind,
  type KeyAlgorithm,
  type KeyUsage,
} from '../api/v1alpha1.js';
import { parseCertManagerAnnotations } from './cm-annotations.js';

export const prefix = 'certroute.io/';
export const annotations = {
  issuer: `${prefix}issuer`,
  issuerKind: `${prefix}issuer-kind`,
  dns: `${prefix}dns`,
  target: `${prefix}target`,
  acmRegion: `${prefix}acm-region`,
  challenge: `${prefix}challenge`,
  keyAlgorithm: `${prefix}key-algorithm`,
  renewBefore: `${prefix}renew-before`,
  ttl: `${prefix}ttl`,
  hostname: `${prefix}hostname`,
  dnsTarget: `${prefix}dns-target`,
  // read for migration
  cmClusterIssuer: 'cert-manager.io/cluster-issuer',
  cmIssuer: 'cert-manager.io/issuer',
  cmIssuerKind: 'cert-manager.io/issuer-kind',
  tlsAcme: 'kubernetes.io/tls-acme',
  edHostname: ['external-dns.alpha.kubernetes.io/hostname', 'external-dns.kubernetes.io/hostname'],
  edTtl: ['external-dns.alpha.kubernetes.io/ttl', 'external-dns.kubernetes.io/ttl'],
  edTarget: ['external-dns.alpha.kubernetes.io/target', 'external-dns.kubernetes.io/target'],
} as const;

export interface IngressSettings {
  /** The issuer's name; undefined means no certificates for this Ingress. */
  issuer?: string;
  /** Set when the issuer is a namespaced Issuer (in the Ingress's namespace); absent: a ClusterIssuer. */
  issuerKind?: 'Issuer';
  dns: boolean;
  /** acm-issued: ACM issues the certificate itself (spec.acm.issued; no issuer needed). */
  target: 'secret' | 'acm' | 'acm-issued';
  acmRegion?: string;
  challenge?: 'http01' | 'dns01';
  keyAlgorithm?: KeyAlgorithm;
  renewBefore?: string;
  ttl?: number;
  extraHostnames: string[];
  /** Overrides the load balancer address as the DNS target (IPs or one hostname). */
  dnsTargets?: string[];
  // cert-manager's annotations (cm-annotations.ts).
  duration?: string;
  commonName?: string;
  usages?: KeyUsage[];
}

export interface AnnotationProblem {
  annotation: string;
  message: string;
}

export interface ParseDefaults {
  dnsDefault: boolean;
  defaultIssuer: string;
  awsRegion?: string;
}

const hostnameRe =
  /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isValidHostname(h: string): boolean {
  return h.length <= 253 && hostnameRe.test(h);
}

/**
 * Why a (normalised) host is not one certroute can publish or certify; undefined when it is.
 * The most specific reason first, so the message tells the user what to change.
 */
export function hostnameProblem(h: string): string | undefined {
  if (isValidHostname(h)) return undefined;
  if (h === '') return 'empty';
  if (isIP(h)) return 'an IP address, not a hostname';
  if (h.length > 253) return `${h.length} characters long (at most 253)`;
  const labels = h.split('.');
  if (labels.length < 2 || (labels.length === 2 && labels[0] === '*'))
    return 'a single label, not a fully qualified name';
  if (labels.slice(1).includes('*') || (/\*/.test(labels[0] ?? '') && labels[0] !== '*'))
    return 'a wildcard must be the whole leftmost label';
  if (labels.some((l) => l.length > 63)) return 'a label is longer than 63 characters';
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return 'its last label is all digits';
  return 'not a valid hostname (letters, digits and hyphens in dot-separated labels)';
}

/** The first of `keys` that is set, with its value: certroute's own annotation wins over compat ones. */
function first(a: Record<string, string>, keys: readonly string[]): [string, string] | undefined {
  for (const k of keys) {
    const v = a[k];
    if (v !== undefined) return [k, v];
  }
  return undefined;
}

type Report = (annotation: string, message: string) => void;
type Step = (a: Record<string, string>, d: ParseDefaults, s: IngressSettings, bad: Report) => void;

/**
 * Reads an Ingress's annotations into settings. A malformed value is reported as a problem
 * and only the setting it concerns falls back; nothing else is affected. `issuerInvalid`: the
 * issuer annotations name an issuer but are malformed or conflict, so no issuer is known (the
 * source then leaves its Certificates as they are rather than deleting them).
 */
export function parseAnnotations(
  a: Record<string, string>,
  d: ParseDefaults,
): { settings: IngressSettings; problems: AnnotationProblem[]; issuerInvalid: boolean } {
  const problems: AnnotationProblem[] = [];
  const bad: Report = (annotation, message) => problems.push({ annotation, message });
  const s: IngressSettings = { dns: d.dnsDefault, target: 'secret', extraHostnames: [] };
  const issuer = parseIssuer(a, d, bad);
  if (issuer && issuer !== 'invalid') {
    s.issuer = issuer.name;
    if (issuer.kind === 'Issuer') s.issuerKind = 'Issuer';
  }
  const steps: Step[] = [
    parseDns,
    parseTarget,
    parseChallenge,
    parseKeyAlgorithm,
    parseRenewBefore,
    parseTtl,
    parseHostnames,
    parseDnsTarget,
  ];
  for (const step of steps) step(a, d, s, bad);
  parseCertManagerAnnotations(a, s, bad);
  return { settings: s, problems, issuerInvalid: issuer === 'invalid' };
}

const parseDns: Step = (a, _d, s, bad) => {
  const v = a[annotations.dns];
  if (v === undefined) return;
  if (v === 'true' || v === 'false') s.dns = v === 'true';
  else bad(annotations.dns, `must be "true" or "false", got "${v}"`);
};

const parseTarget: Step = (a, d, s, bad) => {
  const v = a[annotations.target];
  if (v === 'secret' || v === 'acm' || v === 'acm-issued') s.target = v;
  else if (v !== undefined)
    bad(annotations.target, `must be "secret", "acm" or "acm-issued", got "${v}"`);
  if (s.target === 'secret') return;
  s.acmRegion = a[annotations.acmRegion] ?? d.awsRegion;
  if (!s.acmRegion)
    bad(
      annotations.acmRegion,
      `target "${s.target}" needs a region: set this annotation or the operator's AWS region`,
    );
};

const parseChallenge: Step = (a, _d, s, bad) => {
  const v = a[annotations.challenge];
  if (v === undefined) return;
  const c = v.toLowerCase().replace('-', '');
  if (c === 'http01' || c === 'dns01') s.challenge = c;
  else bad(annotations.challenge, `must be "http-01" or "dns-01", got "${v}"`);
};

const parseKeyAlgorithm: Step = (a, _d, s, bad) => {
  const v = a[annotations.keyAlgorithm];
  if (v === undefined) return;
  const k = normalizeKeyAlgorithm(v);
  if (k) s.keyAlgorithm = k;
  else bad(annotations.keyAlgorithm, `must be one of ${keyAlgorithms.join(', ')}, got "${v}"`);
};

const parseRenewBefore: Step = (a, _d, s, bad) => {
  const v = a[annotations.renewBefore];
  if (v === undefined) return;
  const ms = parseDuration(v);
  if (ms !== undefined && ms >= 60_000) s.renewBefore = /^\d+$/.test(v) ? `${v}s` : v;
  else bad(annotations.renewBefore, `must be a duration of at least 1m like 720h, got "${v}"`);
};

const parseTtl: Step = (a, _d, s, bad) => {
  const ttl = first(a, [annotations.ttl, ...annotations.edTtl]);
  if (!ttl) return;
  const [key, v] = ttl;
  const secs = /^\d+$/.test(v) ? Number(v) : (parseDuration(v) ?? NaN) / 1000;
  if (Number.isInteger(secs) && secs >= 1 && secs <= 2147483647) s.ttl = secs;
  else bad(key, `must be a whole number of seconds (or a duration like 5m), got "${v}"`);
};

const parseHostnames: Step = (a, _d, s, bad) => {
  for (const key of [annotations.hostname, ...annotations.edHostname]) {
    for (const raw of splitList(a[key])) {
      const h = raw.toLowerCase().replace(/\.$/, '');
      if (isValidHostname(h)) s.extraHostnames.push(h);
      else bad(key, `"${raw}" is not a valid hostname`);
    }
  }
};

const parseDnsTarget: Step = (a, _d, s, bad) => {
  const tgt = first(a, [annotations.dnsTarget, ...annotations.edTarget]);
  if (!tgt) return;
  const values = splitList(tgt[1]).map((v) => v.toLowerCase().replace(/\.$/, ''));
  const invalid = values.filter((v) => !isIP(v) && !isValidHostname(v));
  // One malformed entry voids the override: publishing part of what was listed would surprise.
  if (invalid.length > 0)
    bad(tgt[0], `${invalid.map((v) => `"${v}"`).join(', ')}: not an IP address or hostname`);
  else if (values.length > 0) s.dnsTargets = values;
  else bad(tgt[0], 'must list at least one IP or hostname');
};

function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

const issuerNameRe = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Which issuer an Ingress names, with cert-manager's meanings read for migration:
 * `certroute.io/issuer` is a ClusterIssuer unless `certroute.io/issuer-kind` (or cert-manager's
 * `cert-manager.io/issuer-kind`) says Issuer; `cert-manager.io/cluster-issuer` is a
 * ClusterIssuer; `cert-manager.io/issuer` is an Issuer in the Ingress's namespace unless the
 * kind annotation says ClusterIssuer. certroute's own annotation wins over cert-manager's. A
 * conflict or an unknown kind is a problem and means no certificates: guessing the other kind
 * could use an issuer nobody chose.
 */
function parseIssuer(
  a: Record<string, string>,
  d: ParseDefaults,
  bad: Report,
): { name: string; kind: IssuerKind } | 'invalid' | undefined {
  const kind = parseIssuerKind(a, bad);
  const named = (key: string, name: string, k: IssuerKind) => {
    if (issuerNameRe.test(name) && name.length <= 253) return { name, kind: k };
    bad(key, `"${name}" is not a valid ${k} name`);
    return 'invalid' as const;
  };
  const ours = a[annotations.issuer];
  const cmIssuer = a[annotations.cmIssuer];
  const cmCluster = a[annotations.cmClusterIssuer];
  if (ours !== undefined) {
    if (kind === 'invalid') return 'invalid';
    return named(annotations.issuer, ours, kind ?? 'ClusterIssuer');
  }
  if (cmIssuer !== undefined && cmCluster !== undefined) {
    bad(
      annotations.cmIssuer,
      `conflicts with ${annotations.cmClusterIssuer}: set only one (or ${annotations.issuer}, which wins)`,
    );
    return 'invalid';
  }
  if (cmIssuer !== undefined) {
    if (kind === 'invalid') return 'invalid';
    return named(annotations.cmIssuer, cmIssuer, kind ?? 'Issuer');
  }
  if (cmCluster !== undefined) {
    if (kind === 'invalid') return 'invalid';
    if (kind === 'Issuer') {
      bad(
        annotations.cmClusterIssuer,
        `names a ClusterIssuer but the issuer-kind annotation says Issuer; use ${annotations.cmIssuer} for an Issuer`,
      );
      return 'invalid';
    }
    return named(annotations.cmClusterIssuer, cmCluster, 'ClusterIssuer');
  }
  return defaultIssuer(a, d, kind, bad);
}

/** No issuer named: `kubernetes.io/tls-acme` uses --default-issuer (a ClusterIssuer). */
function defaultIssuer(
  a: Record<string, string>,
  d: ParseDefaults,
  kind: IssuerKind | 'invalid' | undefined,
  bad: Report,
): { name: string; kind: IssuerKind } | undefined {
  if (kind && kind !== 'invalid')
    bad(
      a[annotations.issuerKind] !== undefined ? annotations.issuerKind : annotations.cmIssuerKind,
      `has no effect without ${annotations.issuer} or ${annotations.cmIssuer}; ignored`,
    );
  if (a[annotations.tlsAcme] === 'true') {
    if (d.defaultIssuer) return { name: d.defaultIssuer, kind: 'ClusterIssuer' };
    bad(annotations.tlsAcme, 'is "true" but the operator has no --default-issuer');
  }
  return undefined;
}

/** The issuer-kind annotation (certroute's, else cert-manager's), 'invalid' when unusable. */
function parseIssuerKind(
  a: Record<string, string>,
  bad: Report,
): IssuerKind | 'invalid' | undefined {
  const ours = a[annotations.issuerKind];
  const theirs = a[annotations.cmIssuerKind];
  const valid = (key: string, v: string): IssuerKind | 'invalid' => {
    if (v === 'Issuer' || v === 'ClusterIssuer') return v;
    bad(
      key,
      `must be "Issuer" or "ClusterIssuer", got "${v}"; Certificates are left as they are until it is fixed`,
    );
    return 'invalid';
  };
  if (ours !== undefined && theirs !== undefined && ours !== theirs) {
    bad(
      annotations.issuerKind,
      `"${ours}" conflicts with ${annotations.cmIssuerKind} "${theirs}"; Certificates are left as they are until they agree`,
    );
    return 'invalid';
  }
  if (ours !== undefined) return valid(annotations.issuerKind, ours);
  if (theirs !== undefined) return valid(annotations.cmIssuerKind, theirs);
  return undefined;
}

export function normalizeKeyAlgorithm(v: string): KeyAlgorithm | undefined {
  const k = v.toUpperCase().replace(/[\s_]/g, '-');
  const aliases: Record<string, KeyAlgorithm> = {
    ECDSA: 'ECDSA-P256',
    EC: 'ECDSA-P256',
    P256: 'ECDSA-P256',
    'P-256': 'ECDSA-P256',
    'EC-P256': 'ECDSA-P256',
    'ECDSA-P-256': 'ECDSA-P256',
    P384: 'ECDSA-P384',
    'P-384': 'ECDSA-P384',
    'EC-P384': 'ECDSA-P384',
    'ECDSA-P-384': 'ECDSA-P384',
    RSA: 'RSA-2048',
    RSA2048: 'RSA-2048',
    RSA3072: 'RSA-3072',
    RSA4096: 'RSA-4096',
  };
  if ((keyAlgorithms as readonly string[]).includes(k)) return k as KeyAlgorithm;
  return aliases[k];
}
