import type { Cert, Current, Problem, Status } from './types.js';

/** The outcome of storing an issued certificate: where it went, or why the target refused it. */
export type Delivery = { ok: true; arn?: string; warnings?: Problem[] } | ({ ok: false } & Problem);

/** What the issuer knows besides the chain: ca.crt for a CA or SelfSigned issuer. */
export interface DeliveryExtra {
  ca?: string;
}

/**
 * Where a Certificate's certificate lives: a kubernetes.io/tls Secret (stores/secret.ts) or
 * ACM (stores/acm.ts), or both. The controller reads the current certificate from the first
 * store of a Certificate and writes an issued one into each, in order.
 */
export interface CertificateStore {
  /** What the target holds now: nothing, someone else's object, or ours with its certificate. */
  current(cert: Cert): Promise<Current>;
  /** Stores an issued chain and the key that signed its CSR. */
  write(
    cert: Cert,
    status: Status,
    chain: string,
    key: string,
    extra?: DeliveryExtra,
  ): Promise<Delivery>;
}
