import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { LabEnv } from './types.js';

/** A ClusterIssuer for the lab's Pebble (its HTTPS CA as caBundle); HTTP-01 unless told. */
export function labIssuer(
  env: LabEnv,
  name: string,
  extra: { profile?: string; email?: string; server?: string; solvers?: unknown[] } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'certroute.io/v1alpha1',
    kind: 'ClusterIssuer',
    metadata: { name },
    spec: {
      acme: {
        server: extra.server ?? env.acmeDirectory,
        ...(extra.email ? { email: extra.email } : {}),
        privateKeySecretRef: { name: `${name}-account` },
        caBundle: readFileSync(env.acmeCaFile, 'utf8'),
        ...(extra.profile ? { profile: extra.profile } : {}),
        solvers: extra.solvers ?? [{ http01: {} }],
      },
    },
  };
}

export async function createClusterIssuer(
  kc: k8s.KubeConfig,
  body: Record<string, unknown>,
): Promise<void> {
  await kc.makeApiClient(k8s.CustomObjectsApi).createClusterCustomObject({
    group: 'certroute.io',
    version: 'v1alpha1',
    plural: 'clusterissuers',
    body,
  });
}

export async function deleteClusterIssuer(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(k8s.CustomObjectsApi)
    .deleteClusterCustomObject({
      group: 'certroute.io',
      version: 'v1alpha1',
      plural: 'clusterissuers',
      name,
    })
    .catch(() => undefined);
}

/** GET or POST to Pebble's management API (roots, set-renewal-info). */
export function pebbleManagement(
  env: LabEnv,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const url = new URL(path, env.acmeManagement);
  const ca = readFileSync(env.acmeCaFile);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: body === undefined ? 'GET' : 'POST',
        ca,
        headers: { 'user-agent': 'certroute-lab', 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Pebble's log lines so far ("Added order ..." counts orders placed). */
export function pebbleLog(env: LabEnv): string[] {
  try {
    return readFileSync(join(env.dir, 'pebble.log'), 'utf8').split('\n');
  } catch {
    return [];
  }
}

export function ordersPlaced(env: LabEnv): number {
  return pebbleLog(env).filter((l) => l.includes('Added order')).length;
}

/** Validations Pebble failed so far: each authorization it set invalid on a completed challenge. */
export function failedValidations(env: LabEnv): number {
  return pebbleLog(env).filter((l) => / authz \S+ set INVALID by completed challenge /.test(l))
    .length;
}
