import { z } from 'zod';

/** The pieces every certroute.io/v1alpha1 kind shares: the group, times, names, conditions, metadata. */
export const group = 'certroute.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export const time = z.string().meta({ format: 'date-time' });
export const dnsName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .describe('a lower-case DNS name; a leading "*." makes it a wildcard');
export const secretKeyRef = z.object({
  name: z
    .string()
    .min(1)
    .describe(
      "Secret name: in the operator namespace for a ClusterIssuer, in the Issuer's own namespace for an Issuer",
    ),
  key: z.string().optional().describe('key inside the Secret'),
});

export const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: time,
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof condition>;

export const metadataShape = z.object({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z
    .array(
      z.object({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
        blockOwnerDeletion: z.boolean().optional(),
      }),
    )
    .optional(),
  creationTimestamp: z.unknown().optional(),
  deletionTimestamp: z.unknown().optional(),
});
