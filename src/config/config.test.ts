import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, parseConfig, parseDuration } from './index.js';
import { flags } from './flags.js';

describe('parseConfig', () => {
  it('applies defaults and freezes the result', () => {
    const c = parseConfig([], {});
    expect(c.policy).toBe('sync');
    expect(c.leaderElection).toBe(true);
    expect(c.resyncInterval).toBe(600_000);
    expect(c.domainFilter).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    [['--policy=upsert-only'], {}, 'policy', 'upsert-only'],
    [['--policy', 'create-only'], {}, 'policy', 'create-only'],
    [[], { CERTROUTE_POLICY: 'upsert-only' }, 'policy', 'upsert-only'],
    [['--policy=sync'], { CERTROUTE_POLICY: 'upsert-only' }, 'policy', 'sync'],
    [['--dry-run'], {}, 'dryRun', true],
    [['--leader-election=false'], {}, 'leaderElection', false],
    [['--domain-filter=a.test, b.test'], {}, 'domainFilter', ['a.test', 'b.test']],
    [['--resync-interval=1m30s'], {}, 'resyncInterval', 90_000],
    [
      ['--recursive-nameservers=127.0.0.1:5353,[::1]:53'],
      {},
      'recursiveNameservers',
      ['127.0.0.1:5353', '[::1]:53'],
    ],
    [['--workers=3'], {}, 'workers', 3],
    [[], {}, 'dns01NameserverPort', 53],
    [[], { CERTROUTE_DNS01_NAMESERVER_PORT: '5353' }, 'dns01NameserverPort', 5353],
    [[], {}, 'skipSelfChecks', false],
    [['--skip-self-checks'], {}, 'skipSelfChecks', true],
    [[], { CERTROUTE_SKIP_SELF_CHECKS: 'yes' }, 'skipSelfChecks', true],
  ] as const)('%j %j sets %s', (argv, env, key, want) => {
    expect(parseConfig(argv, env)[key]).toEqual(want);
  });

  it.each([
    [['--policy=delete-everything'], '--policy (from the command line)'],
    [[], '--zone-type (from CERTROUTE_ZONE_TYPE)', { CERTROUTE_ZONE_TYPE: 'secret' }],
    [['--resync-interval=soon'], '--resync-interval'],
    [['--resync-interval=1s'], 'must be at least 10s'],
    [['--metrics-address=8080'], '--metrics-address'],
    [['--dns01-nameserver-port=0'], '--dns01-nameserver-port'],
    [['--workers=0'], '--workers'],
    [['--owner-id=has space'], '--owner-id'],
    [['--domain-filter=bad_domain!'], '--domain-filter'],
    [['--no-such-flag=1'], '--no-such-flag: unknown flag'],
    [['stray'], 'unexpected argument "stray"'],
  ] as [string[], string, Record<string, string>?][])(
    'rejects %j naming the flag',
    (argv, message, env = {}) => {
      expect(() => parseConfig(argv, env)).toThrow(ConfigError);
      expect(() => parseConfig(argv, env)).toThrow(message);
    },
  );

  it('reports every problem at once', () => {
    expect(() => parseConfig(['--policy=x', '--zone-type=y'], {})).toThrow(
      /--zone-type[\s\S]*--policy/,
    );
  });
});

describe('helpText', () => {
  it('lists every flag with its default and environment variable', () => {
    const text = helpText();
    for (const spec of Object.values(flags)) {
      expect(text).toContain(`--${spec.flag}  (${spec.env}, default "${spec.default ?? ''}")`);
    }
  });
});

describe('parseDuration', () => {
  it.each([
    ['30', 30_000],
    ['250ms', 250],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    ['', undefined],
    ['5 m', undefined],
    ['m5', undefined],
  ])('%s -> %s', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });
});
