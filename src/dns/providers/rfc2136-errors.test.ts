import { describe, expect, it } from 'vitest';
import { classifyProviderError } from './classify.js';
import { InvalidBatchError } from './provider.js';
import { Rfc2136Error, describeRcode, isRfc2136AuthError } from './rfc2136-errors.js';
import type { ErrorAction } from './route53-errors.js';

const ctx = { op: 'update', zone: 'example.test', key: 'k', server: '127.0.0.1:53' };
const e = (code: string) => new Rfc2136Error(code, describeRcode(code, ctx));

describe('classifyProviderError (RFC 2136)', () => {
  it.each<[string, unknown, ErrorAction, boolean]>([
    ['a failed CREATE prerequisite', e('YXRRSET'), 'relist', false],
    ['a failed DELETE prerequisite', e('NXRRSET'), 'relist', false],
    ['REFUSED', e('REFUSED'), 'retry', true],
    ['NOTAUTH', e('NOTAUTH'), 'retry', true],
    ['BADSIG', e('BADSIG'), 'retry', true],
    ['BADKEY', e('BADKEY'), 'retry', true],
    ['BADTIME', e('BADTIME'), 'retry', true],
    ['SERVFAIL', e('SERVFAIL'), 'retry', false],
    ['FORMERR', e('FORMERR'), 'reject', false],
    ['NOTZONE', e('NOTZONE'), 'reject', false],
    ['an ALIAS refused before sending', new InvalidBatchError('ALIAS'), 'reject', false],
    ['a closed connection', new Error('DNS server closed the connection'), 'retry', false],
  ])('%s → %s', (_what, err, action, auth) => {
    expect(classifyProviderError(err)).toBe(action);
    expect(isRfc2136AuthError(err)).toBe(auth);
  });

  it.each([
    ['BADSIG', /secret does not match/],
    ['BADKEY', /does not know key k/],
    ['BADTIME', /clocks/],
    ['REFUSED', /allow-update/],
  ])('%s says what to check', (code, message) => {
    expect(describeRcode(code, ctx)).toMatch(message);
  });
});
