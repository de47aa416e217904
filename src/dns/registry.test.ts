import { describe, expect, it } from 'vitest';
import {
  companionName,
  describeOwner,
  externalDnsCompanionNames,
  ownerOfTxt,
  ownerValue,
  parseOwner,
} from './registry.js';
import type { Owner } from './registry.js';
import type { RecordSet } from './types.js';

const zone = 'example.test';

describe('companionName', () => {
  it.each<[string, string, string, string]>([
    ['A record', 'www.example.test', 'A', 'a-www.example.test'],
    ['AAAA record', 'www.example.test', 'AAAA', 'aaaa-www.example.test'],
    ['CNAME record', 'www.example.test', 'CNAME', 'cname-www.example.test'],
    ['deeper name', 'api.eu.example.test', 'A', 'a-api.eu.example.test'],
    ['lower-case type whatever the input', 'www.example.test', 'Cname', 'cname-www.example.test'],
    ['apex A', 'example.test', 'A', '_certroute-a.example.test'],
    ['apex AAAA', 'example.test', 'AAAA', '_certroute-aaaa.example.test'],
    ['wildcard', '*.example.test', 'A', 'a-*.example.test'],
    ['wildcard in a sub-domain', '*.apps.example.test', 'CNAME', 'cname-*.apps.example.test'],
  ])('%s', (_label, name, type, expected) => {
    expect(companionName(name, type, zone)).toBe(expected);
  });

  it('stays inside the zone at the apex', () => {
    const name = companionName(zone, 'A', zone);
    expect(name.endsWith(`.${zone}`)).toBe(true);
  });
});

describe('externalDnsCompanionNames', () => {
  it.each<[string, string, string[]]>([
    ['www.example.test', 'A', ['a-www.example.test', 'www.example.test']],
    ['www.example.test', 'CNAME', ['cname-www.example.test', 'www.example.test']],
    ['*.example.test', 'AAAA', ['aaaa-*.example.test', '*.example.test']],
    ['example.test', 'A', ['a-example.test', 'example.test']],
  ])('%s %s', (name, type, expected) => {
    expect(externalDnsCompanionNames(name, type)).toEqual(expected);
  });

  it('puts the new format at the same name as our companion below the apex', () => {
    const [newFormat] = externalDnsCompanionNames('www.example.test', 'A');
    expect(newFormat).toBe(companionName('www.example.test', 'A', zone));
  });
});

describe('ownerValue / parseOwner', () => {
  it.each<[string, string]>([
    ['me', 'ingress/apps/web'],
    ['cluster-1', 'ingress/kube-system/dashboard'],
    ['prod.eu-west-1', 'ingress/a/b'],
  ])('round trips owner %s, resource %s', (ownerId, resource) => {
    const value = ownerValue(ownerId, resource);
    expect(value.startsWith('"') && value.endsWith('"')).toBe(true);
    expect(parseOwner(value)).toEqual({ heritage: 'certroute', owner: ownerId, resource });
  });

  it('writes the documented format', () => {
    expect(ownerValue('me', 'ingress/apps/web')).toBe(
      '"heritage=certroute,certroute/owner=me,certroute/resource=ingress/apps/web"',
    );
  });

  it.each<[string, string, Owner]>([
    [
      'owner and resource',
      '"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/apps/web"',
      { heritage: 'external-dns', owner: 'default', resource: 'ingress/apps/web' },
    ],
    [
      'owner only',
      '"heritage=external-dns,external-dns/owner=default"',
      { heritage: 'external-dns', owner: 'default' },
    ],
    [
      'unquoted',
      'heritage=external-dns,external-dns/owner=legacy,external-dns/resource=service/apps/lb',
      { heritage: 'external-dns', owner: 'legacy', resource: 'service/apps/lb' },
    ],
    [
      'no owner field',
      '"heritage=external-dns,external-dns/resource=ingress/apps/web"',
      { heritage: 'external-dns', owner: '', resource: 'ingress/apps/web' },
    ],
    [
      'spaces around fields',
      '"heritage=external-dns, external-dns/owner=default , external-dns/resource=ingress/a/b"',
      { heritage: 'external-dns', owner: 'default', resource: 'ingress/a/b' },
    ],
    [
      'extra fields external-dns may add',
      '"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/a/b,x/y=1"',
      { heritage: 'external-dns', owner: 'default', resource: 'ingress/a/b' },
    ],
    [
      'fields of the other heritage are ignored',
      '"heritage=external-dns,certroute/owner=me,certroute/resource=ingress/a/b"',
      { heritage: 'external-dns', owner: '' },
    ],
  ])('parses an external-dns value: %s', (_label, value, expected) => {
    expect(parseOwner(value)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['empty', ''],
    ['empty quotes', '""'],
    ['SPF', '"v=spf1 include:_spf.example.net ~all"'],
    ['site verification', '"google-site-verification=abc123"'],
    ['unknown heritage', '"heritage=someone-else,someone-else/owner=x"'],
    ['heritage without value', '"heritage=,certroute/owner=me"'],
    ['no equals sign', '"heritage"'],
    ['heritage in upper case', '"HERITAGE=certroute,certroute/owner=me"'],
    ['key without name', '"=certroute"'],
  ])('rejects junk: %s', (_label, value) => {
    expect(parseOwner(value)).toBeUndefined();
  });

  it.each<[string, string, Owner]>([
    [
      'an escaped quote inside a field',
      '"heritage=certroute,certroute/owner=my\\"id,certroute/resource=ingress/apps/web"',
      { heritage: 'certroute', owner: 'my"id', resource: 'ingress/apps/web' },
    ],
    [
      'an escaped quote at the end',
      '"heritage=external-dns,external-dns/owner=default\\""',
      { heritage: 'external-dns', owner: 'default"' },
    ],
  ])('unescapes %s', (_label, value, expected) => {
    expect(parseOwner(value)).toEqual(expected);
  });
});

describe('ownerOfTxt', () => {
  const txt = (...values: string[]): RecordSet => ({
    name: 'www.example.test',
    type: 'TXT',
    ttl: 300,
    values,
  });

  it.each<[string, RecordSet | undefined, Owner | undefined]>([
    ['no record', undefined, undefined],
    ['no values', txt(), undefined],
    ['only junk', txt('"v=spf1 -all"', '"hello"'), undefined],
    [
      'the ownership value after junk',
      txt('"v=spf1 -all"', ownerValue('me', 'ingress/apps/web')),
      { heritage: 'certroute', owner: 'me', resource: 'ingress/apps/web' },
    ],
    [
      'the ownership value before junk',
      txt('"heritage=external-dns,external-dns/owner=legacy"', '"google-site-verification=x"'),
      { heritage: 'external-dns', owner: 'legacy' },
    ],
    [
      'the first of two ownership values',
      txt(
        '"junk"',
        ownerValue('other', 'ingress/apps/x'),
        '"heritage=external-dns,external-dns/owner=legacy"',
      ),
      { heritage: 'certroute', owner: 'other', resource: 'ingress/apps/x' },
    ],
  ])('%s', (_label, rs, expected) => {
    expect(ownerOfTxt(rs)).toEqual(expected);
  });
});

describe('describeOwner', () => {
  it.each<[string, Owner | undefined, string]>([
    ['no owner', undefined, 'unmanaged (no ownership record)'],
    [
      'certroute with resource',
      { heritage: 'certroute', owner: 'me', resource: 'ingress/apps/web' },
      'certroute owner "me" (ingress/apps/web)',
    ],
    ['certroute without resource', { heritage: 'certroute', owner: 'me' }, 'certroute owner "me"'],
    [
      'external-dns with resource',
      { heritage: 'external-dns', owner: 'default', resource: 'service/apps/lb' },
      'external-dns owner "default" (service/apps/lb)',
    ],
    [
      'external-dns without resource',
      { heritage: 'external-dns', owner: 'default' },
      'external-dns owner "default"',
    ],
    ['empty owner id', { heritage: 'external-dns', owner: '' }, 'external-dns owner ""'],
  ])('%s', (_label, owner, expected) => {
    expect(describeOwner(owner)).toBe(expected);
  });
});
