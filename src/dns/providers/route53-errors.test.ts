import { describe, expect, it } from 'vitest';
import { Route53Error } from '../../../test/doubles/route53.js';
import { InvalidBatchError } from './provider.js';
import { classifyRoute53Error, type ErrorAction } from './route53-errors.js';

const what = "[name='www.example.test.', type='A']";
const batch = (m: string) => new Route53Error('InvalidChangeBatch', m);
const wrapped = (m: string) => new InvalidBatchError(m, { cause: batch(m) });

describe('classifyRoute53Error', () => {
  const cases: [string, unknown, ErrorAction][] = [
    // Throttling and friends: the call failed, the cache is right.
    ['Throttling', new Route53Error('Throttling', 'Rate exceeded'), 'retry'],
    ['PriorRequestNotComplete', new Route53Error('PriorRequestNotComplete', 'x'), 'retry'],
    ['HTTP 429', new Route53Error('SomethingElse', 'slow down', 429), 'retry'],
    ['a 5xx', new Route53Error('ServiceUnavailable', 'x', 503), 'retry'],
    ['an access error', new Route53Error('AccessDenied', 'not authorized', 403), 'retry'],
    [
      'a gone zone (the zone list catches up)',
      new Route53Error('NoSuchHostedZone', 'x', 404),
      'retry',
    ],
    ['a timeout', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 'retry'],
    [
      'a network error',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'retry',
    ],
    ['no error object', undefined, 'retry'],
    ['a string', 'boom', 'retry'],
    // Route53 says the cache is wrong about the zone: relist.
    [
      'create of a set that exists',
      batch(`[Tried to create resource record set ${what} but it already exists]`),
      'relist',
    ],
    [
      'delete of a set not there',
      batch(`[Tried to delete resource record set ${what} but it was not found]`),
      'relist',
    ],
    [
      'delete with other values',
      batch(
        `[Tried to delete resource record set ${what} but the values provided do not match the current values]`,
      ),
      'relist',
    ],
    [
      'a CNAME beside a set we did not know',
      batch(
        '[RRSet of type CNAME with DNS name w.example.test. is not permitted because a conflicting RRSet of type A with the same DNS name already exists in zone]',
      ),
      'relist',
    ],
    [
      'the same, wrapped by the provider',
      wrapped(`[Tried to create resource record set ${what} but it already exists]`),
      'relist',
    ],
    [
      'a change id Route53 does not know',
      new Route53Error('NoSuchChange', 'no change C1', 404),
      'relist',
    ],
    // Route53 refuses the content: report it, keep the cache.
    [
      'an address that is none',
      batch(
        "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with 'x'']",
      ),
      'reject',
    ],
    [
      'a name outside the zone',
      wrapped('[RRSet with DNS name a.other.test. is not permitted in zone example.test.]'),
      'reject',
    ],
    ['the batch limits', batch('[Number of records limit of 1000 exceeded: 1001]'), 'reject'],
    ['InvalidInput', new Route53Error('InvalidInput', 'Invalid request'), 'reject'],
  ];
  it.each(cases)('%s → %s', (_name, err, want) => {
    expect(classifyRoute53Error(err)).toBe(want);
  });
});
