import { describe, expect, it } from 'vitest';
import type { Answer } from 'dns-packet';
import type { ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
import { answer, MAX_HOPS, parseTxt } from '../lab/dns-server.js';
import type { ZoneData } from '../lab/dns-server.js';

function rr(name: string, type: RRType, values: string[], ttl = 60): ResourceRecordSet {
  return { Name: name, Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}

function alias(name: string, type: RRType, target: string): ResourceRecordSet {
  return {
    Name: name,
    Type: type,
    AliasTarget: { HostedZoneId: 'Z0000', DNSName: target, EvaluateTargetHealth: false },
  };
}

/** What moto 5.1 returns for a new zone, including its odd SOA value. */
function apex(zone: string): ResourceRecordSet[] {
  return [
    rr(zone, 'NS', ['ns-2048.awsdns-64.com', 'ns-2049.awsdns-65.net'], 172800),
    rr(
      zone,
      'SOA',
      ["{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400'}"],
      900,
    ),
  ];
}

const zones: ZoneData[] = [
  {
    name: 'example.test.',
    records: [
      ...apex('example.test.'),
      rr('example.test.', 'CAA', ['0 issue "pebble.test"']),
      rr('www.example.test.', 'A', ['192.0.2.1', '192.0.2.2']),
      rr('www.example.test.', 'AAAA', ['2001:db8::1']),
      rr('_acme-challenge.www.example.test.', 'TXT', ['"token-one"', '"token-two"']),
      rr('multi.example.test.', 'TXT', ['"a b" "c\\"d" "back\\\\slash"', 'bare words']),
      rr('octal.example.test.', 'TXT', ['"star\\052 \\303\\251"']),
      rr('empty.example.test.', 'TXT', ['""']),
      rr('long.example.test.', 'TXT', [`"${'x'.repeat(300)}"`]),
      rr('Mixed.Example.Test.', 'A', ['192.0.2.9']),
      rr('app.example.test.', 'CNAME', ['www.example.test.']),
      rr('chain.example.test.', 'CNAME', ['app.example.test']),
      rr('cross.example.test.', 'CNAME', ['host.other.test.']),
      rr('outside.example.test.', 'CNAME', ['somewhere.else.invalid.']),
      rr('dangling.example.test.', 'CNAME', ['nothing.example.test.']),
      rr('loop1.example.test.', 'CNAME', ['loop2.example.test.']),
      rr('loop2.example.test.', 'CNAME', ['loop1.example.test.']),
      alias('apex-alias.example.test.', 'A', 'www.example.test.'),
      alias('via-cname.example.test.', 'A', 'app.example.test'),
      alias('cross-alias.example.test.', 'A', 'host.other.test'),
      alias('elb.example.test.', 'A', 'dualstack.my-lb-123.us-east-1.elb.amazonaws.com.'),
      alias('aloop.example.test.', 'A', 'aloop.example.test.'),
      rr('*.wild.example.test.', 'A', ['198.51.100.1']),
      rr('\\052.escaped.example.test.', 'TXT', ['"from-escaped-wildcard"']),
      rr('*.cn.example.test.', 'CNAME', ['www.example.test.']),
      rr('exact.wild.example.test.', 'TXT', ['"exact"']),
      rr('deep.node.example.test.', 'A', ['192.0.2.50']),
      rr('sub.example.test.', 'A', ['192.0.2.99']),
    ],
  },
  {
    name: 'sub.example.test.',
    records: [...apex('sub.example.test.'), rr('host.sub.example.test.', 'A', ['203.0.113.7'])],
  },
  {
    name: 'other.test',
    records: [
      rr('other.test', 'SOA', ['ns.other.test. admin.other.test. 7 3600 600 86400 60'], 300),
      rr('host.other.test', 'A', ['203.0.113.1']),
    ],
  },
];

function ttls(records: Answer[]): (number | undefined)[] {
  return records.map((a) => ('ttl' in a ? a.ttl : undefined));
}

/** One line per record: `owner TYPE data`, with TXT strings shown as a JSON array. */
function show(records: Answer[]): string[] {
  return records.map((a) => {
    if (!('data' in a)) return `${a.name} ${a.type}`;
    if (a.type === 'TXT') {
      const strings = Array.isArray(a.data) ? a.data : [a.data];
      return `${a.name} TXT ${JSON.stringify(strings.map((s) => s.toString()))}`;
    }
    const data = typeof a.data === 'string' ? a.data : JSON.stringify(a.data);
    return `${a.name} ${a.type} ${data}`;
  });
}

interface Case {
  what: string;
  name: string;
  type: string;
  rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED';
  answers: string[];
  /** Owner of the SOA expected in authority, if any. */
  soa?: string;
}

const cases: Case[] = [
  // Plain records
  {
    what: 'A with two values',
    name: 'www.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['www.example.test A 192.0.2.1', 'www.example.test A 192.0.2.2'],
  },
  {
    what: 'AAAA',
    name: 'www.example.test',
    type: 'AAAA',
    rcode: 'NOERROR',
    answers: ['www.example.test AAAA 2001:db8::1'],
  },
  {
    what: 'NS at the apex',
    name: 'example.test',
    type: 'NS',
    rcode: 'NOERROR',
    answers: ['example.test NS ns-2048.awsdns-64.com', 'example.test NS ns-2049.awsdns-65.net'],
  },
  {
    what: "SOA at the apex, unwrapped from moto's dict repr",
    name: 'example.test',
    type: 'SOA',
    rcode: 'NOERROR',
    answers: [
      'example.test SOA {"mname":"ns-2048.awsdns-64.com","rname":"hostmaster.example.com","serial":1,"refresh":7200,"retry":900,"expire":1209600,"minimum":86400}',
    ],
  },
  {
    what: 'CAA present',
    name: 'example.test',
    type: 'CAA',
    rcode: 'NOERROR',
    answers: ['example.test CAA {"flags":0,"tag":"issue","value":"pebble.test"}'],
  },
  {
    what: 'CAA absent: NODATA',
    name: 'www.example.test',
    type: 'CAA',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },

  // TXT quoting
  {
    what: 'TXT with several values (one record each)',
    name: '_acme-challenge.www.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: [
      '_acme-challenge.www.example.test TXT ["token-one"]',
      '_acme-challenge.www.example.test TXT ["token-two"]',
    ],
  },
  {
    what: 'TXT character-strings, escapes and unquoted words',
    name: 'multi.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: [
      'multi.example.test TXT ["a b","c\\"d","back\\\\slash"]',
      'multi.example.test TXT ["bare","words"]',
    ],
  },
  {
    what: 'TXT octal escapes are bytes',
    name: 'octal.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: ['octal.example.test TXT ["star* é"]'],
  },
  {
    what: 'TXT empty string',
    name: 'empty.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: ['empty.example.test TXT [""]'],
  },
  {
    what: 'TXT over 255 bytes is split',
    name: 'long.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: [`long.example.test TXT ${JSON.stringify(['x'.repeat(255), 'x'.repeat(45)])}`],
  },

  // CNAME
  {
    what: 'CNAME asked for directly is not chased',
    name: 'app.example.test',
    type: 'CNAME',
    rcode: 'NOERROR',
    answers: ['app.example.test CNAME www.example.test'],
  },
  {
    what: 'CNAME chased to A',
    name: 'app.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [
      'app.example.test CNAME www.example.test',
      'www.example.test A 192.0.2.1',
      'www.example.test A 192.0.2.2',
    ],
  },
  {
    what: 'CNAME chain of two',
    name: 'chain.example.test',
    type: 'AAAA',
    rcode: 'NOERROR',
    answers: [
      'chain.example.test CNAME app.example.test',
      'app.example.test CNAME www.example.test',
      'www.example.test AAAA 2001:db8::1',
    ],
  },
  {
    what: 'CNAME chased into another moto zone',
    name: 'cross.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['cross.example.test CNAME host.other.test', 'host.other.test A 203.0.113.1'],
  },
  {
    what: 'CNAME out of moto: just the CNAME',
    name: 'outside.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['outside.example.test CNAME somewhere.else.invalid'],
  },
  {
    what: 'CNAME to a missing name: NXDOMAIN for the target (RFC 6604)',
    name: 'dangling.example.test',
    type: 'A',
    rcode: 'NXDOMAIN',
    answers: ['dangling.example.test CNAME nothing.example.test'],
    soa: 'example.test',
  },
  {
    what: 'CNAME target without the type: NODATA after the CNAME',
    name: 'app.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: ['app.example.test CNAME www.example.test'],
    soa: 'example.test',
  },

  // ALIAS
  {
    what: 'ALIAS to a known name answers its addresses under the alias name',
    name: 'apex-alias.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['apex-alias.example.test A 192.0.2.1', 'apex-alias.example.test A 192.0.2.2'],
  },
  {
    what: 'ALIAS to a CNAME is flattened',
    name: 'via-cname.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['via-cname.example.test A 192.0.2.1', 'via-cname.example.test A 192.0.2.2'],
  },
  {
    what: 'ALIAS into another moto zone',
    name: 'cross-alias.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['cross-alias.example.test A 203.0.113.1'],
  },
  {
    what: 'ALIAS to an unknown target (an ELB): NODATA',
    name: 'elb.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'ALIAS of type A says nothing about AAAA',
    name: 'apex-alias.example.test',
    type: 'AAAA',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'ALIAS pointing at itself ends as NODATA',
    name: 'aloop.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },

  // Wildcards
  {
    what: 'wildcard (stored as *) matches a name below it',
    name: 'anything.wild.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['anything.wild.example.test A 198.51.100.1'],
  },
  {
    what: 'wildcard matches several labels down',
    name: 'a.b.wild.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['a.b.wild.example.test A 198.51.100.1'],
  },
  {
    what: 'wildcard stored as \\052 matches too',
    name: 'x.escaped.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: ['x.escaped.example.test TXT ["from-escaped-wildcard"]'],
  },
  {
    what: 'wildcard without the type: NODATA',
    name: 'anything.wild.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'an existing name is not covered by the wildcard',
    name: 'exact.wild.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'nor are names below an existing name (RFC 4592 closest encloser)',
    name: 'x.exact.wild.example.test',
    type: 'A',
    rcode: 'NXDOMAIN',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'the wildcard does not match its own parent',
    name: 'wild.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'wildcard CNAME is synthesised and chased',
    name: 'foo.cn.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [
      'foo.cn.example.test CNAME www.example.test',
      'www.example.test A 192.0.2.1',
      'www.example.test A 192.0.2.2',
    ],
  },
  {
    what: 'the literal wildcard name answers itself',
    name: '*.wild.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['*.wild.example.test A 198.51.100.1'],
  },

  // NODATA vs NXDOMAIN
  {
    what: 'name with other types: NODATA',
    name: 'www.example.test',
    type: 'TXT',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'empty non-terminal: NODATA',
    name: 'node.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'a sibling of a deeper name is still missing',
    name: '_acme-challenge.example.test',
    type: 'TXT',
    rcode: 'NXDOMAIN',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'unsupported type at an existing name: NODATA',
    name: 'www.example.test',
    type: 'MX',
    rcode: 'NOERROR',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'missing name: NXDOMAIN',
    name: 'missing.example.test',
    type: 'A',
    rcode: 'NXDOMAIN',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'missing name below a missing name: NXDOMAIN',
    name: 'a.missing.example.test',
    type: 'TXT',
    rcode: 'NXDOMAIN',
    answers: [],
    soa: 'example.test',
  },
  {
    what: 'apex without the type: NODATA',
    name: 'other.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'other.test',
  },

  // Zone choice
  {
    what: 'most specific zone answers (sub.example.test, not example.test)',
    name: 'host.sub.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['host.sub.example.test A 203.0.113.7'],
  },
  {
    what: "parent zone's record at the child apex is not used",
    name: 'sub.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: [],
    soa: 'sub.example.test',
  },
  {
    what: 'missing name in the child zone: NXDOMAIN with the child SOA',
    name: 'nope.sub.example.test',
    type: 'A',
    rcode: 'NXDOMAIN',
    answers: [],
    soa: 'sub.example.test',
  },
  {
    what: 'no zone: REFUSED',
    name: 'www.unknown.test',
    type: 'A',
    rcode: 'REFUSED',
    answers: [],
  },
  {
    what: 'suffix match is by label, not by string',
    name: 'notexample.test',
    type: 'A',
    rcode: 'REFUSED',
    answers: [],
  },
  {
    what: 'root: REFUSED',
    name: '.',
    type: 'NS',
    rcode: 'REFUSED',
    answers: [],
  },

  // Case and trailing dots
  {
    what: 'query name case is ignored and echoed in the owner name',
    name: 'WWW.Example.TEST',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['WWW.Example.TEST A 192.0.2.1', 'WWW.Example.TEST A 192.0.2.2'],
  },
  {
    what: 'record name case is ignored',
    name: 'mixed.example.test',
    type: 'A',
    rcode: 'NOERROR',
    answers: ['mixed.example.test A 192.0.2.9'],
  },
  {
    what: 'trailing dot on the query',
    name: 'www.example.test.',
    type: 'AAAA',
    rcode: 'NOERROR',
    answers: ['www.example.test AAAA 2001:db8::1'],
  },
  {
    what: 'lower-case query type',
    name: 'www.example.test',
    type: 'aaaa',
    rcode: 'NOERROR',
    answers: ['www.example.test AAAA 2001:db8::1'],
  },
];

describe('lab DNS answer()', () => {
  it.each(cases)('$what ($name $type)', (c) => {
    const result = answer({ name: c.name, type: c.type }, zones);
    expect(result.rcode).toBe(c.rcode);
    expect(show(result.answers)).toEqual(c.answers);
    expect(result.authority.map((a) => `${a.name} ${a.type}`)).toEqual(
      c.soa ? [`${c.soa} SOA`] : [],
    );
  });

  it('uses min(SOA TTL, SOA minimum) for the negative-answer SOA (RFC 2308)', () => {
    expect(ttls(answer({ name: 'missing.example.test', type: 'A' }, zones).authority)).toEqual([
      900,
    ]);
    expect(ttls(answer({ name: 'missing.other.test', type: 'A' }, zones).authority)).toEqual([60]);
  });

  it('keeps record TTLs, and the target TTL for ALIAS answers', () => {
    const txt = answer({ name: '_acme-challenge.www.example.test', type: 'TXT' }, zones);
    expect(ttls(txt.answers)).toEqual([60, 60]);
    const aliased = answer({ name: 'apex-alias.example.test', type: 'A' }, zones);
    expect(ttls(aliased.answers)).toEqual([60, 60]);
  });

  it(`stops a CNAME loop after ${MAX_HOPS} hops`, () => {
    const result = answer({ name: 'loop1.example.test', type: 'A' }, zones);
    expect(result.rcode).toBe('NOERROR');
    expect(result.answers).toHaveLength(MAX_HOPS + 1);
    expect(result.answers.every((a) => a.type === 'CNAME')).toBe(true);
  });

  it('makes up an SOA when the zone has none it can read', () => {
    const bare: ZoneData[] = [{ name: 'bare.test.', records: [rr('bare.test.', 'SOA', ['junk'])] }];
    const result = answer({ name: 'x.bare.test', type: 'A' }, bare);
    expect(result.rcode).toBe('NXDOMAIN');
    expect(show(result.authority)).toEqual([
      'bare.test SOA {"mname":"ns.bare.test","rname":"hostmaster.bare.test","serial":1,"refresh":7200,"retry":900,"expire":1209600,"minimum":300}',
    ]);
  });

  it('throws on values that cannot be put on the wire (the server turns that into SERVFAIL)', () => {
    const bad: ZoneData[] = [{ name: 'bad.test', records: [rr('x.bad.test', 'A', ['not-an-ip'])] }];
    expect(() => answer({ name: 'x.bad.test', type: 'A' }, bad)).toThrow(/invalid A value/);
  });

  it('with no zones at all refuses', () => {
    expect(answer({ name: 'www.example.test', type: 'A' }, [])).toEqual({
      rcode: 'REFUSED',
      answers: [],
      authority: [],
    });
  });
});

describe('parseTxt', () => {
  it.each([
    ['"hello"', ['hello']],
    ['"a" "b"', ['a', 'b']],
    ['"say \\"hi\\""', ['say "hi"']],
    ['"back\\\\slash"', ['back\\slash']],
    ['"semi;colon" tail', ['semi;colon', 'tail']],
    ['"unterminated', ['unterminated']],
    ['', ['']],
  ])('%s', (value, expected) => {
    expect(parseTxt(value).map((b) => b.toString())).toEqual(expected);
  });
});
