import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Zone } from './types.js';

/**
 * Zones nothing asks a record of are still listed, for the cleanup of records certroute owns
 * there, but in the background: one zone at a time, each listing yielding the account's
 * request budget to every other call (DnsProvider.records `background`), then synced from the
 * cache. In an account with hundreds of zones, a change to one zone so never waits behind the
 * listing of the others (docs/adr/0027).
 */
export class BackgroundSweep {
  private readonly pending = new Map<string, Zone>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      /** Lists the zone into the cache (background priority). */
      list(zone: Zone): Promise<unknown>;
      /** The zone is cached (or its listing failed): sync it. */
      listed(zone: Zone): void;
      log: Logger;
    },
  ) {}

  add(zones: Iterable<Zone>): void {
    for (const z of zones) this.pending.set(z.id, z);
    if (this.pending.size > 0)
      this.running ??= this.run().finally(() => (this.running = undefined));
  }

  /** Zones still waiting for their background listing (tests, diagnostics). */
  get size(): number {
    return this.pending.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    await this.running;
  }

  private async run(): Promise<void> {
    for (const [id, zone] of this.pending) {
      if (this.stopped) return;
      this.pending.delete(id);
      try {
        await this.deps.list(zone);
      } catch (err) {
        // Its sync lists it again (and reports a failure there).
        this.deps.log.debug(
          { zone: zone.name, err: describeError(err) },
          'background listing failed',
        );
      }
      if (!this.stopped) this.deps.listed(zone);
    }
  }
}
