import * as http from 'node:http';
import * as https from 'node:https';
import { createGunzip } from 'node:zlib';
import type * as k8s from '@kubernetes/client-node';

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
 * client-node's `Watch.watch` contract (the callback gets each event's type, object and the
 * whole event; `done` is called once, with the error or null; the result aborts the request),
 * read with node:https instead of fetch.
 *
 * Why (ADR 0013): certroute's start-up lists are watches (ADR 0012) that carry 35 MB of JSON
 * for 5,000 Ingresses with their children. client-node reads them through fetch, a web stream
 * turned into a Node stream and readline: per chunk, promises and a regex split, and per line,
 * string copies. Here the response (gunzipped by zlib when the server compresses it) is split
 * into lines on bytes and each line is parsed once.
 *
 * Authentication and TLS come from the KubeConfig (`applyToHTTPSOptions`: client certificates,
 * bearer and exec tokens, the cluster CA, proxies), as for client-node's own WebSocket calls.
 */
export class StreamWatch implements Pick<k8s.Watch, 'watch'> {
  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    /** No byte for this long (connecting included): the watch is aborted and done. */
    private readonly idleTimeoutMs = 30_000,
  ) {}

  async watch(
    path: string,
    query: Query,
    callback: Callback,
    done: Done,
  ): Promise<AbortController> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const options: https.RequestOptions = {
      method: 'GET',
      headers: { Accept: 'application/json', 'Accept-Encoding': 'gzip' },
    };
    await this.kubeConfig.applyToHTTPSOptions(options);

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

    const client = url.protocol === 'http:' ? http : https;
    const req = client.request(url, { ...options, signal: controller.signal }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const status = res.statusCode ?? 500;
        const err = new Error(
          res.statusMessage || http.STATUS_CODES[status] || 'Internal Server Error',
        ) as Error & { statusCode: number };
        err.statusCode = status;
        finish(err);
        return;
      }
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
      const body =
        res.headers['content-encoding'] === 'gzip'
          ? res.pipe(createGunzip({ chunkSize: 64 * 1024 }))
          : res;
      body.on('data', (chunk: Buffer) => {
        idle();
        if (!finished) lines.push(chunk);
      });
      body.on('end', () => {
        if (!finished) lines.end();
        finish(null);
      });
      body.on('error', finish);
      res.on('error', finish);
      // The connection closed before the body ended (the server went away mid-stream).
      res.on('close', () => {
        if (!res.complete) finish(new Error('the watch connection closed mid-stream'));
      });
    });
    req.on('error', finish);
    idle();
    req.end();
    return controller;
  }
}
