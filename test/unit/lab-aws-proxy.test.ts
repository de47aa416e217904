// The lab AWS proxy's pure parts: naming an AWS call, and the busiest window of calls.
import { describe, expect, it } from 'vitest';
import { TokenBucket, isRoute53Call, maxInWindow, operationOf } from '../lab/aws-proxy.js';

describe('operationOf', () => {
  it.each([
    ['POST', '/2013-04-01/hostedzone/Z1/rrset', '', '', 'ChangeResourceRecordSets'],
    ['POST', '/2013-04-01/hostedzone/Z1/rrset/', '', '', 'ChangeResourceRecordSets'],
    ['GET', '/2013-04-01/hostedzone/Z1/rrset?maxitems=300', '', '', 'ListResourceRecordSets'],
    ['GET', '/2013-04-01/hostedzone?maxitems=100', '', '', 'ListHostedZones'],
    ['POST', '/2013-04-01/hostedzone', '', '', 'CreateHostedZone'],
    ['GET', '/2013-04-01/hostedzone/Z1', '', '', 'GetHostedZone'],
    ['GET', '/2013-04-01/change/C1', '', '', 'GetChange'],
    ['POST', '/', 'CertificateManager.ImportCertificate', '{}', 'ImportCertificate'],
    ['POST', '/', '', 'Action=AssumeRole&Version=2011-06-15', 'AssumeRole'],
    ['PUT', '/other', '', '', 'PUT /other'],
  ])('%s %s %s → %s', (method, path, target, body, want) => {
    expect(operationOf(method, path, target, body)).toBe(want);
  });
});

describe('maxInWindow', () => {
  const at = (...ms: number[]) => ms.map((m) => ({ at: m }));
  it.each([
    [at(), 0],
    [at(5), 1],
    [at(0, 999), 2],
    [at(0, 1000), 1], // a window is [t, t + 1000)
    [at(0, 100, 200, 1100, 1150, 1199, 1250), 4], // [200, 1200),
    [at(300, 0, 200, 100), 4], // order does not matter
  ])('%j → %i', (calls, want) => {
    expect(maxInWindow(calls)).toBe(want);
  });
});

describe('TokenBucket', () => {
  // Each case: rate and burst, then the times (ms) of calls; want: which ones get a token.
  it.each([
    [5, 5, [0, 0, 0, 0, 0, 0], [true, true, true, true, true, false]],
    [5, 5, [0, 0, 0, 0, 0, 100, 200], [true, true, true, true, true, false, true]],
    [
      5,
      5,
      [0, 0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 1000],
      [...Array<boolean>(5).fill(true), false, ...Array<boolean>(5).fill(true), false],
    ],
    [
      5,
      5,
      [0, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000],
      [...Array<boolean>(6).fill(true), false],
    ], // never more than the burst
    [1, 1, [0, 500, 999, 1000], [true, false, false, true]],
    [5, 5, [100, 50, 50, 50, 50, 50], [true, true, true, true, true, false]], // a clock going back adds nothing
  ])('rate %i burst %i at %j → %j', (rate, burst, times, want) => {
    const b = new TokenBucket(rate, burst, times[0] ?? 0);
    expect(times.map((t) => b.take(t))).toEqual(want);
  });
});

describe('isRoute53Call', () => {
  it.each([
    ['/2013-04-01/hostedzone/Z1/rrset', '', true],
    ['/2013-04-01/hostedzone?maxitems=100', '', true],
    ['/2013-04-01/change/C1', '', true],
    ['/', 'CertificateManager.ImportCertificate', false],
    ['/', '', false], // STS
  ])('%s %s → %s', (path, target, want) => {
    expect(isRoute53Call(path, target)).toBe(want);
  });
});
