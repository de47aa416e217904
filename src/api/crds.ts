import { z } from 'zod';
import {
  certificateSpec,
  certificateStatus,
  clusterIssuerSpec,
  clusterIssuerStatus,
  dnsEndpointSpec,
  dnsEndpointStatus,
  domainPolicySpec,
  domainPolicyStatus,
  group,
  issuerSpec,
  issuerStatus,
  version,
} from './v1alpha1.js';

type Json = Record<string, unknown>;

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  spec: z.ZodType;
  status: z.ZodType;
  columns: { name: string; type: string; jsonPath: string; priority?: number }[];
}

/** zod's JSON Schema, trimmed to what a Kubernetes structural schema accepts and needs. */
export function structural(schema: z.ZodType): Json {
  return clean(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }));
}

// Keys zod emits that a structural schema does not want: JSON Schema's $schema, the closed-object
// marker (the API server prunes unknown fields anyway) and JS's safe-integer bounds from .int().
function dropped(k: string, v: unknown): boolean {
  return (
    k === '$schema' ||
    (k === 'additionalProperties' && v === false) ||
    (k === 'maximum' && v === Number.MAX_SAFE_INTEGER) ||
    (k === 'minimum' && v === Number.MIN_SAFE_INTEGER)
  );
}

function clean(node: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (dropped(k, v)) continue;
    if (k === 'properties') {
      const props = Object.entries(v as Record<string, Json>);
      out[k] = Object.fromEntries(props.map(([p, s]) => [p, clean(s)]));
    } else if ((k === 'items' || k === 'additionalProperties') && typeof v === 'object' && v) {
      out[k] = clean(v as Json);
    } else {
      out[k] = v;
    }
  }
  if (out.type === 'object' && !out.properties && !out.additionalProperties) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

function crd(c: CrdInput): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${c.plural}.${group}`, labels: { 'app.kubernetes.io/name': 'certroute' } },
    spec: {
      group,
      names: {
        kind: c.kind,
        listKind: `${c.kind}List`,
        plural: c.plural,
        singular: c.singular,
        shortNames: c.shortNames,
        categories: ['certroute'],
      },
      scope: c.scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...c.columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structural(c.spec),
                status: structural(c.status),
              },
            },
          },
        },
      ],
    },
  };
}

const ready = (name = 'Ready') => ({
  name,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${name}")].status`,
});
const reason = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  priority: 1,
};

export const crds: Record<string, Json> = {
  clusterissuers: crd({
    kind: 'ClusterIssuer',
    plural: 'clusterissuers',
    singular: 'clusterissuer',
    shortNames: ['crissuer'],
    scope: 'Cluster',
    spec: clusterIssuerSpec,
    status: clusterIssuerStatus,
    columns: [
      ready(),
      { name: 'Server', type: 'string', jsonPath: '.spec.acme.server', priority: 1 },
      reason,
    ],
  }),
  issuers: crd({
    kind: 'Issuer',
    plural: 'issuers',
    singular: 'issuer',
    shortNames: ['crnsissuer'],
    scope: 'Namespaced',
    spec: issuerSpec,
    status: issuerStatus,
    columns: [
      ready(),
      { name: 'Server', type: 'string', jsonPath: '.spec.acme.server', priority: 1 },
      reason,
    ],
  }),
  certificates: crd({
    kind: 'Certificate',
    plural: 'certificates',
    singular: 'certificate',
    shortNames: ['crcert'],
    scope: 'Namespaced',
    spec: certificateSpec,
    status: certificateStatus,
    columns: [
      ready(),
      { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
      { name: 'Issuer', type: 'string', jsonPath: '.spec.issuerRef.name', priority: 1 },
      { name: 'Kind', type: 'string', jsonPath: '.spec.issuerRef.kind', priority: 1 },
      { name: 'Expires', type: 'date', jsonPath: '.status.notAfter' },
      { name: 'Renews', type: 'date', jsonPath: '.status.renewalTime', priority: 1 },
      reason,
    ],
  }),
  dnsendpoints: crd({
    kind: 'DNSEndpoint',
    plural: 'dnsendpoints',
    singular: 'dnsendpoint',
    shortNames: ['crdns'],
    scope: 'Namespaced',
    spec: dnsEndpointSpec,
    status: dnsEndpointStatus,
    columns: [
      ready(),
      { name: 'Hosts', type: 'string', jsonPath: '.spec.endpoints[*].dnsName', priority: 1 },
      reason,
    ],
  }),
  domainpolicies: crd({
    kind: 'DomainPolicy',
    plural: 'domainpolicies',
    singular: 'domainpolicy',
    shortNames: ['crpolicy'],
    scope: 'Cluster',
    spec: domainPolicySpec,
    status: domainPolicyStatus,
    columns: [
      {
        name: 'Accepted',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
      },
      { name: 'Namespaces', type: 'integer', jsonPath: '.status.matchedNamespaceCount' },
      {
        name: 'Reason',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Accepted")].reason',
        priority: 1,
      },
    ],
  }),
};
