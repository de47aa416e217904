// The non-recursive TXT query against the lab's authoritative DNS server (on loopback,
// answering from a strict in-memory Route53), and what it makes of the answers.
import dgram from 'node:dgram';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53Double } from '../../../test/doubles/route53.js';
import { startLabNameservers } from '../../../test/lab/dns-authority.js';
import { invalidateZoneCache, startLabDns, type LabDns } from '../../../test/lab/dns-server.js';
import { checkAuthorities } from './dns01-authority.js';
import { queryTxt, WireAuthorityDns } from './dns01-wire.js';

let r53: Route53Double;
let dns: LabDns;

beforeAll(async () => {
  r53 = new Route53Double();
  r53.onChange = invalidateZoneCache;
  r53.addZone('Z1', 'wire.test');
  await r53.client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: 'Z1',
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: '_acme-challenge.a.wire.test',
              Type: 'TXT',
              TTL: 60,
              ResourceRecords: [{ Value: '"one"' }, { Value: '"tw" "o"' }],
            },
          },
        ],
      },
    }),
  );
  dns = await startLabDns({ route53: r53.client });
});

afterAll(async () => {
  await dns.close();
});

describe('queryTxt', () => {
  it('reads every value, joining the strings of each, with the AA bit', async () => {
    expect(await queryTxt(dns.host, dns.port, '_acme-challenge.a.wire.test')).toEqual({
      kind: 'answer',
      rcode: 'NOERROR',
      authoritative: true,
      values: ['one', 'two'],
    });
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    // 40 values of 43 characters: over the 1232 bytes the query offers for UDP.
    const many = Array.from(
      { length: 40 },
      (_v, i) => `${'x'.repeat(41)}${String(i).padStart(2, '0')}`,
    );
    await r53.client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'Z1',
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: '_acme-challenge.many.wire.test',
                Type: 'TXT',
                TTL: 60,
                ResourceRecords: many.map((v) => ({ Value: `"${v}"` })),
              },
            },
          ],
        },
      }),
    );
    const res = await queryTxt(dns.host, dns.port, '_acme-challenge.many.wire.test');
    expect(res.kind === 'answer' && [...res.values].sort()).toEqual(many);
  });

  it('tells a missing name (NXDOMAIN) apart', async () => {
    expect(await queryTxt(dns.host, dns.port, '_acme-challenge.b.wire.test')).toMatchObject({
      kind: 'answer',
      rcode: 'NXDOMAIN',
      values: [],
    });
  });

  it('reports a server that does not answer as an error, not as "no value"', async () => {
    // A bound UDP socket that never replies: the query must time out.
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => mute.bind(0, '127.0.0.1', resolve));
    try {
      expect(await queryTxt('127.0.0.1', mute.address().port, 'x.wire.test', 200)).toEqual({
        kind: 'error',
        message: 'no answer within 200 ms',
      });
    } finally {
      mute.close();
    }
  });
});

describe('WireAuthorityDns with checkAuthorities', () => {
  it('finds both lab nameservers of the zone, and names the one that hides the TXT', async () => {
    const ns = await startLabNameservers({ route53: r53.client });
    try {
      const wire = new WireAuthorityDns([`127.0.0.1:${ns.port}`], ns.port);
      const name = '_acme-challenge.a.wire.test';
      expect(await checkAuthorities(wire, name, 'two', ns.port)).toEqual({
        kind: 'checked',
        seen: {
          ok: true,
          message: `${name} TXT visible at all 2 authoritative nameserver addresses`,
        },
      });
      ns.hideTxt('127.0.0.2', true);
      expect(await checkAuthorities(wire, name, 'two', ns.port)).toEqual({
        kind: 'checked',
        seen: {
          ok: false,
          message: `${name} TXT not yet visible at authoritative nameserver ns2.wire.test (127.0.0.2:${ns.port}): answered NXDOMAIN`,
        },
      });
      // The lab's plain DNS names moto's (here: no) nameservers: nobody to ask.
      const plain = new WireAuthorityDns([`${dns.host}:${dns.port}`], dns.port);
      expect(await checkAuthorities(plain, name, 'two', dns.port)).toMatchObject({
        kind: 'no-authority',
      });
    } finally {
      await ns.close();
    }
  });
});
