import { Failure } from '../../errors.js';

/** A problem the user must fix (bad region, no zone, no Secret): a condition, not a hot retry. */
export class Dns01ConfigError extends Failure {
  override name = 'Dns01ConfigError';
}
