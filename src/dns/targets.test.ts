import { describe, expect, it } from 'vitest';
import { awsAliasZone, recordsForTargets } from './targets.js';
import type { AwsAliasZone, TargetRecord } from './targets.js';

describe('awsAliasZone', () => {
  it.each<[string, string, AwsAliasZone | undefined]>([
    [
      'CLB/ALB us-east-1',
      'my-lb-1234567890.us-east-1.elb.amazonaws.com',
      { service: 'elb', region: 'us-east-1', hostedZoneID: 'Z35SXDOTRQ7X7K' },
    ],
    [
      'CLB/ALB eu-west-1',
      'k8s-default-web-0123abcd-1234567890.eu-west-1.elb.amazonaws.com',
      { service: 'elb', region: 'eu-west-1', hostedZoneID: 'Z32O12XQLNTSW2' },
    ],
    [
      'internal ALB',
      'internal-my-lb-1234567890.eu-west-1.elb.amazonaws.com',
      { service: 'elb', region: 'eu-west-1', hostedZoneID: 'Z32O12XQLNTSW2' },
    ],
    [
      'dualstack ALB',
      'dualstack.my-lb-1234567890.us-east-1.elb.amazonaws.com',
      { service: 'elb', region: 'us-east-1', hostedZoneID: 'Z35SXDOTRQ7X7K' },
    ],
    [
      'ALB in a newer region',
      'my-lb-1234567890.ap-southeast-4.elb.amazonaws.com',
      { service: 'elb', region: 'ap-southeast-4', hostedZoneID: 'Z09517862IB2WZLPXG76F' },
    ],
    [
      'NLB us-east-1',
      'my-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com',
      { service: 'nlb', region: 'us-east-1', hostedZoneID: 'Z26RNL4JYFTOTI' },
    ],
    [
      'NLB eu-west-1',
      'my-nlb-0123456789abcdef.elb.eu-west-1.amazonaws.com',
      { service: 'nlb', region: 'eu-west-1', hostedZoneID: 'Z2IFOLAFXWLO4F' },
    ],
    [
      'ALB in China',
      'my-lb-1234567890.cn-north-1.elb.amazonaws.com.cn',
      { service: 'elb', region: 'cn-north-1', hostedZoneID: 'Z1GDH35T77C1KE' },
    ],
    [
      'NLB in China',
      'my-nlb-0123456789abcdef.elb.cn-north-1.amazonaws.com.cn',
      { service: 'nlb', region: 'cn-north-1', hostedZoneID: 'Z3QFB96KMJ7ED6' },
    ],
    [
      'ALB in GovCloud',
      'my-lb-1234567890.us-gov-west-1.elb.amazonaws.com',
      { service: 'elb', region: 'us-gov-west-1', hostedZoneID: 'Z33AYJ8TM3BH4J' },
    ],
    [
      'CloudFront',
      'd111111abcdef8.cloudfront.net',
      { service: 'cloudfront', hostedZoneID: 'Z2FDTNDATAQYW2' },
    ],
    [
      'Global Accelerator',
      'a1234567890abcdef.awsglobalaccelerator.com',
      { service: 'globalaccelerator', hostedZoneID: 'Z2BJ6XQ5FK7U4H' },
    ],
    [
      'dual-stack Global Accelerator',
      'a1234567890abcdef.dualstack.awsglobalaccelerator.com',
      { service: 'globalaccelerator', hostedZoneID: 'Z2BJ6XQ5FK7U4H' },
    ],
    [
      'uppercase with trailing dot',
      'My-LB-1234567890.US-EAST-1.ELB.AmazonAWS.com.',
      { service: 'elb', region: 'us-east-1', hostedZoneID: 'Z35SXDOTRQ7X7K' },
    ],
    [
      'uppercase CloudFront with trailing dot',
      'D111111ABCDEF8.CloudFront.NET.',
      { service: 'cloudfront', hostedZoneID: 'Z2FDTNDATAQYW2' },
    ],
    ['ALB in an unknown region', 'my-lb-1234567890.xx-nowhere-9.elb.amazonaws.com', undefined],
    [
      'NLB in an unknown region',
      'my-nlb-0123456789abcdef.elb.xx-nowhere-9.amazonaws.com',
      undefined,
    ],
    ['China region outside the China partition', 'my-lb-1.cn-north-1.elb.amazonaws.com', undefined],
    [
      'commercial region in the China partition',
      'my-lb-1.us-east-1.elb.amazonaws.com.cn',
      undefined,
    ],
    ['no load balancer name', 'us-east-1.elb.amazonaws.com', undefined],
    ['bare CloudFront domain', 'cloudfront.net', undefined],
    ['other amazonaws.com service', 'abc123.execute-api.us-east-1.amazonaws.com', undefined],
    ['lookalike domain', 'my-lb-1234567890.us-east-1.elb.amazonaws.com.example.org', undefined],
    ['non-AWS hostname', 'lb.example.com', undefined],
    ['empty string', '', undefined],
  ])('%s: %s', (_name, hostname, expected) => {
    expect(awsAliasZone(hostname)).toEqual(expected);
  });
});

describe('recordsForTargets', () => {
  const albHost = 'k8s-default-web-0123abcd-1234567890.eu-west-1.elb.amazonaws.com';

  it.each<[string, { ip?: string; hostname?: string }[], TargetRecord[]]>([
    ['empty input', [], []],
    ['entries without ip or hostname', [{}, { ip: '', hostname: '' }], []],
    [
      'IPv4 only, sorted numerically',
      [{ ip: '10.0.0.10' }, { ip: '10.0.0.9' }, { ip: '192.0.2.1' }],
      [{ recordType: 'A', targets: ['10.0.0.9', '10.0.0.10', '192.0.2.1'] }],
    ],
    [
      'IPv6 only',
      [{ ip: '2001:db8::2' }, { ip: '2001:DB8::1' }],
      [{ recordType: 'AAAA', targets: ['2001:db8::1', '2001:db8::2'] }],
    ],
    [
      'mixed IPv4 and IPv6',
      [{ ip: '2001:db8::1' }, { ip: '192.0.2.1' }],
      [
        { recordType: 'A', targets: ['192.0.2.1'] },
        { recordType: 'AAAA', targets: ['2001:db8::1'] },
      ],
    ],
    [
      'duplicates are removed',
      [{ ip: '192.0.2.1' }, { ip: '192.0.2.1' }, { ip: '2001:db8::1' }, { ip: '2001:DB8::1' }],
      [
        { recordType: 'A', targets: ['192.0.2.1'] },
        { recordType: 'AAAA', targets: ['2001:db8::1'] },
      ],
    ],
    [
      'malformed IPs are dropped',
      [{ ip: 'not-an-ip' }, { ip: '999.0.0.1' }, { ip: '192.0.2.1' }],
      [{ recordType: 'A', targets: ['192.0.2.1'] }],
    ],
    [
      'an IP literal in hostname counts as an IP',
      [{ hostname: '192.0.2.7' }],
      [{ recordType: 'A', targets: ['192.0.2.7'] }],
    ],
    [
      'ELB hostname -> A and AAAA alias',
      [{ hostname: albHost }],
      [
        { recordType: 'A', targets: [albHost], aliasHostedZoneID: 'Z32O12XQLNTSW2' },
        { recordType: 'AAAA', targets: [albHost], aliasHostedZoneID: 'Z32O12XQLNTSW2' },
      ],
    ],
    [
      'NLB hostname, uppercase with trailing dot -> normalized alias',
      [{ hostname: 'My-NLB-0123456789ABCDEF.elb.US-EAST-1.amazonaws.com.' }],
      [
        {
          recordType: 'A',
          targets: ['my-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com'],
          aliasHostedZoneID: 'Z26RNL4JYFTOTI',
        },
        {
          recordType: 'AAAA',
          targets: ['my-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com'],
          aliasHostedZoneID: 'Z26RNL4JYFTOTI',
        },
      ],
    ],
    [
      'CloudFront hostname -> alias',
      [{ hostname: 'd111111abcdef8.cloudfront.net' }],
      [
        {
          recordType: 'A',
          targets: ['d111111abcdef8.cloudfront.net'],
          aliasHostedZoneID: 'Z2FDTNDATAQYW2',
        },
        {
          recordType: 'AAAA',
          targets: ['d111111abcdef8.cloudfront.net'],
          aliasHostedZoneID: 'Z2FDTNDATAQYW2',
        },
      ],
    ],
    [
      'other hostname -> CNAME',
      [{ hostname: 'LB.Example.com.' }],
      [{ recordType: 'CNAME', targets: ['lb.example.com'] }],
    ],
    [
      'several other hostnames -> CNAME to the first in sorted order',
      [{ hostname: 'zeta.example.com' }, { hostname: 'alpha.example.com' }],
      [{ recordType: 'CNAME', targets: ['alpha.example.com'] }],
    ],
    [
      'ELB in an unknown region -> CNAME',
      [{ hostname: 'my-lb-1.xx-nowhere-9.elb.amazonaws.com' }],
      [{ recordType: 'CNAME', targets: ['my-lb-1.xx-nowhere-9.elb.amazonaws.com'] }],
    ],
    [
      'AWS hostname preferred over another hostname',
      [{ hostname: 'aaa.example.com' }, { hostname: albHost }],
      [
        { recordType: 'A', targets: [albHost], aliasHostedZoneID: 'Z32O12XQLNTSW2' },
        { recordType: 'AAAA', targets: [albHost], aliasHostedZoneID: 'Z32O12XQLNTSW2' },
      ],
    ],
    [
      'IP and hostname -> IP wins',
      [{ hostname: albHost }, { ip: '192.0.2.1' }, { hostname: 'lb.example.com' }],
      [{ recordType: 'A', targets: ['192.0.2.1'] }],
    ],
    [
      'IP and hostname in one entry -> IP wins',
      [{ ip: '2001:db8::1', hostname: albHost }],
      [{ recordType: 'AAAA', targets: ['2001:db8::1'] }],
    ],
  ])('%s', (_name, addresses, expected) => {
    expect(recordsForTargets(addresses)).toEqual(expected);
  });

  it('leaves aliasHostedZoneID out of non-alias records', () => {
    for (const record of recordsForTargets([{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }])) {
      expect(record).not.toHaveProperty('aliasHostedZoneID');
    }
    expect(recordsForTargets([{ hostname: 'lb.example.com' }])[0]).not.toHaveProperty(
      'aliasHostedZoneID',
    );
  });
});
