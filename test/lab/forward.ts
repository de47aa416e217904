/**
 * Byte-for-byte stream forwarding between TCP and Unix sockets: how the lab crosses the
 * boundary of its network namespace (see netns.ts). A Unix socket is a file, and the lab
 * directory is the same directory on both sides of the boundary, so a listener on one side
 * and a connector on the other make a TCP port of one namespace reachable from the other.
 * No protocol is parsed: TLS to the API server and HTTP to Traefik pass through untouched.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP address or a Unix socket path. */
export type SocketAddress = { host: string; port: number } | { path: string };

export interface Forwarder {
  /** Where it listens (a TCP port of 0 is resolved to the port it got). */
  readonly listen: SocketAddress;
  close(): Promise<void>;
}

export function describeAddress(a: SocketAddress): string {
  return 'path' in a ? `unix:${a.path}` : `${a.host}:${a.port}`;
}

/** Listens on `from` and pipes every connection to a fresh connection to `to`. */
export async function forward(
  from: SocketAddress,
  to: SocketAddress,
  onError: (msg: string) => void = () => undefined,
): Promise<Forwarder> {
  const open = new Set<Socket>();
  let closing: Promise<void> | undefined;
  // Half-open on both sides: an HTTP client that ends its request side still gets the reply.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ ...to, allowHalfOpen: true });
    open.add(client);
    open.add(upstream);
    const fail = (side: string) => (err: NodeJS.ErrnoException) => {
      // A peer that hangs up mid-stream (EPIPE, ECONNRESET) is routine; say why a connection
      // could not be made at all, unless this forwarder is closing anyway.
      const routine = err.code === 'EPIPE' || err.code === 'ECONNRESET';
      if (!closing && !routine)
        onError(`${describeAddress(from)} -> ${describeAddress(to)}: ${side}: ${err.message}`);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail('client'));
    upstream.on('error', fail('upstream'));
    client.on('close', () => open.delete(client));
    upstream.on('close', () => open.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  if ('path' in from && existsSync(from.path)) unlinkSync(from.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen('path' in from ? from.path : { host: from.host, port: from.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => onError(`${describeAddress(from)}: ${err.message}`));
  const bound = server.address();
  const listen: SocketAddress =
    'path' in from ? from : { host: from.host, port: (bound as AddressInfo).port };
  return {
    listen,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }).then(() => {
        if ('path' in from && existsSync(from.path)) unlinkSync(from.path);
      });
      return closing;
    },
  };
}
