import { Agent } from 'node:https';
import type * as acme from 'acme-client';
import type { Metrics } from '../observability/metrics.js';

/**
 * certroute's layer over acme-client: per-CA trust bundles, request metrics, problem types in
 * error messages, and the two RFC extensions acme-client lacks: ACME Renewal Information
 * (RFC 9773) and profiles (draft-ietf-acme-profiles). Both are fields on newOrder plus one
 * unauthenticated GET, so they sit beside acme-client rather than inside it.
 */

type AxiosConfig = { url?: string; method?: string; httpsAgent?: unknown };
type AxiosResponse = {
  status: number;
  config: AxiosConfig;
  headers: Record<string, unknown>;
  data?: unknown;
};
type Interceptors = {
  request: { use: (f: (c: AxiosConfig) => AxiosConfig) => number; eject: (id: number) => void };
  response: {
    use: (ok: (r: AxiosResponse) => AxiosResponse, err: (e: unknown) => unknown) => number;
    eject: (id: number) => void;
  };
};
type Http = {
  interceptors: Interceptors & {
    response: {
      handlers?: { fulfilled: unknown; rejected: unknown; synchronous: boolean; runWhen: null }[];
    };
  };
  get: (url: string, cfg?: object) => Promise<AxiosResponse>;
};

type AcmeModule = typeof acme;
let loading: Promise<AcmeModule> | undefined;

/**
 * acme-client, loaded on first use. Importing it (axios, node-forge, ASN.1 schemas) costs about
 * 70 ms of start-up CPU and a few MB before any issuer needs it; the bundle keeps it in a lazy
 * module that runs here, after the caches have synced. Installs certroute's interceptors once.
 */
export function loadAcme(): Promise<AcmeModule> {
  loading ??= import('acme-client').then((m) => {
    install(m);
    return m;
  });
  return loading;
}

async function http(): Promise<Http> {
  return (await loadAcme()).axios as unknown as Http;
}

const agents = new Map<string, Agent>();
const metricSinks = new Set<Metrics>();
let installed = false;

/** Trusts `pem` (instead of the system roots) for every request to this directory's host. */
export function trustCaBundle(directoryUrl: string, pem: string | undefined): void {
  const origin = new URL(directoryUrl).origin;
  if (!pem) agents.delete(origin);
  else agents.set(origin, new Agent({ ca: pem, keepAlive: true }));
}

/** Counts ACME requests into these metrics until the returned function is called. */
export function observeAcme(metrics: Metrics): () => void {
  metricSinks.add(metrics);
  return () => metricSinks.delete(metrics);
}

function install(m: AcmeModule): void {
  if (installed) return;
  installed = true;
  const http = m.axios as unknown as Http;
  // acme-client retries network errors, 429 and 5xx itself (honouring Retry-After). Its
  // defaults (5 attempts, 5 s growing) hold a worker for over a minute on a dead CA; three
  // quick attempts ride out a restart, and the controllers' own backoff does the rest.
  const defaults = (
    m.axios as unknown as {
      defaults: {
        timeout?: number;
        acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
      };
    }
  ).defaults;
  defaults.acmeSettings.retryMaxAttempts = 3;
  defaults.acmeSettings.retryDefaultDelay = 1;
  defaults.timeout = 20_000;
  http.interceptors.request.use((cfg) => {
    const agent = cfg.url ? agents.get(safeOrigin(cfg.url)) : undefined;
    return agent ? { ...cfg, httpsAgent: agent } : cfg;
  });
  // Before acme-client's own retry (the first response handler): a 429 whose Retry-After is
  // longer than a short wait is not retried in place, which would hold a worker for as long as
  // the CA says (hours, for Let's Encrypt's order limits). It fails at once with the wait in
  // its message, and the certificate's backoff waits at least that long (retryAfterOf).
  http.interceptors.response.handlers?.unshift({
    synchronous: false,
    runWhen: null,
    fulfilled: (res: unknown) => res,
    rejected: (err: unknown) => {
      const e = err as {
        config?: AxiosConfig & { retryAttempt?: number };
        response?: AxiosResponse;
      };
      if (
        e.response?.status === 429 &&
        e.config &&
        !retryInPlace(e.response.headers['retry-after'])
      )
        e.config.retryAttempt = Number.MAX_SAFE_INTEGER;
      throw err;
    },
  });
  http.interceptors.response.use(
    (res) => {
      count(res.config, String(res.status));
      annotateProblem(res);
      return res;
    },
    (err: unknown) => {
      const e = err as { config?: AxiosConfig; response?: AxiosResponse };
      count(e.config ?? {}, e.response ? String(e.response.status) : 'error');
      if (e.response) annotateProblem(e.response);
      throw err;
    },
  );
}

function count(cfg: AxiosConfig, status: string): void {
  const action = acmeAction(cfg.url ?? '', cfg.method ?? 'get');
  for (const m of metricSinks) m.acmeRequests.inc({ action, status });
}

/**
 * acme-client turns a problem document into an Error carrying only `detail`; the problem
 * `type` is what tells a bad EAB from a bad email, so it is prefixed to the detail here.
 */
function annotateProblem(res: AxiosResponse): void {
  const d = res.data as { type?: unknown; detail?: unknown } | undefined;
  if (res.status < 400 || !d || typeof d.type !== 'string') return;
  const type = d.type.replace('urn:ietf:params:acme:error:', '');
  const detail = typeof d.detail === 'string' ? d.detail : '';
  if (detail.startsWith('[')) return;
  const wait = res.headers['retry-after'] ? parseRetryAfter(res.headers['retry-after']) : undefined;
  const retry = wait !== undefined ? ` (Retry-After: ${Math.ceil(wait / 1000)} s)` : '';
  d.detail = `[${type}] ${detail}${retry}`;
}

/** acme-client retries a 429 in place only when the CA asks for at most this many seconds. */
const retryInPlaceMaxSeconds = 5;

export function retryInPlace(retryAfter: unknown): boolean {
  if (retryAfter === undefined || retryAfter === null || retryAfter === '') return true;
  return parseRetryAfter(retryAfter) <= retryInPlaceMaxSeconds * 1000;
}

/**
 * The CA's Retry-After carried by an error (or its message), in ms (RFC 8555 §6.6: rateLimited
 * problems, and any other answer with the header).
 */
export function retryAfterOf(err: unknown): number | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /\(Retry-After: (\d+) s\)/.exec(msg);
  return m ? Number(m[1]) * 1000 : undefined;
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** A bounded action name from a request URL (CAs lay out their URLs differently). */
export function acmeAction(url: string, method: string): string {
  const path = safeOrigin(url) ? new URL(url).pathname.toLowerCase() : url.toLowerCase();
  const rules: [RegExp, string][] = [
    [/renewal-?info/, 'renewalInfo'],
    [/nonce/, 'newNonce'],
    [/new-?acct|sign-me-up|new-?account|\/acct|\/account|my-account/, 'account'],
    [/new-?order|order-plz/, 'newOrder'],
    [/finali[sz]e/, 'finalize'],
    [/authz|authorization/, 'authorization'],
    [/chall|chal/, 'challenge'],
    [/cert/, 'certificate'],
    [/order/, 'order'],
    [/dir(ectory)?$/, 'directory'],
  ];
  for (const [re, name] of rules) if (re.test(path)) return name;
  return method.toLowerCase() === 'get' ? 'get' : 'other';
}

/** The ACME problem type (e.g. "badNonce", "invalidContact") carried by an error, if any. */
export function problemType(err: unknown): string | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  return /^\[([A-Za-z]+)\]/.exec(msg)?.[1];
}

/** True for errors that never reached the CA or got no ACME answer. */
export function isUnreachable(err: unknown): boolean {
  if ((err as { response?: unknown }).response) return false;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    /^(E[A-Z_]+|ERR_[A-Z_]+|[A-Z_]*CERT[A-Z_]*|DEPTH_ZERO)/.test(code)
  )
    return true;
  const msg = err instanceof Error ? err.message : '';
  // acme-client's retry interceptor, once out of attempts on a network error, fails reading
  // the absent response: that TypeError means "no answer".
  if (err instanceof TypeError && /reading 'config'|reading 'status'/.test(msg)) return true;
  return /Attempting to read ACME directory|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket hang up/i.test(
    msg,
  );
}

// ------------------------------------------------------------------ directory, ARI, profiles

export interface Directory {
  newOrder: string;
  renewalInfo?: string;
  meta?: { profiles?: Record<string, string>; termsOfService?: string };
}

const directories = new Map<string, { at: number; dir: Directory }>();

export async function getDirectory(directoryUrl: string): Promise<Directory> {
  const hit = directories.get(directoryUrl);
  if (hit && Date.now() - hit.at < 3_600_000) return hit.dir;
  const res = await (await http()).get(directoryUrl);
  const dir = res.data as Directory;
  directories.set(directoryUrl, { at: Date.now(), dir });
  return dir;
}

export interface RenewalInfo {
  start: Date;
  end: Date;
  explanationURL?: string | undefined;
  /** From Retry-After: when to ask again. */
  retryAfterMs: number;
}

/** RFC 9773 §4.2: GET {renewalInfo}/{certID}. Undefined when the CA does not offer ARI. */
export async function fetchRenewalInfo(
  directoryUrl: string,
  certID: string,
): Promise<RenewalInfo | undefined> {
  const dir = await getDirectory(directoryUrl);
  if (!dir.renewalInfo) return undefined;
  const res = await (await http()).get(`${dir.renewalInfo.replace(/\/$/, '')}/${certID}`);
  return parseRenewalInfo(res.data, res.headers['retry-after']);
}

export function parseRenewalInfo(body: unknown, retryAfter: unknown): RenewalInfo | undefined {
  const w = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | undefined)
    ?.suggestedWindow;
  if (typeof w?.start !== 'string' || typeof w.end !== 'string') return undefined;
  const start = new Date(w.start);
  const end = new Date(w.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start)
    return undefined;
  const explanationURL = (body as { explanationURL?: unknown }).explanationURL;
  return {
    start,
    end,
    explanationURL: typeof explanationURL === 'string' ? explanationURL : undefined,
    retryAfterMs: parseRetryAfter(retryAfter),
  };
}

/** Retry-After as seconds or an HTTP date; 6 hours when absent (RFC 9773 §4.3.3 suggests). */
export function parseRetryAfter(v: unknown, now = Date.now()): number {
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  const fallback = 6 * 3_600_000;
  if (!s) return fallback;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? fallback : Math.max(0, t - now);
}

export interface NewOrder {
  dnsNames: readonly string[];
  profile?: string | undefined;
  /** RFC 9773 §5: the ARI certID of the certificate this order replaces. */
  replaces?: string | undefined;
}

/** The newOrder payload, with the profile and replaces fields acme-client does not know. */
export function newOrderPayload(o: NewOrder): {
  identifiers: { type: string; value: string }[];
  profile?: string;
  replaces?: string;
} {
  return {
    identifiers: o.dnsNames.map((value) => ({ type: 'dns', value })),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.replaces ? { replaces: o.replaces } : {}),
  };
}
