import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { expiredLongAgo, liveMembers, memberLeaseName, uniqueSorted } from './members.js';

const now = Date.parse('2026-12-07T12:00:00Z');

function lease(
  address: string | undefined,
  port: string | undefined,
  renewedSecondsAgo: number | undefined,
  durationSeconds = 15,
): k8s.V1Lease {
  const annotations: Record<string, string> = {};
  if (address !== undefined) annotations['certroute.io/solver-address'] = address;
  if (port !== undefined) annotations['certroute.io/solver-port'] = port;
  return {
    metadata: { annotations },
    spec: {
      leaseDurationSeconds: durationSeconds,
      ...(renewedSecondsAgo === undefined
        ? {}
        : {
            renewTime: new Date(now - renewedSecondsAgo * 1000).toISOString() as unknown as Date,
          }),
    },
  };
}

describe('liveMembers', () => {
  it.each<[string, k8s.V1Lease[], string[]]>([
    ['a fresh member', [lease('10.0.0.2', '8089', 1)], ['10.0.0.2:8089']],
    ['expired: renewed longer ago than its duration', [lease('10.0.0.2', '8089', 16)], []],
    ['exactly at its duration is gone', [lease('10.0.0.2', '8089', 15)], []],
    ['never renewed', [lease('10.0.0.2', '8089', undefined)], []],
    ['no address', [lease(undefined, '8089', 1)], []],
    ['a port that is no port', [lease('10.0.0.2', 'http', 1), lease('10.0.0.3', '70000', 1)], []],
    [
      'sorted and each once',
      [lease('10.0.0.3', '8089', 1), lease('10.0.0.2', '8089', 2), lease('10.0.0.3', '8089', 3)],
      ['10.0.0.2:8089', '10.0.0.3:8089'],
    ],
  ])('%s', (_name, leases, want) => {
    expect(liveMembers(leases, now).map((m) => `${m.address}:${m.port}`)).toEqual(want);
  });
});

describe('expiredLongAgo', () => {
  it.each([
    [1, false],
    [15 + 599, false],
    [15 + 601, true],
  ])('renewed %d s ago: %s', (ago, want) => {
    expect(expiredLongAgo(lease('10.0.0.2', '8089', ago), now)).toBe(want);
  });
});

describe('memberLeaseName and uniqueSorted', () => {
  it('names a Lease per identity, as Kubernetes accepts', () => {
    const a = memberLeaseName('certroute-7d9f8-abcde');
    expect(a).toMatch(/^certroute-solver-[0-9a-f]{12}$/);
    expect(memberLeaseName('certroute-7d9f8-abcde')).toBe(a);
    expect(memberLeaseName('certroute-7d9f8-fghij')).not.toBe(a);
  });

  it('orders by address then port', () => {
    expect(
      uniqueSorted([
        { address: 'b', port: 2 },
        { address: 'a', port: 9 },
        { address: 'b', port: 1 },
        { address: 'a', port: 9 },
      ]),
    ).toEqual([
      { address: 'a', port: 9 },
      { address: 'b', port: 1 },
      { address: 'b', port: 2 },
    ]);
  });
});
