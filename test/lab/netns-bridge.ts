/**
 * The lab's side of its network namespace: run inside it (`ip netns exec <ns> node --import
 * tsx netns-bridge.ts <control socket>`), it opens the forwarders it is asked for on a Unix
 * control socket, one JSON request per line:
 *
 *   {"id":1,"op":"forward","from":{"host":"10.244.0.1","port":34567},"to":{"path":"..."}}
 *   {"id":2,"op":"close","key":"10.244.0.1:34567"}
 *
 * Each request gets {"id":…,"ok":true} or {"id":…,"ok":false,"error":"…"}. Sockets it opens
 * belong to the namespace; the Unix sockets it connects to or listens on are files in the
 * lab directory, shared with the root namespace. It exits when the lab (the only client)
 * disconnects, so it never outlives the lab that started it.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { describeAddress, forward, type Forwarder, type SocketAddress } from './forward.js';

interface Request {
  id: number;
  op: 'forward' | 'close';
  from?: SocketAddress;
  to?: SocketAddress;
  key?: string;
}

const control = process.argv[2];
if (!control) {
  console.error('usage: netns-bridge.ts <control socket path>');
  process.exit(2);
}

const forwards = new Map<string, Forwarder>();
const log = (msg: string) => console.log(`[netns-bridge] ${msg}`);

async function handle(req: Request): Promise<void> {
  if (req.op === 'forward' && req.from && req.to) {
    const key = describeAddress(req.from);
    await forwards.get(key)?.close();
    forwards.set(key, await forward(req.from, req.to, log));
    log(`${key} -> ${describeAddress(req.to)}`);
    return;
  }
  if (req.op === 'close' && req.key) {
    await forwards.get(req.key)?.close();
    forwards.delete(req.key);
    log(`closed ${req.key}`);
    return;
  }
  throw new Error(`bad request ${JSON.stringify(req)}`);
}

let clients = 0;
const server = createServer((sock) => {
  clients++;
  // One request at a time per connection, in order.
  let chain = Promise.resolve();
  createInterface({ input: sock }).on('line', (line) => {
    chain = chain.then(async () => {
      let id = 0;
      try {
        const req = JSON.parse(line) as Request;
        id = req.id;
        await handle(req);
        sock.write(`${JSON.stringify({ id, ok: true })}\n`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        sock.write(`${JSON.stringify({ id, ok: false, error })}\n`);
      }
    });
  });
  sock.on('error', () => undefined);
  sock.on('close', () => {
    if (--clients > 0) return;
    log('the lab disconnected; exiting');
    void shutdown(0);
  });
});

async function shutdown(code: number): Promise<void> {
  server.close();
  await Promise.all([...forwards.values()].map((f) => f.close()));
  process.exit(code);
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void shutdown(0));
if (existsSync(control)) unlinkSync(control);
server.listen(control, () => log(`listening on ${control}`));
