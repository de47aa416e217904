import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * A loopback proxy in front of moto, for the two things moto does not do:
 * - Route53 value validation: Route53 refuses a ChangeResourceRecordSets batch whose A/AAAA
 *   values are not addresses (InvalidChangeBatch); moto accepts anything. The proxy applies
 *   that one documented rule and nothing else.
 * - fault injection: on request (POST /__lab/throttle), the next N matching AWS calls get
 *   Route53's throttling error, so retries are exercised against the real client stack.
 * - a log of record changes moto accepted (GET /__lab/changes?zone=<id>): each
 *   ChangeResourceRecordSets batch's actions, so a test can show that no DELETE reached Route53.
 * Every other request is passed to moto unchanged.
 */
export interface AwsProxy {
  endpoint: string;
  close(): Promise<void>;
}

interface Throttle {
  remaining: number;
  /** Substring of the request path (e.g. "/rrset") or "" for every call. */
  match: string;
  /** Matches the X-Amz-Target header instead (JSON-protocol services such as ACM). */
  target?: string;
  /** A JSON-protocol error (e.g. ValidationException) instead of Route53's Throttling. */
  error?: string;
}

/** One record change Route53 (moto) accepted. */
export interface SeenChange {
  zone: string;
  action: string;
  type: string;
  name: string;
}

/** `onWrite` runs after every write (any non-GET call) moto has answered. */
export async function startAwsProxy(upstream: string, onWrite?: () => void): Promise<AwsProxy> {
  const target = new URL(upstream);
  const throttles: Throttle[] = [];
  const changes: SeenChange[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/__lab/throttle')) return control(req, res, throttles);
      if (req.url?.startsWith('/__lab/changes')) return listChanges(req, res, changes);
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      const t = throttles.find(
        (x) =>
          x.remaining > 0 &&
          (x.target ? amzTarget.endsWith(x.target) : (req.url ?? '').includes(x.match)),
      );
      if (t) {
        t.remaining--;
        if (t.error) return jsonError(res, t.error, 'injected by the lab AWS proxy');
        return route53Error(res, 400, 'Throttling', 'Rate exceeded');
      }
      const rrset = req.method === 'POST' && req.url?.endsWith('/rrset') ? req.url : undefined;
      const invalid = rrset ? invalidRecord(body.toString('utf8')) : undefined;
      if (invalid) return route53Error(res, 400, 'InvalidChangeBatch', invalid);
      const batch = rrset ? changesIn(rrset, body.toString('utf8')) : [];
      forward(req, res, body, target, req.method === 'GET' ? undefined : onWrite, (status) => {
        if (status === 200) changes.push(...batch);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function control(req: IncomingMessage, res: ServerResponse, throttles: Throttle[]): void {
  const u = new URL(req.url ?? '', 'http://x');
  const target = u.searchParams.get('target');
  const error = u.searchParams.get('error');
  throttles.push({
    remaining: Number(u.searchParams.get('count') ?? '1'),
    match: u.searchParams.get('match') ?? '',
    ...(target ? { target } : {}),
    ...(error ? { error } : {}),
  });
  res.writeHead(204).end();
}

function listChanges(req: IncomingMessage, res: ServerResponse, changes: SeenChange[]): void {
  const zone = new URL(req.url ?? '', 'http://x').searchParams.get('zone') ?? '';
  const bare = zone.replace(/^\/?hostedzone\//, '');
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify(changes.filter((c) => !zone || c.zone === bare)));
}

/** The changes of a ChangeResourceRecordSets request (path .../hostedzone/<id>/rrset). */
export function changesIn(path: string, xml: string): SeenChange[] {
  const zone = /hostedzone\/([^/]+)\/rrset/.exec(path)?.[1] ?? '';
  const out: SeenChange[] = [];
  for (const c of xml.match(/<Change>[\s\S]*?<\/Change>/g) ?? []) {
    out.push({
      zone,
      action: /<Action>([^<]+)<\/Action>/.exec(c)?.[1] ?? '',
      type: /<Type>([^<]+)<\/Type>/.exec(c)?.[1] ?? '',
      name: (/<Name>([^<]+)<\/Name>/.exec(c)?.[1] ?? '').replace(/\.$/, '').toLowerCase(),
    });
  }
  return out;
}

/** The record changes moto accepted in a zone (its bare id) since the lab started. */
export async function changesSeen(endpoint: string, zoneId: string): Promise<SeenChange[]> {
  const res = await fetch(`${endpoint}/__lab/changes?zone=${encodeURIComponent(zoneId)}`);
  if (res.status !== 200) throw new Error(`change log failed: ${res.status}`);
  return (await res.json()) as SeenChange[];
}

function jsonError(res: ServerResponse, type: string, message: string): void {
  res
    .writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'lab' })
    .end(JSON.stringify({ __type: type, message }));
}

/** Makes the next `count` calls of a JSON-protocol operation (e.g. "ImportCertificate") fail. */
export async function injectError(
  endpoint: string,
  operation: string,
  error: string,
  count = 1,
): Promise<void> {
  const q = `count=${count}&target=${encodeURIComponent(operation)}&error=${encodeURIComponent(error)}`;
  const res = await fetch(`${endpoint}/__lab/throttle?${q}`, { method: 'POST' });
  if (res.status !== 204) throw new Error(`error injection failed: ${res.status}`);
}

/** The first A/AAAA value in a change batch that is not an address, described as Route53 does. */
export function invalidRecord(xml: string): string | undefined {
  for (const rrset of xml.match(/<ResourceRecordSet>[\s\S]*?<\/ResourceRecordSet>/g) ?? []) {
    const type = /<Type>([^<]+)<\/Type>/.exec(rrset)?.[1];
    const name = /<Name>([^<]+)<\/Name>/.exec(rrset)?.[1];
    const values = [...rrset.matchAll(/<Value>([^<]*)<\/Value>/g)].map((m) => m[1] ?? '');
    for (const v of values) {
      if (type === 'A' && !isIPv4(v))
        return `[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${v}'' for ${name}]`;
      if (type === 'AAAA' && !isIPv6(v))
        return `[Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '${v}'' for ${name}]`;
    }
  }
  return undefined;
}

function route53Error(res: ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message.replace(/</g, '&lt;')}</Message></Error><RequestId>lab-proxy</RequestId></ErrorResponse>`;
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'lab-proxy' }).end(xml);
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  target: URL,
  done?: () => void,
  answered?: (status: number) => void,
): void {
  const up = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host },
    },
    (r) => {
      // Before the caller hears back, so nothing it does next can read a stale cache.
      r.on('end', () => {
        answered?.(r.statusCode ?? 0);
        done?.();
      });
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', (err) => res.writeHead(502).end(String(err)));
  up.end(body);
}

/** Makes the next `count` AWS calls whose path contains `match` fail with Throttling. */
export async function injectThrottling(endpoint: string, count: number, match = ''): Promise<void> {
  const res = await fetch(
    `${endpoint}/__lab/throttle?count=${count}&match=${encodeURIComponent(match)}`,
    { method: 'POST' },
  );
  if (res.status !== 204) throw new Error(`throttle injection failed: ${res.status}`);
}
