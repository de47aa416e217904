import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type * as k8s from '@kubernetes/client-node';

/**
 * The informers' watches (ADR 0013), their start-up watch lists (ADR 0012) included, as plain
 * JSON over node:https. Lists and writes go through client-node's typed APIs.
 *
 * Why not client-node's Watch: at start-up certroute reads 35 MB of JSON for 5,000 Ingresses
 * with their children as watch lists. client-node reads a watch through fetch, a web stream
 * turned into a Node stream and readline: per chunk, promises and a regex split, and per line,
 * string copies. Here the stream is split into lines on bytes and each line parsed once.
 *
 * Gzipped unless `--kube-api-compression=false`. Uncompressed, as kube-controller-manager and
 * kube-scheduler run (kubernetes#112296), the API server spent about 2.1 s of CPU instead of
 * 2.4 s serving the start-up watch lists on the lab, but certroute spent a little more (TLS and
 * five times the bytes) and reached ready no sooner; its own start-up is what it must keep
 * short, and a remote API server saves the bandwidth (ADR 0013).
 *
 * Authentication and TLS come from the KubeConfig (`applyToHTTPSOptions`: client certificates,
 * bearer and exec tokens, the cluster CA, proxies), as for client-node's own WebSocket calls.
 */
export class RawApi {
  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly compression = true,
  ) {}

  /**
   * GET `path` with `query`: the response body (gunzipped if the server compressed it), or an
   * ApiError with the HTTP status and the API's own message.
   */
  async get(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    signal?: AbortSignal,
  ): Promise<Readable> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = new URL(cluster.server + path);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const options: https.RequestOptions = {
      method: 'GET',
      headers: {
        Accept: 'application/json',
        'Accept-Encoding': this.compression ? 'gzip' : 'identity',
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(options);
    const client = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = client.request(url, { ...options, signal }, (res) => {
        const body =
          res.headers['content-encoding'] === 'gzip'
            ? res.pipe(createGunzip({ chunkSize: 64 * 1024 }))
            : res;
        // The connection closed before the body ended (the server went away mid-stream).
        res.on('close', () => {
          if (!res.complete) body.destroy(new Error('the connection closed mid-response'));
        });
        if (body !== res) res.on('error', (err) => body.destroy(err));
        if (res.statusCode === 200) return resolve(body);
        readAll(body).then(
          (text) => reject(apiError(res.statusCode ?? 500, res.statusMessage, text)),
          (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }
}

/** An API answer other than 200, shaped as client-node's errors are (code and statusCode). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get code(): number {
    return this.statusCode;
  }
}

function apiError(status: number, statusText: string | undefined, body: string): ApiError {
  let message: string;
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? '';
  } catch {
    message = body.trim().slice(0, 200);
  }
  const text = statusText || http.STATUS_CODES[status] || 'error';
  return new ApiError(status, `HTTP ${status} ${text}${message ? `: ${message}` : ''}`);
}

async function readAll(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Splits a byte stream into lines at `\n`. UTF-8 never uses the byte 0x0A inside a multi-byte
 * character, so each line is decoded once, whole, straight from the chunk it ends in. A line
 * that spans chunks is kept as pieces and joined once, when its end arrives.
 */
export class LineSplitter {
  private pieces: Buffer[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      if (this.pieces.length > 0) {
        this.pieces.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.pieces).toString('utf8');
        this.pieces = [];
        this.emit(line);
      } else if (nl > start) {
        this.emit(chunk.toString('utf8', start, nl));
      }
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.pieces.push(chunk.subarray(start));
  }

  /** The stream ended: a last line without `\n` still counts. */
  end(): void {
    if (this.pieces.length === 0) return;
    const line = Buffer.concat(this.pieces).toString('utf8');
    this.pieces = [];
    this.emit(line);
  }

  private emit(line: string): void {
    if (line.length > 0 && line !== '\r') this.onLine(line);
  }
}

type Query = Record<string, string | number | boolean | undefined>;
type Callback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type Done = (err: unknown) => void;

/**
 * client-node's `Watch.watch` contract over RawApi: the callback gets each event's type, object
 * and the whole event; `done` is called once, with the error or null (also when aborted); the
 * result aborts the request. client-node's ListWatch runs on it.
 */
export class StreamWatch implements Pick<k8s.Watch, 'watch'> {
  constructor(
    private readonly api: RawApi,
    /** No byte for this long (connecting included): the watch is aborted and done. */
    private readonly idleTimeoutMs = 30_000,
  ) {}

  watch(path: string, query: Query, callback: Callback, done: Done): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      done(err ?? null);
    };
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const err = new Error('The operation was aborted due to timeout');
        err.name = 'TimeoutError';
        finish(err);
      }, this.idleTimeoutMs);
      timer.unref();
    };
    controller.signal.addEventListener('abort', () => finish(null), { once: true });
    idle();
    this.api.get(path, { ...query, watch: true }, controller.signal).then((body) => {
      idle();
      const lines = new LineSplitter((line) => {
        let event: { type?: string; object?: unknown };
        try {
          event = JSON.parse(line) as { type?: string; object?: unknown };
        } catch {
          return; // as client-node's Watch: a line that is not JSON is skipped
        }
        callback(event.type ?? '', event.object, event);
      });
      body.on('data', (chunk: Buffer) => {
        idle();
        if (!finished) lines.push(chunk);
      });
      body.on('end', () => {
        if (!finished) lines.end();
        finish(null);
      });
      body.on('error', finish);
    }, finish);
    return Promise.resolve(controller);
  }
}
