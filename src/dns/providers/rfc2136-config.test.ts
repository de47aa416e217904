import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/index.js';
import { decodeSecret, parseServer, rfc2136Options } from './rfc2136-config.js';

const secret = Buffer.alloc(32, 3).toString('base64');
const base = [
  '--provider=rfc2136',
  '--rfc2136-server=10.0.0.53:53',
  '--rfc2136-zones=example.test,other.test',
  '--rfc2136-tsig-key-name=certroute',
];

describe('rfc2136Options', () => {
  it('builds the provider settings, the secret from the environment', () => {
    const o = rfc2136Options(parseConfig(base, { CERTROUTE_RFC2136_TSIG_SECRET: secret }));
    expect(o.server).toEqual({ host: '10.0.0.53', port: 53 });
    expect(o.zones).toEqual(['example.test', 'other.test']);
    expect(o.key).toEqual({
      name: 'certroute',
      algorithm: 'hmac-sha256',
      secret: Buffer.alloc(32, 3),
    });
  });
  it('reads the secret from a file (a mounted Secret, trailing newline and all)', () => {
    const cfg = parseConfig([...base, '--rfc2136-tsig-secret-file=/s/key'], {});
    const o = rfc2136Options(cfg, (p) => (p === '/s/key' ? `${secret}\n` : ''));
    expect(o.key.secret.equals(Buffer.alloc(32, 3))).toBe(true);
  });
  it.each<[string, string[], Record<string, string>, RegExp]>([
    [
      'no server',
      base.filter((a) => !a.includes('server')),
      { CERTROUTE_RFC2136_TSIG_SECRET: secret },
      /--rfc2136-server is required/,
    ],
    [
      'no zones',
      base.filter((a) => !a.includes('zones')),
      { CERTROUTE_RFC2136_TSIG_SECRET: secret },
      /names no zone/,
    ],
    [
      'no key name',
      base.filter((a) => !a.includes('key-name')),
      { CERTROUTE_RFC2136_TSIG_SECRET: secret },
      /key-name is required/,
    ],
    ['no secret', base, {}, /no TSIG secret/],
    [
      'a secret that is not base64',
      base,
      { CERTROUTE_RFC2136_TSIG_SECRET: 'not base64!' },
      /not base64/,
    ],
  ])('refuses %s', (_what, argv, env, message) => {
    expect(() => rfc2136Options(parseConfig(argv, env))).toThrow(message);
  });
  it('refuses an unknown algorithm at parse time', () => {
    expect(() => parseConfig([...base, '--rfc2136-tsig-algorithm=hmac-md5'], {})).toThrow(
      /rfc2136-tsig-algorithm/,
    );
  });
});

describe('helpers', () => {
  it.each([
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['[::1]:53', { host: '::1', port: 53 }],
    ['ns.example:53', { host: 'ns.example', port: 53 }],
  ])('parseServer(%s)', (s, want) => expect(parseServer(s)).toEqual(want));
  it.each([
    ['AAAA', true],
    ['', false],
    ['a b', false],
  ])('decodeSecret(%s)', (s, ok) => expect(decodeSecret(s) !== undefined).toBe(ok));
});
