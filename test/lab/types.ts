import type { PodIdentity } from './identity.js';

/**
 * What a running lab exposes to tests, benchmarks, the sandbox and people (via `npm run lab -- env`).
 * Everything listens on loopback only, but Traefik and the pod network, which live in the lab's
 * network namespace (netns.ts) and are reached from here through Unix-socket bridges.
 */
export interface LabEnv {
  /** Admin kubeconfig file (system:masters). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT of kube-apiserver. */
  kubeApiServer: string;
  /** Pebble ACME directory URL. */
  acmeDirectory: string;
  /** PEM file of the CA that signed Pebble's own HTTPS (ACME API) certificate. */
  acmeCaFile: string;
  /** Pebble management API base URL (roots, intermediates, set-renewal-info). */
  acmeManagement: string;
  /**
   * Port on which Pebble's VA sends HTTP-01 requests and operators self-check: Traefik's web
   * entrypoint, on root 127.0.0.1 (it runs in the lab's network namespace).
   */
  http01Port: number;
  /** AWS endpoint for AWS_ENDPOINT_URL: the lab proxy in front of moto (see aws-proxy.ts). */
  awsEndpoint: string;
  /** moto itself, bypassing the proxy. */
  motoEndpoint: string;
  awsRegion: string;
  awsAccessKeyId: string;
  awsSecretAccessKey: string;
  /** Lab DNS server (UDP and TCP), authoritative for moto's hosted zones. */
  dnsHost: string;
  dnsPort: number;
  /** Where Traefik is reached (with http01Port); Traefik writes it into Ingress status. */
  ingressAddress: string;
  /** Traefik's IngressClass: Ingresses of this class are routed and given status by Traefik. */
  ingressClass: string;
  /** The lab's network namespace (Traefik and the pod network 10.244.0.0/24 live there). */
  netns: string;
  /** Directory holding this lab's logs and state. */
  dir: string;
  /**
   * The chart's ServiceAccount identity for an operator in namespace `certroute`, as in a pod
   * (test/lab/identity.ts). Operators use it unless LAB_IDENTITY=kubeconfig.
   */
  podIdentity?: PodIdentity;
}

/** Environment variables a person or a child process uses to reach the lab. */
export function labEnvVars(env: LabEnv): Record<string, string> {
  return {
    KUBECONFIG: env.kubeconfig,
    ACME_DIRECTORY_URL: env.acmeDirectory,
    ACME_CA_FILE: env.acmeCaFile,
    NODE_EXTRA_CA_CERTS: env.acmeCaFile,
    AWS_ENDPOINT_URL: env.awsEndpoint,
    AWS_REGION: env.awsRegion,
    AWS_ACCESS_KEY_ID: env.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: env.awsSecretAccessKey,
    // Nothing in the lab may fall back to the EC2 instance metadata service (an off-machine address).
    AWS_EC2_METADATA_DISABLED: 'true',
    LAB_DNS: `${env.dnsHost}:${env.dnsPort}`,
    LAB_INGRESS_ADDRESS: env.ingressAddress,
    LAB_HTTP01_PORT: String(env.http01Port),
    LAB_INGRESS_CLASS: env.ingressClass,
    LAB_NETNS: env.netns,
  };
}
