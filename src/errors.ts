/**
 * The error taxonomy. Every failure certroute reports is classified once, where it is caught,
 * into one of three classes:
 *
 * - `transient`: the CA, Route53 or the API server may answer differently later; retried with
 *   backoff;
 * - `input`: this object asks for something that cannot be done (a malformed annotation, a
 *   Secret that is someone else's); a condition and an Event say so;
 * - `configuration`: the operator's or an issuer's configuration does not allow it (no solver,
 *   no zone, no region, a bad account key); said on the issuer, or on the object at start.
 *
 * A reason is at once the condition reason, the Event reason and the `reason` label of
 * `certroute_failures_total` (its class is the `class` label), and `reportFailure()` logs every
 * one in the same shape. docs/troubleshooting.md lists every reason with what to do about it.
 */
export type FailureClass = 'transient' | 'input' | 'configuration';

export const failureReasons = {
  // The Ingress source (sources/): on the Ingress.
  InvalidAnnotation: 'input',
  InvalidHost: 'input',
  InvalidTLS: 'input',
  SecretClaimedElsewhere: 'input',
  DNSEndpointConflict: 'input',
  // The Gateway API sources (sources/routes.ts, source-desired.ts): on the route or Gateway.
  RouteNotAccepted: 'input',
  HostnameNotAllowed: 'input',
  GatewayNoAddress: 'transient',
  UnsupportedCertificateRef: 'input',
  // DNS records (dns/): per record in the DNSEndpoint's status, and as Record<state> Events.
  RecordOwnedByOther: 'input',
  RecordNoZone: 'configuration',
  RecordError: 'input',
  // DomainPolicies (tenancy/): a record's state, a Certificate's Ready, Events on both sources.
  Denied: 'input',
  OrderBudgetExhausted: 'transient',
  InvalidPolicy: 'configuration',
  DeletionsBlocked: 'configuration',
  // Certificates (certificates/, acme/): the Certificate's Ready and Issuing conditions.
  TargetNotSupported: 'input',
  SecretNotManaged: 'input',
  SecretOwnedByOtherCertificate: 'input',
  NoSolver: 'configuration',
  WildcardNeedsDNS01: 'configuration',
  NoZoneForChallenge: 'configuration',
  Route53RegionMissing: 'configuration',
  // DNS-01 through RFC 2136 (acme/solvers/dns01-rfc2136.ts): the Certificate's Ready.
  Rfc2136TsigSecretMissing: 'configuration',
  Rfc2136TsigSecretInvalid: 'configuration',
  Rfc2136ConfigInvalid: 'configuration',
  Rfc2136Refused: 'configuration',
  // The preflight before an order (acme/challenges.ts): no order until these pass.
  WaitingForAddress: 'transient',
  WaitingForDNS: 'transient',
  SolverUnreachable: 'transient',
  // HTTP-01 over Gateway API: the challenge HTTPRoute not (yet) accepted by its Gateway.
  SolverRouteNotAccepted: 'transient',
  OrderFailed: 'transient',
  // An order still not valid --order-timeout after it was placed: abandoned, retried later.
  OrderTimedOut: 'transient',
  // The CA's rateLimited problem (RFC 8555 §6.6): retried no sooner than its Retry-After.
  RateLimited: 'transient',
  OrderInvalid: 'transient',
  OrderLost: 'transient',
  KeyMismatch: 'transient',
  ACMImportFailed: 'input',
  ACMCertificateInUse: 'transient',
  // ACM-issued certificates (certificates/acm-issued.ts): ACM's own verdicts.
  ACMRequestFailed: 'input',
  ACMValidationTimedOut: 'input',
  ACMRenewalFailed: 'transient',
  IssuerNotFound: 'configuration',
  IssuerNotReady: 'configuration',
  // ClusterIssuers (acme/issuer.ts): the issuer's Ready condition.
  AccountKeyInvalid: 'configuration',
  ExternalAccountBindingSecretMissing: 'configuration',
  ExternalAccountBindingRequired: 'configuration',
  ExternalAccountBindingInvalid: 'configuration',
  InvalidEmail: 'configuration',
  TermsOfServiceNotAgreed: 'configuration',
  CAUnreachable: 'transient',
  RegistrationFailed: 'transient',
  // CA and SelfSigned issuers and keystores (issue 25).
  CASecretNotFound: 'configuration',
  CASecretInvalid: 'configuration',
  SigningFailed: 'transient',
  KeystorePasswordMissing: 'input',
} as const satisfies Record<string, FailureClass>;

export type FailureReason = keyof typeof failureReasons;

export function classOf(reason: FailureReason): FailureClass {
  return failureReasons[reason];
}

/** A failure with a reason of the taxonomy: thrown where it is found, reported where caught. */
export class Failure extends Error {
  override name = 'Failure';

  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get class(): FailureClass {
    return classOf(this.reason);
  }
}

/** The message of anything thrown: an Error, an API error body, or a plain value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return String(err);
}

/** Where a failure is counted: the one metric of the taxonomy. */
export interface FailureCounter {
  inc(labels: { controller: string; reason: string; class: string }): void;
}

/** Where a failure is logged. */
export interface FailureLog {
  warn(obj: object, msg: string): void;
}

/**
 * Counts and logs one failure, always in the same shape: `{ reason, class, ...context }` with
 * the message as `err`. Conditions and Events stay with the caller, which knows the object.
 */
export function reportFailure(
  log: FailureLog,
  failures: FailureCounter,
  controller: string,
  reason: FailureReason,
  message: string,
  context: Record<string, unknown> = {},
): void {
  const cls = classOf(reason);
  failures.inc({ controller, reason, class: cls });
  log.warn({ ...context, reason, class: cls, err: message }, `${controller}: ${reason}`);
}
