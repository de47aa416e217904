import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names that may carry key material or credentials. pino replaces them before a line is
 * written, wherever they appear (two levels deep), so a careless `log.info({ secret })` cannot
 * leak a key.
 */
const sensitive = [
  'privateKey',
  'key',
  'accountKey',
  'keyAuthorization',
  'token',
  'hmacKey',
  'secretAccessKey',
  'password',
  'pem',
];
const redactPaths = [
  ...sensitive,
  ...sensitive.map((k) => `*.${k}`),
  ...sensitive.map((k) => `*.*.${k}`),
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'certroute' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    destination as pino.DestinationStream | undefined,
  );
}

/** A logger for tests and tools that must say nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });
