import { describe, expect, it } from 'vitest';
import { filterZones, zoneFor } from './zones.js';
import type { ZoneFilter } from './zones.js';
import type { Zone } from './types.js';

const pub: Zone = { id: 'ZPUB', name: 'example.test', private: false };
const priv: Zone = { id: 'ZPRIV', name: 'example.test', private: true };
const sub: Zone = { id: 'ZSUB', name: 'apps.example.test', private: false };
const other: Zone = { id: 'ZOTHER', name: 'other.test', private: false };
const lookalike: Zone = { id: 'ZLOOK', name: 'notexample.test', private: false };
const zones = [pub, priv, sub, other, lookalike];

function filter(f: Partial<ZoneFilter>): ZoneFilter {
  return { domainFilter: [], zoneIdFilter: [], zoneType: 'all', ...f };
}

describe('filterZones', () => {
  it.each<[string, Partial<ZoneFilter>, Zone[]]>([
    ['all', {}, zones],
    ['public', { zoneType: 'public' }, [pub, sub, other, lookalike]],
    ['private', { zoneType: 'private' }, [priv]],
    ['zone id filter', { zoneIdFilter: ['ZSUB', 'ZOTHER'] }, [sub, other]],
    ['zone id filter and type', { zoneIdFilter: ['ZPUB', 'ZPRIV'], zoneType: 'private' }, [priv]],
    ['unknown zone id', { zoneIdFilter: ['ZNONE'] }, []],
    [
      'domain filter: the zone and zones inside the domain',
      { domainFilter: ['example.test'] },
      [pub, priv, sub],
    ],
    [
      'domain filter: a domain inside the zone keeps the zone',
      { domainFilter: ['www.apps.example.test'] },
      [pub, priv, sub],
    ],
    ['domain filter: exact sub-zone', { domainFilter: ['apps.example.test'] }, [pub, priv, sub]],
    ['domain filter: unrelated zones dropped', { domainFilter: ['other.test'] }, [other]],
    ['domain filter: label boundary', { domainFilter: ['notexample.test'] }, [lookalike]],
    [
      'domain filter: several domains',
      { domainFilter: ['other.test', 'notexample.test'] },
      [other, lookalike],
    ],
    ['domain filter: nothing matches', { domainFilter: ['nowhere.test'] }, []],
    [
      'domain and type filters together',
      { domainFilter: ['example.test'], zoneType: 'public' },
      [pub, sub],
    ],
  ])('%s', (_label, f, expected) => {
    expect(filterZones(zones, filter(f))).toEqual(expected);
  });
});

describe('zoneFor', () => {
  const candidates = [pub, sub, other, lookalike];

  it.each<[string, string, readonly string[], Zone | undefined]>([
    ['host in a zone', 'www.example.test', [], pub],
    ['most specific zone wins', 'www.apps.example.test', [], sub],
    ['exact apex', 'example.test', [], pub],
    ['exact apex of a sub-zone', 'apps.example.test', [], sub],
    ['wildcard host', '*.example.test', [], pub],
    ['wildcard host in a sub-zone', '*.apps.example.test', [], sub],
    ['no zone', 'www.nowhere.test', [], undefined],
    ['label boundary: look-alike zone', 'www.notexample.test', [], lookalike],
    ['label boundary: suffix without a dot', 'xexample.test', [], undefined],
    ['domain filter admits', 'www.example.test', ['example.test'], pub],
    [
      'domain filter excludes although a zone matches',
      'www.example.test',
      ['other.test'],
      undefined,
    ],
    ['domain filter at a sub-domain', 'www.example.test', ['apps.example.test'], undefined],
    [
      'domain filter at a sub-domain admits its hosts',
      'x.apps.example.test',
      ['apps.example.test'],
      sub,
    ],
    ['domain filter, wildcard host', '*.apps.example.test', ['apps.example.test'], sub],
    [
      'domain filter, wildcard host wider than the filter',
      '*.example.test',
      ['apps.example.test'],
      undefined,
    ],
    ['domain filter label boundary', 'www.notexample.test', ['example.test'], undefined],
  ])('%s', (_label, host, domainFilter, expected) => {
    expect(zoneFor(host, candidates, domainFilter)).toEqual(expected);
  });

  it('does not depend on the order of the zones', () => {
    expect(zoneFor('www.apps.example.test', [sub, pub])).toBe(sub);
    expect(zoneFor('www.apps.example.test', [pub, sub])).toBe(sub);
  });

  it('no zones → undefined', () => {
    expect(zoneFor('www.example.test', [])).toBeUndefined();
  });
});
