import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './observability/metrics.js';
import {
  classOf,
  describeError,
  Failure,
  failureReasons,
  reportFailure,
  type FailureReason,
} from './errors.js';

describe('the error taxonomy', () => {
  it('gives every reason one class', () => {
    for (const [reason, cls] of Object.entries(failureReasons))
      expect(['transient', 'input', 'configuration'], reason).toContain(cls);
  });

  it('documents every reason, with its class, in docs/troubleshooting.md', () => {
    const doc = readFileSync('docs/troubleshooting.md', 'utf8');
    const rows = new Map(
      [...doc.matchAll(/^\| `([A-Za-z0-9]+)` +\| (transient|input|configuration) +\|/gm)].map(
        (m) => [m[1], m[2]],
      ),
    );
    for (const reason of Object.keys(failureReasons) as FailureReason[])
      expect(rows.get(reason), `${reason} in docs/troubleshooting.md`).toBe(classOf(reason));
  });

  it('a Failure carries its reason, class and cause', () => {
    const cause = new Error('socket hang up');
    const f = new Failure('CAUnreachable', 'no answer from the CA', { cause });
    expect([f.reason, f.class, f.message, f.cause]).toEqual([
      'CAUnreachable',
      'transient',
      'no answer from the CA',
      cause,
    ]);
    expect(f).toBeInstanceOf(Error);
  });

  it('reports a failure in one shape: the counter and the log line', async () => {
    const metrics = createMetrics();
    const lines: [object, string][] = [];
    reportFailure(
      { warn: (o, m) => lines.push([o, m]) },
      metrics.failures,
      'dns',
      'RecordNoZone',
      'A a.example: no zone',
      { name: 'web' },
    );
    expect(lines).toEqual([
      [
        {
          name: 'web',
          reason: 'RecordNoZone',
          class: 'configuration',
          err: 'A a.example: no zone',
        },
        'dns: RecordNoZone',
      ],
    ]);
    expect((await metrics.failures.get()).values).toEqual([
      { labels: { controller: 'dns', reason: 'RecordNoZone', class: 'configuration' }, value: 1 },
    ]);
  });

  it.each<[unknown, string]>([
    [new Error('boom'), 'boom'],
    [{ message: 'from an API body' }, 'from an API body'],
    ['plain', 'plain'],
    [42, '42'],
  ])('describeError(%o) -> %s', (err, want) => {
    expect(describeError(err)).toBe(want);
  });
});
