// --zone-change-interval: the first change to a quiet zone goes out at once; changes asked
// for within the interval of the last call gather into one batch after it.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, setup, until, zone, type Endpoint } from '../../test/doubles/dns-controller.js';
import type { DnsController } from './controller.js';

/** Listings and change calls (GetChange polls run on their own schedule). */
const sent = (calls: string[]) => calls.filter((c) => !c.startsWith('get '));
import { recordKey } from './types.js';

let controllers: DnsController[] = [];
afterEach(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  controllers = [];
});

function paced(endpoints: Endpoint[], interval: string) {
  const t = setup(endpoints, [`--zone-change-interval=${interval}`]);
  controllers.push(t.dns);
  return t;
}

describe('zone change pacing', () => {
  it('sends the first change to a quiet zone at once, even with a long interval', async () => {
    const { dns, provider } = paced([endpoint('a', '192.0.2.1')], '1m');
    dns.queue.add(zone.id);
    await until(() => provider.calls.includes('change C1'));
    expect(sent(provider.calls)).toEqual(['list', 'change C1']);
  });

  it('gathers changes asked for within the interval into one call after it', async () => {
    const eps = [endpoint('a', '192.0.2.1')];
    const { dns, provider } = paced(eps, '400ms');
    dns.queue.add(zone.id);
    await until(() => provider.calls.includes('change C1'));
    // Three more hosts, one at a time, each asking for a sync: all inside the interval.
    for (const name of ['b', 'c', 'd']) {
      eps.push(endpoint(name, '192.0.2.2'));
      dns.queue.add(zone.id);
      await sleep(20);
    }
    await until(() =>
      ['b', 'c', 'd'].every((n) => provider.rrsets.has(recordKey(`${n}.example.test`, 'A'))),
    );
    await dns.queue.idle();
    expect(sent(provider.calls)).toEqual(['list', 'change C1', 'change C2']);
  });

  it('sends every sync at once with an interval of 0', async () => {
    const eps = [endpoint('a', '192.0.2.1')];
    const { dns, provider } = paced(eps, '0');
    await dns.syncZoneNow(zone.id);
    eps.push(endpoint('b', '192.0.2.2'));
    dns.queue.add(zone.id);
    await until(() => provider.calls.includes('change C2'));
    expect(sent(provider.calls)).toEqual(['list', 'change C1', 'change C2']);
  });
});
