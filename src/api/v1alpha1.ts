import { z } from 'zod';
import { apiVersion, condition, dnsName, metadataShape, time } from './common.js';

/**
 * certroute.io/v1alpha1, declared once with zod. The TypeScript types (z.infer), the CRD
 * OpenAPI schemas in crds/ (scripts/gen-crds.ts) and runtime validation of objects read from
 * the API all come from these schemas. No unions: Kubernetes structural schemas forbid
 * type-changing alternatives, so choices are optional fields plus CEL rules.
 */
export { apiVersion, condition, group, version, type Condition } from './common.js';
export * from './issuers.js';

// ---------------------------------------------------------------- Certificate

export const keyAlgorithms = [
  'ECDSA-P256',
  'ECDSA-P384',
  'RSA-2048',
  'RSA-3072',
  'RSA-4096',
] as const;
export type KeyAlgorithm = (typeof keyAlgorithms)[number];

/** cert-manager's usage names (issue 25). */
export const keyUsages = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  'timestamping',
  'ocsp signing',
  'any',
] as const;
export type KeyUsage = (typeof keyUsages)[number];

export const certificateSpec = z
  .object({
    dnsNames: z.array(dnsName).min(1).max(100),
    issuerRef: z
      .object({
        name: z.string().min(1),
        kind: z
          .enum(['ClusterIssuer', 'Issuer'])
          .optional()
          .describe("ClusterIssuer (the default) or Issuer (in the Certificate's own namespace)"),
      })
      .describe('the ClusterIssuer or Issuer'),
    secretName: z.string().optional().describe('kubernetes.io/tls Secret to write'),
    acm: z
      .object({
        region: z.string().min(1),
        writeSecret: z.boolean().optional().describe('also write the key to secretName'),
        issued: z
          .boolean()
          .optional()
          .describe(
            'ACM issues the certificate itself (RequestCertificate, DNS validation; no ACME order, issuerRef unused)',
          ),
      })
      .optional()
      .describe('import into AWS ACM instead of (or besides) a Secret'),
    privateKey: z.object({ algorithm: z.enum(keyAlgorithms).default('ECDSA-P256') }).optional(),
    renewBefore: z
      .string()
      .regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, 'a duration like 720h or 30d')
      .optional()
      .describe('renew this long before expiry (e.g. 720h); overrides 2/3 of lifetime'),
    challenge: z.enum(['http01', 'dns01']).optional().describe('force the challenge type'),
    // Local issuers and outputs (issue 25).
    commonName: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('subject CN (CA and SelfSigned issuers; ACME uses the first DNS name)'),
    duration: z
      .string()
      .regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, 'a duration like 2160h or 90d')
      .optional()
      .describe('requested lifetime (CA and SelfSigned issuers; default 90d)'),
    isCA: z
      .boolean()
      .optional()
      .describe('a CA certificate: basicConstraints CA:true, keyCertSign and cRLSign'),
    usages: z
      .array(z.enum(keyUsages))
      .max(20)
      .optional()
      .describe('key usages and extended key usages (CA and SelfSigned issuers)'),
    keystores: z
      .object({
        pkcs12: z
          .object({
            create: z.boolean(),
            passwordSecretRef: z
              .object({ name: z.string().min(1), key: z.string().min(1) })
              .describe("Secret in the Certificate's namespace holding the password"),
          })
          .optional()
          .describe('keystore.p12 (and truststore.p12 when a CA is known) in the Secret'),
      })
      .optional(),
    additionalOutputFormats: z
      .array(z.object({ type: z.enum(['CombinedPEM', 'DER']) }))
      .max(2)
      .optional()
      .describe('CombinedPEM: tls-combined.pem (key then chain); DER: key.der (PKCS#8)'),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.secretName) || has(self.acm)', message: 'set secretName, acm, or both' },
      {
        rule: '!has(self.acm) || !has(self.acm.writeSecret) || !self.acm.writeSecret || has(self.secretName)',
        message: 'acm.writeSecret needs secretName',
      },
      {
        rule: '!has(self.acm) || !has(self.acm.issued) || !self.acm.issued || !has(self.acm.writeSecret) || !self.acm.writeSecret',
        message:
          'an ACM-issued certificate has no key to write: acm.issued excludes acm.writeSecret',
      },
    ],
  });
export type CertificateSpec = z.infer<typeof certificateSpec>;

export const challengeStatus = z.object({
  type: z.enum(['http-01', 'dns-01']),
  url: z.string(),
  token: z.string(),
  keyAuthorization: z.string().optional().describe('public: token + account key thumbprint'),
});

export const authorizationStatus = z.object({
  url: z.string(),
  identifier: z.string(),
  wildcard: z.boolean().optional(),
  solver: z.number().int().optional().describe("index of the issuer's solver used"),
  challenge: challengeStatus.optional(),
});

export const certificateStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
  notBefore: time.optional(),
  notAfter: time.optional(),
  renewalTime: time.optional(),
  renewalReason: z.string().optional(),
  serialNumber: z.string().optional(),
  ari: z
    .object({
      certID: z.string(),
      windowStart: time,
      windowEnd: time,
      explanationURL: z.string().optional(),
      checkedAt: time.optional(),
    })
    .optional(),
  order: z
    .object({
      url: z.string(),
      finalizeURL: z.string().optional(),
      createdAt: time,
      dnsNames: z.array(z.string()),
      replaces: z.string().optional().describe('ARI certID of the certificate being replaced'),
      profile: z.string().optional(),
      authorizations: z.array(authorizationStatus),
    })
    .optional()
    .describe('the in-flight ACME order; any replica resumes it'),
  lastOrder: z
    .object({
      url: z.string(),
      result: z.enum(['valid', 'invalid', 'abandoned']),
      finishedAt: time,
      replaces: z.string().optional(),
      message: z.string().optional(),
    })
    .optional()
    .describe('the most recent finished order, for troubleshooting'),
  failedAttempts: z.number().int().optional(),
  lastFailure: z.string().optional(),
  nextRetryTime: time.optional(),
  acm: z
    .object({
      certificateArn: z.string(),
      // ACM-issued certificates (spec.acm.issued) only:
      requestedNames: z
        .array(z.string())
        .optional()
        .describe('acm.issued: the names the ACM certificate was requested for'),
      certificateStatus: z.string().optional().describe("acm.issued: ACM's Status"),
      renewalStatus: z.string().optional().describe("acm.issued: ACM's RenewalSummary status"),
      previousArn: z
        .string()
        .optional()
        .describe('acm.issued: the certificate being replaced after a change of names'),
    })
    .optional(),
  revision: z.number().int().optional(),
  // kubectl certroute renew|retry (src/certificates/manual.ts)
  requests: z
    .object({ renew: z.string().optional(), retry: z.string().optional() })
    .optional()
    .describe(
      'the last certroute.io/renew and certroute.io/retry annotation values acted on (each request is honoured once)',
    ),
});
export type CertificateStatus = z.infer<typeof certificateStatus>;

export const certificate = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('Certificate'),
  metadata: metadataShape,
  spec: certificateSpec,
  status: certificateStatus.optional(),
});
export type Certificate = z.infer<typeof certificate>;

// ---------------------------------------------------------------- DNSEndpoint

// TXT is certroute's own ownership marker; it does not publish TXT records for users.
export const recordTypes = ['A', 'AAAA', 'CNAME'] as const;

/** A record name: a dnsName whose labels may also start with "_" (ACM's validation CNAMEs). */
const recordName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?(_?[a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .describe('a lower-case DNS name; a leading "*." makes it a wildcard; labels may start with "_"');

export const endpoint = z.object({
  dnsName: recordName,
  recordType: z
    .enum(recordTypes)
    .optional()
    .describe('absent while the Ingress has no load balancer address yet (WaitingForAddress)'),
  targets: z.array(z.string().min(1)).max(100),
  recordTTL: z.number().int().min(0).max(2147483647).optional(),
  aliasHostedZoneID: z
    .string()
    .optional()
    .describe("set for an AWS ALIAS record: the target load balancer's canonical hosted zone id"),
});
export type Endpoint = z.infer<typeof endpoint>;

export const endpointStates = [
  'Published',
  'Pending',
  'WaitingForAddress',
  'NoZone',
  'OwnedByOther',
  'Denied',
  'Error',
] as const;

export const dnsEndpointSpec = z.object({
  endpoints: z.array(endpoint).max(1000),
});

export const dnsEndpointStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
  endpoints: z
    .array(
      z.object({
        dnsName: z.string(),
        recordType: z.string(),
        state: z.enum(endpointStates),
        owner: z.string().optional(),
        zoneID: z.string().optional(),
        message: z.string().optional(),
      }),
    )
    .optional(),
});

export const dnsEndpoint = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('DNSEndpoint'),
  metadata: metadataShape,
  spec: dnsEndpointSpec,
  status: dnsEndpointStatus.optional(),
});
export type DNSEndpoint = z.infer<typeof dnsEndpoint>;
export type DNSEndpointStatus = z.infer<typeof dnsEndpointStatus>;

// ---------------------------------------------------------------- DomainPolicy

export const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string().min(1),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type LabelSelector = z.infer<typeof labelSelector>;

export const certificateTargets = ['secret', 'acm'] as const;
export type CertificateTarget = (typeof certificateTargets)[number];

export const domainRule = z
  .object({
    suffix: z
      .string()
      .optional()
      .describe(
        'names under this domain (e.g. a.example.test: x.a.example.test, y.x.a.example.test)',
      ),
    glob: z
      .string()
      .optional()
      .describe('names matching this pattern; "*" matches any characters, dots included'),
    apex: z.boolean().optional().describe('with suffix: the suffix itself is allowed too'),
    wildcards: z.boolean().optional().describe('"*.x" names (wildcard records and certificates)'),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.suffix) != has(self.glob)', message: 'set exactly one of suffix or glob' },
    ],
  });
export type DomainRule = z.infer<typeof domainRule>;

export const domainPolicySpec = z.object({
  namespaces: z
    .object({
      names: z.array(z.string().min(1)).max(1000).optional().describe('these namespaces'),
      selector: labelSelector.optional().describe('namespaces with these labels ({} = all)'),
    })
    .describe('which namespaces this policy governs: those named or selected'),
  domains: z
    .array(domainRule)
    .max(100)
    .describe('names these namespaces may use (records and certificates); empty = none'),
  issuers: z
    .object({
      clusterIssuers: z.array(z.string().min(1)).optional().describe('ClusterIssuer names'),
      namespaced: z.boolean().optional().describe("the namespace's own Issuers (default true)"),
    })
    .optional()
    .describe('issuers certificates may use; absent = any'),
  targets: z
    .array(z.enum(certificateTargets))
    .optional()
    .describe('where certificates may go: secret, acm; absent = any'),
  recordTargets: z
    .array(z.string().min(1))
    .max(100)
    .optional()
    .describe(
      'what records may point at: CIDRs (or IPs) for A/AAAA values, hostname globs for CNAME and alias targets; absent = any',
    ),
  budgets: z
    .object({
      hostsPerSource: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe('names per DNSEndpoint (its first N hosts) and per Certificate'),
      ordersPerHour: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe('new ACME orders per namespace in any 60 minutes (in memory)'),
    })
    .optional(),
});
export type DomainPolicySpec = z.infer<typeof domainPolicySpec>;

export const domainPolicyStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
  matchedNamespaces: z
    .array(z.string())
    .optional()
    .describe('namespaces this policy selects, sorted, at most 100'),
  matchedNamespaceCount: z.number().int().optional().describe('how many namespaces it selects'),
});
export type DomainPolicyStatus = z.infer<typeof domainPolicyStatus>;

export const domainPolicy = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('DomainPolicy'),
  metadata: metadataShape,
  spec: domainPolicySpec,
  status: domainPolicyStatus.optional(),
});
export type DomainPolicy = z.infer<typeof domainPolicy>;
