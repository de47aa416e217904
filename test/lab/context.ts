import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { route53For } from './lab.js';
import type { LabEnv } from './types.js';

/** The running lab's environment, provided by the integration globalSetup. */
export function labEnv(): LabEnv {
  return inject('lab');
}

export function adminConfig(env: LabEnv = labEnv()): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  return kc;
}

export function labRoute53(env: LabEnv = labEnv()) {
  return route53For(env.awsEndpoint);
}

export { uniqueName } from './names.js';

import { uniqueName } from './names.js';

/** A namespace of the test's own, deleted (through the namespace controller) afterwards. */
export async function createNamespace(kc: k8s.KubeConfig, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function deleteNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => undefined);
}

/** Polls until `fn` returns a value that is not undefined/false, or throws the last error. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error('eventually: condition not met in time', { cause: last });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
