import type * as k8s from '@kubernetes/client-node';
import { apiVersion, type Certificate, type DNSEndpoint, type Endpoint } from '../api/v1alpha1.js';
import { problemsAnnotation } from '../dns/endpoints.js';
import { recordsForTargets } from '../dns/targets.js';
import type { FailureReason } from '../errors.js';
import { managedLabels } from '../kube/ownership.js';
import { hostnameProblem, parseAnnotations, type IngressSettings } from './annotations.js';
import { cmSpec } from './cm-annotations.js';

export interface ShimOptions {
  dnsDefault: boolean;
  defaultIssuer: string;
  awsRegion?: string;
  /** Classes to watch; empty means all. */
  ingressClasses: readonly string[];
}

export interface Problem {
  reason: Extract<FailureReason, 'InvalidAnnotation' | 'InvalidHost' | 'InvalidTLS'>;
  message: string;
}

export interface Desired {
  certificates: Certificate[];
  /**
   * The issuer annotations are malformed or conflict: the Certificates the source already has
   * are left as they are (bad input loses nothing), and `certificates` is empty.
   */
  holdCertificates?: true;
  dnsEndpoint?: DNSEndpoint;
  problems: Problem[];
}

export function ingressClassOf(ing: k8s.V1Ingress): string | undefined {
  return ing.spec?.ingressClassName ?? ing.metadata?.annotations?.['kubernetes.io/ingress.class'];
}

export function isWatchedClass(ing: k8s.V1Ingress, classes: readonly string[]): boolean {
  if (classes.length === 0) return true;
  const c = ingressClassOf(ing);
  return c !== undefined && classes.includes(c);
}

function ownerRef(ing: k8s.V1Ingress): k8s.V1OwnerReference {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    name: ing.metadata?.name ?? '',
    uid: ing.metadata?.uid ?? '',
    controller: true,
  };
}

function normalizeHost(h: string): string {
  return h.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * The Certificates and the DNSEndpoint an Ingress asks for. Pure: the same Ingress and options
 * always give the same objects, so the controller can diff them against what exists.
 * Anything malformed becomes a Problem and is left out; the rest is still produced.
 */
export function desiredFor(ing: k8s.V1Ingress, opts: ShimOptions): Desired {
  const {
    settings,
    problems: annotationProblems,
    issuerInvalid,
  } = parseAnnotations(ing.metadata?.annotations ?? {}, opts);
  const problems: Problem[] = annotationProblems.map((p) => ({
    reason: 'InvalidAnnotation',
    message: `${p.annotation}: ${p.message}`,
  }));
  // ACM without a region is already reported; a Certificate the CRD would refuse helps nobody.
  // ACM-issued certificates need no issuer (issuerRef is kept for the CRD, and unused).
  const acmIssued = settings.target === 'acm-issued';
  const wantsCerts =
    (settings.issuer !== undefined || acmIssued) &&
    !(settings.target !== 'secret' && !settings.acmRegion);
  const certificates = wantsCerts
    ? certificatesFor(ing, settings, settings.issuer ?? (acmIssued ? 'acm' : ''), problems)
    : [];
  const dnsEndpoint = settings.dns ? dnsEndpointFor(ing, settings, problems) : undefined;
  // The problems are an Event each, and the DNSEndpoint's SourceValid condition lists them all.
  if (dnsEndpoint && problems.length > 0)
    dnsEndpoint.metadata.annotations = {
      ...dnsEndpoint.metadata.annotations,
      [problemsAnnotation]: JSON.stringify(problems),
    };
  return {
    certificates,
    ...(issuerInvalid ? { holdCertificates: true as const } : {}),
    ...(dnsEndpoint ? { dnsEndpoint } : {}),
    problems,
  };
}

/**
 * Only the DNSEndpoint of desiredFor (the same spec), for the shim's informer handler, which
 * derives it for every Ingress event: the Certificates and the problems are the reconcile's.
 */
export function desiredDnsEndpoint(ing: k8s.V1Ingress, opts: ShimOptions): DNSEndpoint | undefined {
  const { settings } = parseAnnotations(ing.metadata?.annotations ?? {}, opts);
  return settings.dns ? dnsEndpointFor(ing, settings, []) : undefined;
}

function certificatesFor(
  ing: k8s.V1Ingress,
  s: IngressSettings,
  issuer: string,
  problems: Problem[],
): Certificate[] {
  const bySecret = new Map<string, Set<string>>();
  /** Per Secret, each host left out and why. */
  const rejected = new Map<string, string[]>();
  (ing.spec?.tls ?? []).forEach((tls, i) => {
    if (!tls.secretName) {
      problems.push({
        reason: 'InvalidTLS',
        message: `spec.tls[${i}] has no secretName; no certificate for it`,
      });
      return;
    }
    const hosts = bySecret.get(tls.secretName) ?? new Set<string>();
    const bad = rejected.get(tls.secretName) ?? [];
    for (const raw of tls.hosts ?? []) {
      const h = normalizeHost(raw);
      const why = hostnameProblem(h);
      if (!why) {
        hosts.add(h);
        continue;
      }
      bad.push(`"${raw}" (${why})`);
      problems.push({
        reason: 'InvalidHost',
        message: `spec.tls[${i}]: "${raw}" is not a valid hostname: ${why}; left out of ${tls.secretName}`,
      });
    }
    bySecret.set(tls.secretName, hosts);
    rejected.set(tls.secretName, bad);
  });
  const certs: Certificate[] = [];
  for (const [secretName, hosts] of [...bySecret].sort(([a], [b]) => a.localeCompare(b))) {
    if (hosts.size === 0) {
      const bad = rejected.get(secretName) ?? [];
      problems.push({
        reason: 'InvalidTLS',
        message:
          bad.length > 0
            ? `spec.tls for Secret ${secretName} lists no valid hosts: ${bad.join(', ')}; no certificate for it`
            : `spec.tls for Secret ${secretName} lists no hosts; no certificate for it`,
      });
      continue;
    }
    certs.push({
      apiVersion,
      kind: 'Certificate',
      metadata: {
        name: secretName,
        namespace: ing.metadata?.namespace,
        labels: managedLabels(),
        ownerReferences: [ownerRef(ing)],
      },
      spec: {
        dnsNames: [...hosts].sort(),
        issuerRef: { name: issuer, ...(s.issuerKind ? { kind: s.issuerKind } : {}) },
        ...targetSpec(s, secretName),
        ...(s.keyAlgorithm ? { privateKey: { algorithm: s.keyAlgorithm } } : {}),
        ...(s.renewBefore ? { renewBefore: s.renewBefore } : {}),
        ...(s.challenge ? { challenge: s.challenge } : {}),
        ...cmSpec(s),
      },
    });
  }
  return certs;
}

/** Where the certificate goes: a Secret, an ACM import, or ACM issuing it (acm.issued). */
function targetSpec(s: IngressSettings, secretName: string) {
  if (s.target === 'secret') return { secretName };
  const issued = s.target === 'acm-issued' ? { issued: true } : {};
  return { acm: { region: s.acmRegion ?? '', ...issued } };
}

function dnsHosts(ing: k8s.V1Ingress, s: IngressSettings, problems: Problem[]): string[] {
  const hosts = new Set<string>(s.extraHostnames);
  const add = (raw: string, where: string) => {
    const h = normalizeHost(raw);
    const why = hostnameProblem(h);
    if (!why) hosts.add(h);
    else
      problems.push({
        reason: 'InvalidHost',
        message: `${where}: "${raw}" is not a valid hostname: ${why}; no DNS record for it`,
      });
  };
  (ing.spec?.rules ?? []).forEach(
    (r, i) => r.host !== undefined && add(r.host, `spec.rules[${i}].host`),
  );
  (ing.spec?.tls ?? []).forEach((t, i) =>
    (t.hosts ?? []).forEach((h) => add(h, `spec.tls[${i}].hosts`)),
  );
  return [...hosts].sort();
}

/** The annotation override wins; otherwise the ingress controller's published addresses. */
function dnsAddresses(
  ing: k8s.V1Ingress,
  s: IngressSettings,
): { ip?: string; hostname?: string }[] {
  // recordsForTargets recognises an IP given as a hostname, so overrides need no sorting here.
  if (s.dnsTargets) return s.dnsTargets.map((hostname) => ({ hostname }));
  return (ing.status?.loadBalancer?.ingress ?? []).map((a) => ({
    ...(a.ip ? { ip: a.ip } : {}),
    ...(a.hostname ? { hostname: a.hostname } : {}),
  }));
}

function dnsEndpointFor(
  ing: k8s.V1Ingress,
  s: IngressSettings,
  problems: Problem[],
): DNSEndpoint | undefined {
  const hosts = dnsHosts(ing, s, problems);
  if (hosts.length === 0) return undefined;
  const records = recordsForTargets(dnsAddresses(ing, s));
  const endpoints: Endpoint[] = [];
  for (const dnsName of hosts) {
    // No address yet: the host is listed without a type, so its status can say WaitingForAddress.
    if (records.length === 0) endpoints.push({ dnsName, targets: [] });
    for (const r of records) {
      const alias = r.aliasHostedZoneID ? { aliasHostedZoneID: r.aliasHostedZoneID } : {};
      // Route53 ALIAS records take the target's TTL; a TTL on them is an error.
      const ttl = s.ttl !== undefined && !r.aliasHostedZoneID ? { recordTTL: s.ttl } : {};
      endpoints.push({ dnsName, recordType: r.recordType, targets: r.targets, ...ttl, ...alias });
    }
  }
  return {
    apiVersion,
    kind: 'DNSEndpoint',
    metadata: {
      name: ing.metadata?.name,
      namespace: ing.metadata?.namespace,
      labels: managedLabels(),
      ownerReferences: [ownerRef(ing)],
    },
    spec: { endpoints },
  };
}
