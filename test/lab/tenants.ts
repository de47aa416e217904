import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { apiServerCertFile } from './identity.js';
import type { LabEnv } from './types.js';

/**
 * A tenant of a shared cluster, made in the lab: a namespace (with labels, for policies that
 * select by label) and one user who may only write Ingresses (and read Certificates,
 * DNSEndpoints and Events) in that namespace. The user is a ServiceAccount `developer` in the
 * tenant's own namespace with a bound token, so RBAC, not the test, decides what it may do.
 */
export interface Tenant {
  namespace: string;
  /** kubeconfig file of the tenant's user. */
  kubeconfig: string;
  /** The tenant's user, for API calls made as the tenant. */
  kube: k8s.KubeConfig;
  /** The user's name as RBAC sees it. */
  user: string;
}

const tenantRules: k8s.V1PolicyRule[] = [
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['ingresses'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
  {
    apiGroups: ['certroute.io'],
    resources: ['certificates', 'dnsendpoints'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
];

export async function createTenant(
  env: LabEnv,
  name: string,
  labels: Record<string, string> = {},
): Promise<Tenant> {
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(env.kubeconfig);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core
    .createNamespace({ body: { metadata: { name, labels: { tenant: name, ...labels } } } })
    .catch(ignoreConflict);
  await core
    .createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'developer' } } })
    .catch(ignoreConflict);
  await rbac
    .createNamespacedRole({
      namespace: name,
      body: { metadata: { name: 'developer' }, rules: tenantRules },
    })
    .catch(ignoreConflict);
  await rbac
    .createNamespacedRoleBinding({
      namespace: name,
      body: {
        metadata: { name: 'developer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'developer' },
        subjects: [{ kind: 'ServiceAccount', name: 'developer', namespace: name }],
      },
    })
    .catch(ignoreConflict);
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'developer',
    namespace: name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`[lab] no token for tenant ${name}`);
  const kube = new k8s.KubeConfig();
  kube.loadFromOptions({
    clusters: [{ name: 'lab', server: env.kubeApiServer, caFile: apiServerCertFile(env.dir) }],
    users: [{ name: `${name}-developer`, token }],
    contexts: [{ name: 'lab', cluster: 'lab', user: `${name}-developer`, namespace: name }],
    currentContext: 'lab',
  });
  const kubeconfig = join(env.dir, `tenant-${name}.kubeconfig`);
  writeFileSync(kubeconfig, kube.exportConfig(), { mode: 0o600 });
  return { namespace: name, kubeconfig, kube, user: `system:serviceaccount:${name}:developer` };
}

/** Deletes the tenant's namespace (and with it its user and everything it made). */
export async function deleteTenant(env: LabEnv, t: Tenant): Promise<void> {
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(env.kubeconfig);
  await admin
    .makeApiClient(k8s.CoreV1Api)
    .deleteNamespace({ name: t.namespace })
    .catch(() => undefined);
}

/** Whether `kube`'s user may do `verb` on `resource` (SelfSubjectAccessReview). */
export async function canI(
  kube: k8s.KubeConfig,
  verb: string,
  resource: { group?: string; resource: string; namespace?: string; name?: string },
): Promise<boolean> {
  const review = await kube.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
    body: {
      spec: {
        resourceAttributes: {
          verb,
          group: resource.group ?? '',
          resource: resource.resource,
          ...(resource.namespace ? { namespace: resource.namespace } : {}),
          ...(resource.name ? { name: resource.name } : {}),
        },
      },
    },
  });
  return review.status?.allowed === true;
}

function ignoreConflict(err: unknown): void {
  if ((err as { code?: number }).code !== 409) throw err;
}
