/**
 * DNS over TCP to one server (RFC 7766 framing: a two-byte length before each message). Every
 * RFC 2136 exchange goes over TCP: an AXFR must, and an UPDATE or a query then never meets
 * UDP truncation or a lost datagram.
 */
import net from 'node:net';

export interface DnsServer {
  host: string;
  port: number;
}

export interface DnsTransport {
  /**
   * Sends one message and collects responses until `done(response)` says the answer is
   * complete (a single message for UPDATE and queries; the closing SOA for AXFR).
   */
  exchange(request: Buffer, done: (response: Buffer) => boolean): Promise<Buffer[]>;
}

export class TcpTransport implements DnsTransport {
  constructor(
    private readonly server: DnsServer,
    private readonly timeoutMs = 10_000,
  ) {}

  exchange(request: Buffer, done: (response: Buffer) => boolean): Promise<Buffer[]> {
    const { host, port } = this.server;
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      let pending = Buffer.alloc(0);
      let settled = false;
      const sock = net.connect({ host, port });
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        sock.destroy();
        if (err) reject(err);
        else resolve(out);
      };
      sock.setTimeout(this.timeoutMs, () =>
        finish(new Error(`DNS server ${host}:${port} did not answer within ${this.timeoutMs} ms`)),
      );
      sock.on('error', (err) => finish(new Error(`DNS server ${host}:${port}: ${err.message}`)));
      sock.on('close', () => finish(new Error(`DNS server ${host}:${port} closed the connection`)));
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(request.length);
        sock.write(Buffer.concat([len, request]));
      });
      sock.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2) {
          const n = pending.readUInt16BE(0);
          if (pending.length < n + 2) break;
          const msg = pending.subarray(2, n + 2);
          pending = pending.subarray(n + 2);
          out.push(msg);
          let complete: boolean;
          try {
            complete = done(msg);
          } catch (err) {
            finish(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          if (complete) {
            finish();
            return;
          }
        }
      });
    });
  }
}
