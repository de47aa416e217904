/**
 * The lab DNS as a hosted zone's own nameservers. moto's NS records name AWS nameservers that do
 * not exist here, so the DNS-01 authoritative check (src/acme/solvers/dns01-authority.ts) would
 * find nobody to ask. This starts the lab DNS on several loopback addresses (127.0.0.x are all
 * loopback) on one port, and answers every hosted zone's NS query with `ns1.<zone>`,
 * `ns2.<zone>`, ... whose A records are those addresses. One address can be told to hide TXT
 * records: a nameserver that has not got the change yet.
 *
 * It is an addition beside the lab's main DNS server (which Pebble asks, and which answers
 * moto's data unchanged).
 */
import net from 'node:net';
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import { normName, startLabDns, type LabDns, type ZoneData } from './dns-server.js';

export interface NameserverView {
  /** The listen addresses, in order: `ns1.<zone>` is the first. */
  addresses: readonly string[];
  /** Drop every TXT record set (this nameserver is stale). */
  hideTxt: boolean;
}

/** `ns<i+1>.<zone>` for each address. */
export function nameserverNames(zone: string, count: number): string[] {
  const apex = normName(zone);
  return Array.from({ length: count }, (_v, i) => `ns${i + 1}.${apex}`);
}

/**
 * Pure: moto's zones as their lab nameservers answer them. The apex NS set names the lab's
 * nameservers, each of which gets an A (or AAAA) set with its address; with `hideTxt`, no TXT
 * set is there at all. Nothing else changes.
 */
export function asNameservers(zones: readonly ZoneData[], view: NameserverView): ZoneData[] {
  return zones.map((zone) => {
    const apex = normName(zone.name);
    const names = nameserverNames(apex, view.addresses.length);
    const glue = new Set(names);
    const kept = zone.records.filter((r) => {
      const name = normName(r.Name ?? '');
      if (view.hideTxt && r.Type === 'TXT') return false;
      if (name === apex && r.Type === 'NS') return false;
      return !glue.has(name);
    });
    const ns: ResourceRecordSet = {
      Name: `${apex}.`,
      Type: 'NS',
      TTL: 60,
      ResourceRecords: names.map((n) => ({ Value: `${n}.` })),
    };
    const addresses: ResourceRecordSet[] = names.map((n, i) => {
      const address = view.addresses[i] ?? '';
      return {
        Name: `${n}.`,
        Type: net.isIPv6(address) ? 'AAAA' : 'A',
        TTL: 60,
        ResourceRecords: [{ Value: address }],
      };
    });
    return { name: zone.name, records: [...kept, ns, ...addresses] };
  });
}

export interface LabNameserversOptions {
  route53: Route53Client;
  /** Listen addresses, one nameserver each. Default 127.0.0.1 and 127.0.0.2. */
  addresses?: readonly string[];
  log?: (msg: string) => void;
}

export interface LabNameservers {
  /** The one port every address listens on (UDP and TCP). */
  port: number;
  addresses: readonly string[];
  /** Makes the nameserver at `address` hide (or show again) every TXT record. */
  hideTxt(address: string, hidden: boolean): void;
  close(): Promise<void>;
}

const MAX_ATTEMPTS = 20;

export async function startLabNameservers(opts: LabNameserversOptions): Promise<LabNameservers> {
  const addresses = opts.addresses ?? ['127.0.0.1', '127.0.0.2'];
  const hidden = new Set<string>();
  const start = (host: string, port: number): Promise<LabDns> =>
    startLabDns({
      route53: opts.route53,
      host,
      port,
      ...(opts.log ? { log: opts.log } : {}),
      view: (zones) => asNameservers(zones, { addresses, hideTxt: hidden.has(host) }),
    });
  for (let attempt = 1; ; attempt++) {
    const [first, ...rest] = addresses;
    const servers = [await start(first ?? '127.0.0.1', 0)];
    const port = servers[0]?.port ?? 0;
    try {
      // The others on the first one's port: a check asks every nameserver on one port.
      for (const host of rest) servers.push(await start(host, port));
    } catch (err) {
      await Promise.all(servers.map((s) => s.close()));
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= MAX_ATTEMPTS)
        throw err;
      continue;
    }
    return {
      port,
      addresses,
      hideTxt: (address, on) => {
        if (on) hidden.add(address);
        else hidden.delete(address);
      },
      close: async () => {
        await Promise.all(servers.map((s) => s.close()));
      },
    };
  }
}
