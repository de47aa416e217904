import { describe, expect, it } from 'vitest';
import type { ClusterIssuer, DNSEndpoint } from '../api/v1alpha1.js';
import { crdStep, deploymentStep, issuerSteps, leaderStep, zoneSteps } from './check.js';

const now = new Date('2030-06-10T00:00:30Z');
const lease = (holder: string | undefined, renewTime: string) => ({
  ok: true as const,
  value: {
    spec: {
      ...(holder ? { holderIdentity: holder } : {}),
      renewTime: new Date(renewTime),
      leaseDurationSeconds: 15,
    },
  },
});

describe('check steps', () => {
  it.each<[string, Parameters<typeof crdStep>[1], string]>([
    ['installed', { ok: true, value: {} }, 'passed'],
    ['missing', { ok: false, why: 'not found', notFound: true }, 'failed'],
    ['forbidden', { ok: false, why: 'forbidden: ...' }, 'unknown'],
  ])('crd %s', (_n, r, state) => {
    expect(crdStep('certificates.certroute.io', r).state).toBe(state);
  });

  it.each<[string, Parameters<typeof leaderStep>[1], string, string]>([
    [
      'a fresh leader',
      lease('pod-a', '2030-06-10T00:00:25Z'),
      'passed',
      'leader pod-a, renewed 5s ago',
    ],
    ['a stale leader', lease('pod-a', '2030-06-09T23:59:50Z'), 'failed', 'last renewed 40s ago'],
    ['no holder', lease(undefined, '2030-06-10T00:00:25Z'), 'waiting', 'no leader'],
    [
      'no Lease',
      { ok: false, why: 'not found', notFound: true },
      'waiting',
      'no Lease certroute-leader in namespace certroute',
    ],
    ['forbidden', { ok: false, why: 'forbidden: get leases' }, 'unknown', 'forbidden'],
  ])('leader: %s', (_n, r, state, detail) => {
    const s = leaderStep('certroute', r, now);
    expect(s.state).toBe(state);
    expect(s.detail).toContain(detail);
  });

  it.each<[string, Parameters<typeof deploymentStep>[1], string]>([
    [
      'ready',
      {
        ok: true,
        value: [
          { metadata: { name: 'certroute' }, spec: { replicas: 2 }, status: { readyReplicas: 1 } },
        ],
      } as never,
      'passed',
    ],
    [
      'none ready',
      {
        ok: true,
        value: [{ metadata: { name: 'certroute' }, spec: { replicas: 2 }, status: {} }],
      } as never,
      'failed',
    ],
    ['no Deployment', { ok: true, value: [] }, 'skipped'],
  ])('operator: %s', (_n, r, state) => {
    expect(deploymentStep('certroute', r).state).toBe(state);
  });

  it('issuers: an account, none yet, a failure', () => {
    const issuer = (name: string, status: ClusterIssuer['status']): ClusterIssuer => ({
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'ClusterIssuer',
      metadata: { name },
      spec: {
        acme: {
          server: 'https://x',
          privateKeySecretRef: { name: 'k' },
          solvers: [{ http01: {} }],
        },
      },
      ...(status ? { status } : {}),
    });
    const c = (status: 'True' | 'False', reason: string) => ({
      type: 'Ready',
      status,
      reason,
      message: 'm',
      lastTransitionTime: 't',
    });
    const steps = issuerSteps('ClusterIssuer', {
      ok: true,
      value: [
        issuer('a', { conditions: [c('True', 'Registered')], acme: { uri: 'https://x/acct/1' } }),
        issuer('b', undefined),
        issuer('c', { conditions: [c('False', 'CAUnreachable')] }),
      ],
    });
    expect(steps.map((s) => `${s.step} ${s.state}`)).toEqual([
      'ClusterIssuer a passed',
      'ClusterIssuer b waiting',
      'ClusterIssuer c failed',
    ]);
  });

  it('zones, as the records report them', () => {
    const e = (
      records: { dnsName: string; state: string; zoneID?: string; message?: string }[],
    ): DNSEndpoint => ({
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'DNSEndpoint',
      metadata: { name: 'x', namespace: 'y' },
      spec: { endpoints: [] },
      status: { endpoints: records.map((r) => ({ recordType: 'A', ...r })) as never },
    });
    const steps = zoneSteps({
      ok: true,
      value: [
        e([
          { dnsName: 'a.one', state: 'Published', zoneID: 'Z1' },
          { dnsName: 'b.two', state: 'Error', zoneID: 'Z2', message: 'AccessDenied' },
          { dnsName: 'c.three', state: 'Pending', zoneID: 'Z3' },
          { dnsName: 'd.none', state: 'NoZone' },
        ]),
      ],
    });
    expect(steps.map((s) => `${s.step} ${s.state}`)).toEqual([
      'zone Z1 passed',
      'zone Z2 failed',
      'zone Z3 waiting',
      'zones failed',
    ]);
    expect(steps[1]?.detail).toContain('AccessDenied');
    expect(zoneSteps({ ok: true, value: [] })[0]?.state).toBe('skipped');
  });
});
