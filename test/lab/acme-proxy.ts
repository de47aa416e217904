import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { acmeAction } from '../../src/acme/client.js';
import { bin } from './paths.js';

/**
 * An HTTPS reverse proxy on loopback in front of Pebble, that can answer chosen ACME calls
 * with 429 `rateLimited` and a Retry-After, as a CA at its limits does (RFC 8555 §6.6).
 *
 * It serves with Pebble's own certificate (its names are localhost and 127.0.0.1), so an issuer
 * that trusts `env.acmeCaFile` trusts the proxy too. It forwards with the proxy's Host, from
 * which Pebble builds its URLs and checks each JWS `url`; any Pebble URL left in a body or a
 * Location/Link header is rewritten to the proxy's. A refused call carries a fresh
 * Replay-Nonce fetched from Pebble (RFC 8555 §6.5: every POST answer, errors included, gives
 * one), so the client's nonce handling never sees the proxy.
 */
export interface RefuseRule {
  /** The action (src/acme/client.ts acmeAction), e.g. "newOrder". */
  action: string;
  /** Refuse the first this many calls of the action (counted from when the rule was set). */
  first?: number;
  /** Then refuse this share (0..1) of the calls, evenly spread (deterministic). */
  share?: number;
  retryAfterSeconds: number;
  /** The problem's detail; a CA's names the limit (certroute reads its scope from it). */
  detail?: string;
  /** Only calls whose newOrder identifiers this accepts count and are refused. */
  match?: (identifiers: string[]) => boolean;
}

export interface ProxiedCall {
  action: string;
  /** Date.now() when the proxy received it. */
  at: number;
  /** newOrder: the identifiers asked for. */
  identifiers: string[];
  refused: boolean;
}

export interface AcmeProxy {
  /** The directory URL to give an issuer. */
  directory: string;
  refuse(rule: RefuseRule | undefined): void;
  calls: ProxiedCall[];
  forwarded: (action: string) => number;
  refused: (action: string) => number;
  stop(): Promise<void>;
}

export async function startAcmeProxy(pebbleDirectory: string, caFile: string): Promise<AcmeProxy> {
  const upstream = new URL(pebbleDirectory);
  const ca = readFileSync(caFile);
  const certs = bin.pebbleCerts();
  const calls: ProxiedCall[] = [];
  let rule: RefuseRule | undefined;
  let seen = 0;
  let origin = '';

  const server: Server = createServer(
    { cert: readFileSync(join(certs, 'cert.pem')), key: readFileSync(join(certs, 'key.pem')) },
    (req, res) => {
      void handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`acme proxy: ${err instanceof Error ? err.message : String(err)}`);
      });
    },
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = `${origin}${req.url ?? '/'}`;
    const action = acmeAction(url, req.method ?? 'GET');
    const call: ProxiedCall = {
      action,
      at: Date.now(),
      identifiers: action === 'newOrder' ? identifiersOf(body) : [],
      refused: false,
    };
    calls.push(call);
    if (shouldRefuse(call)) {
      call.refused = true;
      await answerRefused(res, action);
      return;
    }
    const up = await forward(req.method ?? 'GET', req.url ?? '/', req.headers, body);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) {
      if (v === undefined || k === 'content-length' || k === 'transfer-encoding') continue;
      headers[k] = Array.isArray(v) ? v.map(rewrite) : rewrite(v);
    }
    const text = rewrite(up.body.toString('utf8'));
    res.writeHead(up.status, { ...headers, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** Does the rule refuse this call? Counts the calls it applies to. */
  function shouldRefuse(call: ProxiedCall): boolean {
    if (!rule || rule.action !== call.action || !(rule.match?.(call.identifiers) ?? true))
      return false;
    const n = seen++;
    const first = rule.first ?? 0;
    const share = rule.share ?? 0;
    const k = n - first;
    return n < first || Math.floor((k + 1) * share) > Math.floor(k * share);
  }

  /** 429 rateLimited, as a CA answers it: a problem document, Retry-After, a fresh nonce. */
  async function answerRefused(res: ServerResponse, action: string): Promise<void> {
    const nonce = await freshNonce();
    const problem = {
      type: 'urn:ietf:params:acme:error:rateLimited',
      detail: rule?.detail ?? `lab proxy: too many ${action} requests from this account`,
      status: 429,
    };
    res.writeHead(429, {
      'content-type': 'application/problem+json',
      'retry-after': String(rule?.retryAfterSeconds ?? 1),
      'cache-control': 'no-store',
      ...(nonce ? { 'replay-nonce': nonce } : {}),
      link: `<${origin}${upstream.pathname}>;rel="index"`,
    });
    res.end(JSON.stringify(problem));
  }

  function rewrite(s: string): string {
    return s.split(upstream.origin).join(origin);
  }

  async function freshNonce(): Promise<string | undefined> {
    const dir = JSON.parse(
      (await forward('GET', upstream.pathname, {}, Buffer.alloc(0))).body.toString('utf8'),
    ) as { newNonce?: string };
    if (!dir.newNonce) return undefined;
    const r = await forward('HEAD', new URL(dir.newNonce).pathname, {}, Buffer.alloc(0));
    const n = r.headers['replay-nonce'];
    return typeof n === 'string' ? n : undefined;
  }

  function forward(
    method: string,
    path: string,
    inHeaders: IncomingMessage['headers'],
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const headers: Record<string, string> = { 'user-agent': 'certroute-lab-proxy' };
    for (const [k, v] of Object.entries(inHeaders))
      if (typeof v === 'string' && !['connection', 'host', 'content-length'].includes(k))
        headers[k] = v;
    // Pebble builds its URLs, and checks each JWS url, from Host: the proxy's.
    headers.host = new URL(origin).host;
    if (body.length > 0) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const r = request(
        { host: upstream.hostname, port: upstream.port, path, method, headers, ca },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 502,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      r.on('error', reject);
      r.end(body.length > 0 ? body : undefined);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const count = (action: string, refused: boolean) =>
    calls.filter((c) => c.action === action && c.refused === refused).length;
  return {
    directory: `${origin}${upstream.pathname}`,
    refuse(r) {
      rule = r;
      seen = 0;
    },
    calls,
    forwarded: (action) => count(action, false),
    refused: (action) => count(action, true),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The identifiers of a newOrder JWS (its payload is base64url JSON). */
export function identifiersOf(body: Buffer): string[] {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
    const payload = JSON.parse(Buffer.from(jws.payload ?? '', 'base64url').toString('utf8')) as {
      identifiers?: { value?: string }[];
    };
    return (payload.identifiers ?? []).map((i) => String(i.value)).sort();
  } catch {
    return [];
  }
}
