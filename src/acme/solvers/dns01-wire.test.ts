// The non-recursive TXT query against the lab's authoritative DNS server (on loopback,
// answering from a strict in-memory Route53), and what it makes of the answers.
import dgram from 'node:dgram';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53Double } from '../../../test/doubles/route53.js';
import { invalidateZoneCache, startLabDns, type LabDns } from '../../../test/lab/dns-server.js';
import { queryTxt } from './dns01-wire.js';

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
