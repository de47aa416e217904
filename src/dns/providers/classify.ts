import { Rfc2136Error, classifyRfc2136Error } from './rfc2136-errors.js';
import { classifyRoute53Error, type ErrorAction } from './route53-errors.js';

export type { ErrorAction } from './route53-errors.js';

/** What the DNS controller does about a provider's failed call, whichever provider it is. */
export function classifyProviderError(err: unknown): ErrorAction {
  return err instanceof Rfc2136Error ? classifyRfc2136Error(err) : classifyRoute53Error(err);
}
