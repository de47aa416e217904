/**
 * A Kubernetes API server in memory, on loopback, for unit tests of code that talks to the
 * API through client-node: plain namespaced and cluster-scoped objects under any path, with
 * the refusals the real server makes. A GET or PATCH of a missing object is 404; a POST of an
 * existing name is 409 AlreadyExists; a PUT whose resourceVersion is not the current one is
 * 409 Conflict; every write bumps resourceVersion. `/status` subresources patch the object's
 * status. `down` turns every request into a 500, to stand for an API server that is away;
 * `hang` leaves every request unanswered (a connection that hangs) until stop().
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';

type Obj = {
  metadata?: { name?: string; resourceVersion?: string; [k: string]: unknown };
} & Record<string, unknown>;

export class KubeApiDouble {
  /** Objects by collection path (e.g. /api/v1/namespaces/ns/events) and name. */
  private readonly store = new Map<string, Map<string, Obj>>();
  private server: Server | undefined;
  private version = 0;
  readonly requests: string[] = [];
  down = false;
  hang = false;

  async start(): Promise<k8s.KubeConfig> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as AddressInfo;
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'double', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'double', cluster: 'double', user: 'u' }],
      currentContext: 'double',
    });
    return kc;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Every object of a collection, e.g. list('/api/v1/namespaces/ns/events'). */
  list<T = Obj>(collection: string): T[] {
    return [...(this.store.get(collection)?.values() ?? [])] as T[];
  }

  get<T = Obj>(collection: string, name: string): T | undefined {
    return this.store.get(collection)?.get(name) as T | undefined;
  }

  /** Writes an object as another client would (bumping its resourceVersion). */
  put(collection: string, obj: Obj): void {
    const name = obj.metadata?.name ?? '';
    this.collection(collection).set(name, this.stamp(structuredClone(obj)));
  }

  delete(collection: string, name: string): void {
    this.store.get(collection)?.delete(name);
  }

  private collection(path: string): Map<string, Obj> {
    let c = this.store.get(path);
    if (!c) this.store.set(path, (c = new Map<string, Obj>()));
    return c;
  }

  private stamp(o: Obj): Obj {
    o.metadata = { ...o.metadata, resourceVersion: String(++this.version) };
    return o;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    if (this.hang) return; // no answer; stop() closes the connection
    if (this.down) return send(res, 500, status(500, 'InternalError', 'the API server is away'));
    const sub = url.pathname.endsWith('/status');
    const path = sub ? url.pathname.slice(0, -'/status'.length) : url.pathname;
    if (method === 'POST') return this.create(res, path, body);
    const at = path.lastIndexOf('/');
    const collection = path.slice(0, at);
    const name = decodeURIComponent(path.slice(at + 1));
    const existing = this.store.get(collection)?.get(name);
    if (method === 'GET' && !existing && this.store.has(path))
      return send(res, 200, { kind: 'List', items: this.list(path), metadata: {} });
    if (!existing) return send(res, 404, status(404, 'NotFound', `${name} not found`));
    const [code, out] = this.write(method, collection, name, existing, body, sub);
    send(res, code, out);
  }

  /** GET, DELETE, PUT or PATCH of an object that exists. */
  private write(
    method: string,
    collection: string,
    name: string,
    existing: Obj,
    body: unknown,
    sub: boolean,
  ): [number, unknown] {
    const c = this.collection(collection);
    if (method === 'GET') return [200, existing];
    if (method === 'DELETE') {
      c.delete(name);
      return [200, existing];
    }
    if (method === 'PUT') {
      const o = body as Obj;
      if (o.metadata?.resourceVersion !== existing.metadata?.resourceVersion)
        return [
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${name}: the object has been modified`,
          ),
        ];
      const next = this.stamp(sub ? { ...existing, status: o.status } : o);
      c.set(name, next);
      return [200, next];
    }
    if (method === 'PATCH') {
      const patch = body as Record<string, unknown>;
      const next = this.stamp(
        sub
          ? { ...existing, status: mergePatch(existing.status, patch.status ?? patch) }
          : (mergePatch(existing, patch) as Obj),
      );
      c.set(name, next);
      return [200, next];
    }
    return [405, status(405, 'MethodNotAllowed', method)];
  }

  private create(res: ServerResponse, collection: string, body: unknown): void {
    const o = body as Obj;
    const name = o.metadata?.name ?? '';
    if (this.collection(collection).has(name))
      return send(res, 409, status(409, 'AlreadyExists', `${name} already exists`));
    const stored = this.stamp(structuredClone(o));
    this.collection(collection).set(name, stored);
    send(res, 201, stored);
  }
}

/** RFC 7386: objects merge, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}
