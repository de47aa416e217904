import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ComponentDirs {
  kube: string;
  etcd: string;
  pebble: string;
  helm: string;
  traefik: string;
  moto: string;
  promtool: string;
  node: string;
  faketime: string;
  'gateway-api': string;
  bind9: string;
}

let cached: ComponentDirs | undefined;

/** Where scripts/lab-install.sh keeps each component (one source of truth for versions). */
export function componentDirs(): ComponentDirs {
  if (cached) return cached;
  const out = execFileSync('bash', [join(repoRoot, 'scripts', 'lab-install.sh'), '--print-dirs'], {
    encoding: 'utf8',
  });
  const dirs: Record<string, string> = {};
  for (const line of out.trim().split('\n')) {
    const i = line.indexOf('=');
    dirs[line.slice(0, i)] = line.slice(i + 1);
  }
  cached = dirs as unknown as ComponentDirs;
  return cached;
}

export const bin = {
  kubeApiServer: () => join(componentDirs().kube, 'bin', 'kube-apiserver'),
  kubeControllerManager: () => join(componentDirs().kube, 'bin', 'kube-controller-manager'),
  etcd: () => join(componentDirs().etcd, 'bin', 'etcd'),
  pebble: () => join(componentDirs().pebble, 'bin', 'pebble'),
  pebbleCerts: () => join(componentDirs().pebble, 'certs'),
  helm: () => join(componentDirs().helm, 'bin', 'helm'),
  traefik: () => join(componentDirs().traefik, 'bin', 'traefik'),
  // The venv is built elsewhere and moved into the cache, so its console scripts' shebangs
  // are stale; `python -m` does not depend on them.
  motoPython: () => join(componentDirs().moto, 'venv', 'bin', 'python'),
  promtool: () => join(componentDirs().promtool, 'bin', 'promtool'),
  /** The LD_PRELOAD library that shifts a process's wall clock (FAKETIME=+30s). */
  /** The Gateway API CRDs: the standard channel, and the experimental TLSRoute CRD apart. */
  gatewayApiCrds: () => join(componentDirs()['gateway-api'], 'crds'),
  gatewayApiExperimentalCrds: () => join(componentDirs()['gateway-api'], 'crds-experimental'),
  libfaketime: () => join(componentDirs().faketime, 'lib', 'libfaketime.so.1'),
  /** BIND 9 (Debian's packages, unpacked): wrappers that find their own libraries. */
  named: () => join(componentDirs().bind9, 'bin', 'named'),
  dig: () => join(componentDirs().bind9, 'bin', 'dig'),
  nsupdate: () => join(componentDirs().bind9, 'bin', 'nsupdate'),
};
