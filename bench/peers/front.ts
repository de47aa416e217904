// The HTTP-01 front of the issuance peer benchmark. Pebble validates on the lab's http01Port,
// where Traefik's web entrypoint comes out on root 127.0.0.1; certroute self-checks there too
// (--http01-port). cert-manager's self-check has no port setting: it asks http://<host>/ on
// port 80. So the workload's hosts resolve to a loopback address of their own where both
// port 80 and http01Port lead to Traefik, byte for byte.
import { forward, type Forwarder } from '../../test/lab/forward.js';
import type { Lab } from '../../test/lab/lab.js';

export interface Http01Front {
  /** The address the workload's A records point at. */
  address: string;
  close(): Promise<void>;
}

const fronts = new WeakMap<Lab, Promise<Http01Front>>();

/** One front per lab, opened on first use and closed with `close()` (or when the process ends). */
export function http01Front(lab: Lab): Promise<Http01Front> {
  let f = fronts.get(lab);
  if (!f) {
    f = openFront(lab);
    fronts.set(lab, f);
  }
  return f;
}

/** Addresses 127.0.0.150-199: outside what the lab's pod network maps (its pods use low ones). */
function candidates(): string[] {
  const start = 150 + (process.pid % 50);
  return Array.from({ length: 50 }, (_, i) => `127.0.0.${150 + ((start - 150 + i) % 50)}`);
}

async function openFront(lab: Lab): Promise<Http01Front> {
  const to = { host: lab.env.ingressAddress, port: lab.env.http01Port };
  let lastError: unknown;
  for (const address of candidates()) {
    const opened: Forwarder[] = [];
    try {
      opened.push(await forward({ host: address, port: 80 }, to));
      opened.push(await forward({ host: address, port: lab.env.http01Port }, to));
      return {
        address,
        close: async () => {
          for (const o of opened) await o.close();
        },
      };
    } catch (err) {
      lastError = err;
      for (const o of opened) await o.close().catch(() => undefined);
    }
  }
  throw new Error('no loopback address in 127.0.0.150-199 has ports 80 and http01Port free', {
    cause: lastError,
  });
}

/** Closes the lab's front, if one was opened. */
export async function closeHttp01Front(lab: Lab): Promise<void> {
  const f = fronts.get(lab);
  fronts.delete(lab);
  if (f) await (await f).close();
}
