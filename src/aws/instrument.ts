import type { Metrics } from '../observability/metrics.js';

const throttleNames = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** The part of an AWS SDK v3 client this needs (any service's client has it). */
interface Instrumentable {
  middlewareStack: {
    add: (
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; name: string; priority: 'high' },
    ) => void;
  };
}

/**
 * Counts every attempt of an AWS client in certroute_aws_api_calls_total (and throttles in
 * certroute_aws_throttles_total), by service, operation and outcome. Retries wrap the
 * deserialize step, so each retry is seen. `before` runs ahead of every attempt (a rate limit),
 * with the attempt's operation (the command name, e.g. `GetChangeCommand`).
 */
export function instrumentAwsClient(
  client: unknown,
  service: string,
  metrics: Metrics,
  before?: (operation: string) => Promise<void>,
): void {
  (client as Instrumentable).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = context.commandName ?? 'unknown';
      await before?.(operation);
      try {
        const out = await next(args);
        metrics.awsCalls.inc({ service, operation, outcome: 'success' });
        return out;
      } catch (err) {
        const throttled = isThrottle(err);
        if (throttled) metrics.awsThrottles.inc({ service, operation });
        metrics.awsCalls.inc({ service, operation, outcome: throttled ? 'throttled' : 'error' });
        throw err;
      }
    },
    { step: 'deserialize', name: 'certrouteCallMetrics', priority: 'high' },
  );
}

export function isThrottle(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? 'Error';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return throttleNames.has(name) || status === 429;
}
