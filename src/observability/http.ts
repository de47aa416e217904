import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeState {
  /** Informer caches synced and leader state known. */
  ready(): { ok: boolean; detail: string };
}

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(i + 1)) };
}

export async function listen(server: Server, address: string): Promise<Server> {
  const { host, port } = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** /healthz and /readyz. Liveness is only "the event loop answers"; readiness is real state. */
export function startProbeServer(address: string, state: ProbeState): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (req.url === '/readyz') {
      const r = state.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.detail}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  return listen(server, address);
}

export function startMetricsServer(address: string, registry: Registry): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  return listen(server, address);
}

export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
