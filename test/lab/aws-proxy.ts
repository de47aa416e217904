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
 * - a log of every AWS call it received (GET /__lab/calls), refused or not: when, which
 *   operation, which zone, so a test can count calls by kind or per second.
 * A throttle rule may also refuse only a share of its calls (`every`: the 1st of every N
 * matching calls), only calls of one HTTP method, and with another Route53 error code.
 * - an account-wide request rate (POST /__lab/ratelimit?rps=N; rps=0 turns it off): every
 *   Route53 call takes a token from one bucket (N tokens a second, burst N); a call that finds
 *   none is refused as Route53 refuses calls over the account's limit (Throttling).
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
  /** Refuse the 1st of every `every` matching calls (1: each one) until `remaining` is spent. */
  every?: number;
  /** Matching calls seen so far (for `every`). */
  seen?: number;
  /** Only calls of this HTTP method (e.g. POST: a ChangeResourceRecordSets, not a listing). */
  method?: string;
  /** A Route53 error code (with `status`) instead of Throttling, e.g. ServiceUnavailable. */
  code?: string;
  status?: number;
}

/** One AWS call the proxy received. */
export interface SeenCall {
  /** Milliseconds since the epoch, when the request arrived. */
  at: number;
  /** The API operation, e.g. ChangeResourceRecordSets, ListResourceRecordSets, GetChange. */
  operation: string;
  /** The hosted zone in the path (bare id), if any. */
  zone?: string;
  /** The error code the proxy answered with, if it refused the call. */
  refused?: string;
}

/** One record change Route53 (moto) accepted. */
export interface SeenChange {
  /** Milliseconds since the epoch, when moto's answer accepting the batch arrived. */
  at: number;
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
  const calls: SeenCall[] = [];
  const limit: RateLimit = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/__lab/'))
        return labControl(req, res, { throttles, changes, calls, limit });
      const amzTarget = String(req.headers['x-amz-target'] ?? '');
      const call = describeCall(req, amzTarget, body);
      calls.push(call);
      if (overLimit(req, amzTarget, limit, call)) {
        return route53Error(res, 400, 'Throttling', 'Rate exceeded');
      }
      if (refused(req, res, throttles, amzTarget, call)) return;
      const rrset = req.method === 'POST' && req.url?.endsWith('/rrset') ? req.url : undefined;
      const invalid = rrset ? invalidRecord(body.toString('utf8')) : undefined;
      if (invalid) return route53Error(res, 400, 'InvalidChangeBatch', invalid);
      const batch = rrset ? changesIn(rrset, body.toString('utf8')) : [];
      forward(req, res, body, target, req.method === 'GET' ? undefined : onWrite, (status) => {
        if (status !== 200) return;
        const at = Date.now();
        for (const c of batch) changes.push({ ...c, at });
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

/** The proxy's own endpoints: fault rules, the change log, the call log. */
function labControl(
  req: IncomingMessage,
  res: ServerResponse,
  { throttles, changes, calls, limit }: ProxyState,
): void {
  if (req.url?.startsWith('/__lab/throttle')) return control(req, res, throttles);
  if (req.url?.startsWith('/__lab/ratelimit')) return setLimit(req, res, limit);
  if (req.url?.startsWith('/__lab/changes')) return listChanges(req, res, changes);
  if (req.url?.startsWith('/__lab/calls')) return listCalls(req, res, calls);
  res.writeHead(404).end();
}

interface ProxyState {
  throttles: Throttle[];
  changes: SeenChange[];
  calls: SeenCall[];
  limit: RateLimit;
}

/** The account-wide Route53 request rate, when one is enforced. */
interface RateLimit {
  bucket?: TokenBucket;
}

/**
 * A token bucket: `rate` tokens a second, at most `burst` held (it starts full). Pure: the
 * caller passes the clock.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  /** Takes a token at `now` (ms) if one is there; says whether it did. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    this.last = Math.max(this.last, now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A Route53 call: the REST API under /2013-04-01/ (not ACM's JSON calls, not STS). */
export function isRoute53Call(path: string, amzTarget: string): boolean {
  return !amzTarget && path.startsWith('/2013-04-01/');
}

function overLimit(
  req: IncomingMessage,
  amzTarget: string,
  limit: RateLimit,
  call: SeenCall,
): boolean {
  if (!limit.bucket || !isRoute53Call(req.url ?? '', amzTarget)) return false;
  if (limit.bucket.take(Date.now())) return false;
  call.refused = 'Throttling';
  return true;
}

function setLimit(req: IncomingMessage, res: ServerResponse, limit: RateLimit): void {
  const rps = Number(new URL(req.url ?? '', 'http://x').searchParams.get('rps') ?? 'NaN');
  if (req.method !== 'POST' || !Number.isFinite(rps) || rps < 0) {
    res.writeHead(400).end('POST /__lab/ratelimit?rps=<requests per second, 0 for none>');
    return;
  }
  limit.bucket = rps > 0 ? new TokenBucket(rps, rps, Date.now()) : undefined;
  res.writeHead(204).end();
}

/**
 * Enforces an account-wide limit of `rps` Route53 requests a second (burst `rps`), refusing
 * the excess with Throttling as Route53 does; 0 turns it off.
 */
export async function setRateLimit(endpoint: string, rps: number): Promise<void> {
  const res = await fetch(`${endpoint}/__lab/ratelimit?rps=${rps}`, { method: 'POST' });
  if (res.status !== 204) throw new Error(`rate limit failed: ${res.status}`);
}

function control(req: IncomingMessage, res: ServerResponse, throttles: Throttle[]): void {
  const u = new URL(req.url ?? '', 'http://x');
  const target = u.searchParams.get('target');
  const error = u.searchParams.get('error');
  const every = Number(u.searchParams.get('every') ?? '1');
  const method = u.searchParams.get('method');
  const code = u.searchParams.get('code');
  const status = Number(u.searchParams.get('status') ?? '400');
  throttles.push({
    remaining: Number(u.searchParams.get('count') ?? '1'),
    match: u.searchParams.get('match') ?? '',
    ...(target ? { target } : {}),
    ...(error ? { error } : {}),
    ...(every > 1 ? { every, seen: 0 } : {}),
    ...(method ? { method: method.toUpperCase() } : {}),
    ...(code ? { code, status } : {}),
  });
  res.writeHead(204).end();
}

/** Answers the call with an injected error if a rule refuses it; says whether one did. */
function refused(
  req: IncomingMessage,
  res: ServerResponse,
  throttles: Throttle[],
  amzTarget: string,
  call: SeenCall,
): boolean {
  const t = throttles.find(
    (x) =>
      x.remaining > 0 &&
      (!x.method || x.method === req.method) &&
      (x.target ? amzTarget.endsWith(x.target) : (req.url ?? '').includes(x.match)) &&
      refusesThis(x),
  );
  if (!t) return false;
  t.remaining--;
  call.refused = t.error ?? t.code ?? 'Throttling';
  if (t.error) jsonError(res, t.error, 'injected by the lab AWS proxy');
  else if (t.code) route53Error(res, t.status ?? 400, t.code, 'injected by the lab AWS proxy');
  else route53Error(res, 400, 'Throttling', 'Rate exceeded');
  return true;
}

/** For a rule with `every`: counts the matching call, refusing the 1st of every N. */
function refusesThis(t: Throttle): boolean {
  if (!t.every) return true;
  const n = t.seen ?? 0;
  t.seen = n + 1;
  return n % t.every === 0;
}

/** The operation of a Route53 REST call, a JSON-protocol call (X-Amz-Target) or a query call (STS). */
export function operationOf(method: string, path: string, amzTarget: string, body: string): string {
  if (amzTarget) return amzTarget.split('.').at(-1) ?? amzTarget;
  const p = path.split('?')[0] ?? '';
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(p))
    return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/\/change\/[^/]+$/.test(p)) return 'GetChange';
  if (/\/hostedzone\/?$/.test(p)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  if (/\/hostedzone\/[^/]+$/.test(p))
    return method === 'DELETE' ? 'DeleteHostedZone' : 'GetHostedZone';
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1];
  return action ?? `${method} ${p}`;
}

function describeCall(req: IncomingMessage, amzTarget: string, body: Buffer): SeenCall {
  const path = req.url ?? '';
  const method = req.method ?? 'GET';
  const text = method === 'POST' && !amzTarget ? body.toString('utf8', 0, 2000) : '';
  const zone = /\/hostedzone\/([^/?]+)/.exec(path)?.[1];
  return {
    at: Date.now(),
    operation: operationOf(method, path, amzTarget, text),
    ...(zone ? { zone } : {}),
  };
}

function listCalls(req: IncomingMessage, res: ServerResponse, calls: SeenCall[]): void {
  const since = Number(new URL(req.url ?? '', 'http://x').searchParams.get('since') ?? '0');
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify(calls.filter((c) => c.at >= since)));
}

/** Every AWS call the proxy received since `since` (ms since the epoch), oldest first. */
export async function callsSeen(endpoint: string, since = 0): Promise<SeenCall[]> {
  const res = await fetch(`${endpoint}/__lab/calls?since=${since}`);
  if (res.status !== 200) throw new Error(`call log failed: ${res.status}`);
  return (await res.json()) as SeenCall[];
}

/** The most calls received in any window of `windowMs` (a sliding window over arrival times). */
export function maxInWindow(calls: readonly { at: number }[], windowMs = 1000): number {
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export interface FaultRule {
  /** Refusals in all. */
  count: number;
  /** Substring of the request path, e.g. "/rrset". */
  match?: string;
  /** Only this HTTP method (POST /rrset is ChangeResourceRecordSets, GET is the listing). */
  method?: string;
  /** Refuse the 1st of every N matching calls (default 1: each). */
  every?: number;
  /** A Route53 error code instead of Throttling, and its HTTP status. */
  code?: string;
  status?: number;
}

/** Adds a fault rule (throttling by default) for Route53 REST calls. */
export async function injectFaults(endpoint: string, rule: FaultRule): Promise<void> {
  const q = new URLSearchParams({ count: String(rule.count), match: rule.match ?? '' });
  if (rule.method) q.set('method', rule.method);
  if (rule.every) q.set('every', String(rule.every));
  if (rule.code) q.set('code', rule.code);
  if (rule.status) q.set('status', String(rule.status));
  const res = await fetch(`${endpoint}/__lab/throttle?${q.toString()}`, { method: 'POST' });
  if (res.status !== 204) throw new Error(`fault injection failed: ${res.status}`);
}

function listChanges(req: IncomingMessage, res: ServerResponse, changes: SeenChange[]): void {
  const q = new URL(req.url ?? '', 'http://x').searchParams;
  const zone = q.get('zone') ?? '';
  const since = Number(q.get('since') ?? '0');
  const bare = zone.replace(/^\/?hostedzone\//, '');
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify(changes.filter((c) => (!zone || c.zone === bare) && c.at >= since)));
}

/** The changes of a ChangeResourceRecordSets request (path .../hostedzone/<id>/rrset). */
export function changesIn(path: string, xml: string): Omit<SeenChange, 'at'>[] {
  const zone = /hostedzone\/([^/]+)\/rrset/.exec(path)?.[1] ?? '';
  const out: Omit<SeenChange, 'at'>[] = [];
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

/**
 * The record changes moto accepted in a zone (its bare id; "" for every zone) since the lab
 * started, or since `since` (ms since the epoch).
 */
export async function changesSeen(
  endpoint: string,
  zoneId: string,
  since = 0,
): Promise<SeenChange[]> {
  const q = `zone=${encodeURIComponent(zoneId)}&since=${since}`;
  const res = await fetch(`${endpoint}/__lab/changes?${q}`);
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

/**
 * moto's server sends Date twice; node joins repeated headers into one value ("Mon, …, Mon, …"),
 * which no client can parse (the Go SDK warns on every call). Route53 sends one: keep the first.
 */
function firstDate(raw: string[]): Record<string, string> {
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (raw[i]?.toLowerCase() === 'date') return { date: raw[i + 1] ?? '' };
  return {};
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
      res.writeHead(r.statusCode ?? 502, { ...r.headers, ...firstDate(r.rawHeaders) });
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
