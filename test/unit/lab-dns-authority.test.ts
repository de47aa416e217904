import { describe, expect, it } from 'vitest';
import type { ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
import { asNameservers, nameserverNames } from '../lab/dns-authority.js';
import type { Answer } from 'dns-packet';
import { answer, type ZoneData } from '../lab/dns-server.js';

const data = (a: Answer): unknown => ('data' in a ? a.data : undefined);

function rr(name: string, type: RRType, values: string[]): ResourceRecordSet {
  return { Name: name, Type: type, TTL: 60, ResourceRecords: values.map((Value) => ({ Value })) };
}

const zones: ZoneData[] = [
  {
    name: 'zone.test.',
    records: [
      rr('zone.test.', 'NS', ['ns-2048.awsdns-64.com', 'ns-2049.awsdns-65.net']),
      rr('_acme-challenge.www.zone.test.', 'TXT', ['"v"']),
      rr('www.zone.test.', 'A', ['192.0.2.1']),
      // A record of the user at a nameserver's name is replaced, not doubled.
      rr('ns2.zone.test.', 'A', ['192.0.2.99']),
    ],
  },
];

const both = ['127.0.0.1', '127.0.0.2'];

describe('asNameservers', () => {
  it.each<[string, string, string, boolean, unknown[]]>([
    [
      'the apex NS names the lab nameservers',
      'zone.test',
      'NS',
      false,
      ['ns1.zone.test', 'ns2.zone.test'],
    ],
    ['ns1 is the first address', 'ns1.zone.test', 'A', false, ['127.0.0.1']],
    ["ns2 the second, replacing the zone's own record", 'ns2.zone.test', 'A', false, ['127.0.0.2']],
    ['TXT is served', '_acme-challenge.www.zone.test', 'TXT', false, [[Buffer.from('v')]]],
    ['TXT is hidden when stale', '_acme-challenge.www.zone.test', 'TXT', true, []],
    ['other records stay', 'www.zone.test', 'A', true, ['192.0.2.1']],
  ])('%s', (_why, name, type, hideTxt, want) => {
    const view = asNameservers(zones, { addresses: both, hideTxt });
    expect(answer({ name, type }, view).answers.map(data)).toEqual(want);
  });

  it('gives an IPv6 address an AAAA set', () => {
    const view = asNameservers(zones, { addresses: ['::1'], hideTxt: false });
    expect(answer({ name: 'ns1.zone.test', type: 'AAAA' }, view).answers.map(data)).toEqual([
      '::1',
    ]);
  });

  it('names one nameserver per address', () => {
    expect(nameserverNames('Zone.Test.', 3)).toEqual([
      'ns1.zone.test',
      'ns2.zone.test',
      'ns3.zone.test',
    ]);
  });
});
