/**
 * The process's AWS region (AWS_REGION), read in this one place. It is the default for the
 * Route53 client of the DNS controller, for DNS-01 solvers that name no region, and for ACM
 * targets whose Ingress names none.
 */
export function awsRegion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_REGION || undefined;
}
