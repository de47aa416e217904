import { ConfigError, helpText, parseConfig } from './config/index.js';
import { createLogger } from './observability/logger.js';
import { resolveOwnerId } from './kube/owner-id.js';
import { Operator, loadKubeConfig } from './operator.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  const parsed = parseConfig(argv, process.env);
  const log = createLogger(parsed.logLevel);
  const kubeConfig = loadKubeConfig(parsed);
  const config = await resolveOwnerId(parsed, kubeConfig, log);
  const operator = new Operator(config, kubeConfig, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A hard deadline: a stuck call must not keep a terminating pod alive.
    setTimeout(() => process.exit(1), 10_000).unref();
    operator
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await operator.start();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`certroute: ${err.message}`);
    process.exit(2);
  }
  console.error('certroute: fatal:', err);
  process.exit(1);
});
