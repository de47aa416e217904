import { z } from 'zod';

/**
 * The `http01.gatewayHTTPRoute` block of an issuer's solver: the HTTP-01 solver attaches an
 * HTTPRoute (gateway.networking.k8s.io/v1) to these Gateways instead of making an Ingress.
 * Field names follow cert-manager's `gatewayHTTPRoute` solver and Gateway API's
 * ParentReference, so an issuer moves over with its parentRefs as they are.
 */
const sectionName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

export const gatewayParentRef = z.object({
  // Accepted as written in cert-manager's parentRefs; only Gateways are parents here.
  group: z
    .enum(['gateway.networking.k8s.io'])
    .optional()
    .describe('gateway.networking.k8s.io (the default)'),
  kind: z.enum(['Gateway']).optional().describe('Gateway (the default)'),
  name: z.string().min(1).max(253).describe('name of the Gateway'),
  namespace: z
    .string()
    .min(1)
    .max(63)
    .optional()
    .describe("the Gateway's namespace; absent = the challenge's (the Certificate's) namespace"),
  sectionName: sectionName.optional().describe('the listener to attach to; absent = every one'),
  port: z.number().int().min(1).max(65535).optional().describe('the listener port to attach to'),
});

export const gatewayHTTPRoute = z.object({
  parentRefs: z
    .array(gatewayParentRef)
    .min(1)
    .max(32)
    .describe('the Gateways (kind Gateway) the challenge HTTPRoute attaches to'),
  labels: z
    .record(z.string(), z.string())
    .optional()
    .describe("labels added to the challenge HTTPRoute (certroute's own win)"),
  annotations: z
    .record(z.string(), z.string())
    .optional()
    .describe('annotations added to the challenge HTTPRoute'),
});
export type GatewayHTTPRoute = z.infer<typeof gatewayHTTPRoute>;

/** The CEL rule on `http01`: an HTTPRoute or an Ingress, never options of both. */
export const http01RouteOrIngress = {
  rule: '!has(self.gatewayHTTPRoute) || (!has(self.ingressClassName) && !has(self.pathType) && !has(self.ingressTemplate))',
  message:
    'gatewayHTTPRoute takes no Ingress options (ingressClassName, pathType, ingressTemplate)',
};
