import { z } from 'zod';
import { apiVersion, condition, dnsName, metadataShape, secretKeyRef } from './common.js';
import { gatewayHTTPRoute, http01RouteOrIngress } from './gateway-http01.js';

/**
 * ClusterIssuer and Issuer (certroute.io/v1alpha1): ACME with its solvers (HTTP-01 through an
 * Ingress or a Gateway API HTTPRoute, DNS-01 through Route53 or RFC 2136), CA and SelfSigned.
 * Re-exported by v1alpha1.ts, where the other kinds are.
 */
// ---------------------------------------------------------------- ClusterIssuer

export const solverSelector = z.object({
  dnsZones: z.array(dnsName).optional().describe('hosts in these zones (longest match wins)'),
  dnsNames: z.array(dnsName).optional().describe('exactly these hosts (beats dnsZones)'),
});

/** host, host:port, [v6] or [v6]:port; the port defaults to 53. */
export const nameserverPattern =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)(:[0-9]{1,5})?$/;

export const rfc2136Algorithms = ['HMACSHA256', 'HMACSHA512', 'HMACSHA1'] as const;

const rfc2136Solver = z.object({
  nameserver: z
    .string()
    .regex(nameserverPattern)
    .describe(
      'the primary server taking the updates, host:port (IPv6 in brackets; port 53 if none); also the server the propagation check asks',
    ),
  tsigKeyName: z.string().min(1).describe('the TSIG key name, as the server knows it'),
  tsigAlgorithm: z
    .enum(rfc2136Algorithms)
    .optional()
    .describe('the TSIG algorithm (default HMACSHA256)'),
  tsigSecretSecretRef: z
    .object({
      name: z
        .string()
        .min(1)
        .describe(
          "Secret name: in the operator namespace for a ClusterIssuer, in the Issuer's own namespace for an Issuer",
        ),
      key: z.string().min(1).describe('key inside the Secret holding the base64 TSIG secret'),
    })
    .describe('Secret holding the TSIG secret (base64, as in the server configuration)'),
});

export const solver = z
  .object({
    selector: solverSelector.optional().describe('which hosts this solver is for; absent = all'),
    http01: z
      .object({
        ingressClassName: z.string().optional().describe('class of the challenge Ingress'),
        pathType: z
          .enum(['Prefix', 'ImplementationSpecific'])
          .optional()
          .describe('pathType of the challenge path /.well-known/acme-challenge/ (default Prefix)'),
        serviceType: z
          .enum(['ClusterIP', 'NodePort'])
          .optional()
          .describe('type of the challenge Service (default ClusterIP)'),
        ingressTemplate: z
          .object({
            metadata: z
              .object({
                labels: z.record(z.string(), z.string()).optional(),
                annotations: z.record(z.string(), z.string()).optional(),
              })
              .optional(),
          })
          .optional()
          .describe("labels and annotations added to the challenge Ingress (certroute's own win)"),
        gatewayHTTPRoute: gatewayHTTPRoute
          .optional()
          .describe('an HTTPRoute attached to these Gateways instead of the challenge Ingress'),
      })
      .meta({ 'x-kubernetes-validations': [http01RouteOrIngress] })
      .optional(),
    dns01: z
      .object({
        route53: z
          .object({
            region: z.string().optional().describe('AWS region of the Route53 API'),
            hostedZoneID: z.string().optional().describe('pin the zone instead of discovering it'),
            role: z.string().optional().describe('IAM role ARN to assume'),
          })
          .optional(),
        rfc2136: rfc2136Solver.optional(),
      })
      .meta({
        'x-kubernetes-validations': [
          {
            rule: 'has(self.route53) != has(self.rfc2136)',
            message: 'set exactly one of route53 or rfc2136',
          },
        ],
      })
      .optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: 'has(self.http01) != has(self.dns01)',
        message: 'set exactly one of http01 or dns01',
      },
    ],
  });
export type Solver = z.infer<typeof solver>;

export const clusterIssuerSpec = z
  .object({
    // Exactly one of acme, ca, selfSigned (the CEL rule below).
    acme: z
      .object({
        server: z
          .string()
          .regex(/^https:\/\//)
          .describe('ACME directory URL'),
        email: z.string().optional().describe('contact email for the ACME account'),
        privateKeySecretRef: secretKeyRef.describe(
          'Secret holding the account key (created if missing)',
        ),
        externalAccountBinding: z
          .object({
            keyID: z.string().min(1),
            keySecretRef: secretKeyRef.describe('Secret holding the base64url HMAC key'),
          })
          .optional()
          .describe('External Account Binding (ZeroSSL, some private CAs)'),
        profile: z
          .string()
          .optional()
          .describe('ACME profile to request (draft-aaron-acme-profiles)'),
        preferredChain: z
          .string()
          .optional()
          .describe('issuer CN of the preferred alternate chain'),
        caBundle: z
          .string()
          .optional()
          .describe('PEM CA bundle to trust for the ACME server (private CAs)'),
        solvers: z.array(solver).min(1),
      })
      .optional(),
    // Local issuers (issue 25): certroute signs itself, no ACME order.
    ca: z
      .object({
        secretName: z
          .string()
          .min(1)
          .describe(
            "kubernetes.io/tls Secret with the CA's tls.crt and tls.key: in the operator namespace for a ClusterIssuer, in the Issuer's own namespace for an Issuer",
          ),
      })
      .optional()
      .describe('sign with a CA key pair kept in a Secret'),
    selfSigned: z
      .object({})
      .optional()
      .describe('each certificate signs itself (bootstraps a private CA with isCA)'),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '(has(self.acme) ? 1 : 0) + (has(self.ca) ? 1 : 0) + (has(self.selfSigned) ? 1 : 0) == 1',
        message: 'set exactly one of acme, ca or selfSigned',
      },
    ],
  });
export type ClusterIssuerSpec = z.infer<typeof clusterIssuerSpec>;
export type AcmeIssuerSpec = NonNullable<ClusterIssuerSpec['acme']>;

export const clusterIssuerStatus = z.object({
  conditions: z.array(condition).optional(),
  acme: z
    .object({ uri: z.string().optional(), lastRegisteredEmail: z.string().optional() })
    .optional(),
  observedGeneration: z.number().int().optional(),
});

export const clusterIssuer = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('ClusterIssuer'),
  metadata: metadataShape,
  spec: clusterIssuerSpec,
  status: clusterIssuerStatus.optional(),
});
export type ClusterIssuer = z.infer<typeof clusterIssuer>;

// ---------------------------------------------------------------- Issuer

/**
 * A namespaced issuer: the same spec and status as a ClusterIssuer, but its Secrets (account
 * key, EAB key) are in its own namespace and only Certificates in that namespace can use it.
 */
export const issuerSpec = clusterIssuerSpec;
export const issuerStatus = clusterIssuerStatus;

export const issuer = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal('Issuer'),
  metadata: metadataShape,
  spec: issuerSpec,
  status: issuerStatus.optional(),
});
export type Issuer = z.infer<typeof issuer>;

export const issuerKinds = ['ClusterIssuer', 'Issuer'] as const;
export type IssuerKind = (typeof issuerKinds)[number];
