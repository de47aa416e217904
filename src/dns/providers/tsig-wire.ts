/**
 * The few wire-format walks TSIG needs that dns-packet does not give: where the last record of
 * a message starts (the TSIG RR must be the last additional record), and a name in canonical
 * form (RFC 4034 §6.2: uncompressed, lower case). Pure functions over Buffers.
 */

/** Bytes of a possibly compressed name at `offset` (a pointer ends it). Throws past the end. */
export function skipName(buf: Buffer, offset: number): number {
  let i = offset;
  for (;;) {
    if (i >= buf.length) throw new Error('DNS message truncated inside a name');
    const len = buf[i] as number;
    if (len === 0) return i + 1 - offset;
    if ((len & 0xc0) === 0xc0) return i + 2 - offset;
    if ((len & 0xc0) !== 0) throw new Error('DNS message has an unknown label type');
    i += len + 1;
  }
}

/** Reads a (possibly compressed) name at `offset`, lower case, no trailing dot. */
export function readName(buf: Buffer, offset: number): string {
  const labels: string[] = [];
  let i = offset;
  for (let hops = 0; hops < 64;) {
    if (i >= buf.length) throw new Error('DNS message truncated inside a name');
    const len = buf[i] as number;
    if (len === 0) return labels.join('.').toLowerCase();
    if ((len & 0xc0) === 0xc0) {
      i = ((len & 0x3f) << 8) | (buf[i + 1] as number);
      hops++;
      continue;
    }
    labels.push(buf.toString('latin1', i + 1, i + 1 + len));
    i += len + 1;
  }
  throw new Error('DNS message has a name compression loop');
}

/** The canonical wire form of a name: lower-case labels, uncompressed, root-terminated. */
export function canonicalName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l !== '');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l.toLowerCase(), 'latin1');
    if (b.length > 63) throw new Error(`DNS label too long: ${l}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface RecordSpan {
  /** Where the record starts (its owner name). */
  start: number;
  /** Where its RDATA starts, and how long it is. */
  rdata: number;
  rdlength: number;
  type: number;
  klass: number;
}

/** Every record of a message (answer, authority, additional), in order, with its offsets. */
export function recordSpans(buf: Buffer): RecordSpan[] {
  if (buf.length < 12) throw new Error('DNS message shorter than its header');
  const qd = buf.readUInt16BE(4);
  const rrs = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  let i = 12;
  for (let q = 0; q < qd; q++) i += skipName(buf, i) + 4;
  const out: RecordSpan[] = [];
  for (let r = 0; r < rrs; r++) {
    const start = i;
    i += skipName(buf, i);
    if (i + 10 > buf.length) throw new Error('DNS message truncated inside a record');
    const type = buf.readUInt16BE(i);
    const klass = buf.readUInt16BE(i + 2);
    const rdlength = buf.readUInt16BE(i + 8);
    const rdata = i + 10;
    i = rdata + rdlength;
    if (i > buf.length) throw new Error('DNS message truncated inside a record');
    out.push({ start, rdata, rdlength, type, klass });
  }
  return out;
}
