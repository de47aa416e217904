// The lab AWS proxy's pure parts: naming an AWS call, and the busiest window of calls.
import { describe, expect, it } from 'vitest';
import { maxInWindow, operationOf } from '../lab/aws-proxy.js';

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
