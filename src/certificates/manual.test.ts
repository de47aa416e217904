import { describe, expect, it } from 'vitest';
import type { IdleStep } from './machine.js';
import {
  applyRequests,
  pendingRequests,
  renewAnnotation,
  renewalRecorded,
  retryAnnotation,
} from './manual.js';
import type { Cert } from './types.js';

const upToDate: IdleStep = { kind: 'up-to-date', requeueAfterMs: 60_000 };
const backoff: IdleStep = { kind: 'backoff', requeueAfterMs: 60_000 };
const order: IdleStep = { kind: 'order', why: 'no certificate yet' };
const t1 = '2030-06-10T00:00:00.000Z';
const t2 = '2030-06-11T00:00:00.000Z';

describe('pendingRequests', () => {
  it.each<[string, Record<string, string> | undefined, { renew?: string; retry?: string }, object]>(
    [
      ['no annotations', undefined, {}, {}],
      ['a new renew', { [renewAnnotation]: t1 }, {}, { renew: t1 }],
      ['a renew already acted on', { [renewAnnotation]: t1 }, { renew: t1 }, {}],
      ['a second renew', { [renewAnnotation]: t2 }, { renew: t1 }, { renew: t2 }],
      ['a new retry', { [retryAnnotation]: t1 }, { renew: t1 }, { retry: t1 }],
      [
        'both',
        { [renewAnnotation]: t2, [retryAnnotation]: t2 },
        { renew: t1, retry: t1 },
        { renew: t2, retry: t2 },
      ],
      ['an empty value', { [renewAnnotation]: '' }, {}, {}],
    ],
  )('%s', (_n, annotations, handled, want) => {
    expect(pendingRequests(annotations, handled)).toEqual(want);
  });
});

describe('applyRequests', () => {
  it.each<[string, IdleStep, { renew?: string; retry?: string }, IdleStep['kind'], object]>([
    ['nothing pending: the step as it was', upToDate, {}, 'up-to-date', {}],
    ['renew on an up-to-date certificate: order', upToDate, { renew: t1 }, 'order', {}],
    ['renew during a backoff: order', backoff, { renew: t1 }, 'order', {}],
    [
      'retry during a backoff: order, backoff cleared',
      backoff,
      { retry: t1 },
      'order',
      { failedAttempts: 0, nextRetryTime: null },
    ],
    [
      'retry with no backoff: recorded, no order',
      upToDate,
      { retry: t1 },
      'up-to-date',
      { failedAttempts: 0 },
    ],
    ['renew when an order is due anyway: order', order, { renew: t1 }, 'order', {}],
  ])('%s', (_n, step, pending, kind, extra) => {
    const d = applyRequests(step, pending, { requests: { renew: 'old' } });
    expect(d.step.kind).toBe(kind);
    // A renewal is recorded when its order is placed (renewalRecorded), not here.
    if (!pending.retry) expect(d.fields).toEqual({});
    else
      expect(d.fields).toMatchObject({
        requests: { renew: 'old', retry: pending.retry },
        ...extra,
      });
  });

  it('a renewal is recorded once its order is placed, and only a pending one', () => {
    const cert = (renew?: string) =>
      ({ metadata: { annotations: renew ? { [renewAnnotation]: renew } : {} } }) as Cert;
    expect(renewalRecorded(cert(t1), { requests: { retry: 'r' } })).toEqual({
      requests: { retry: 'r', renew: t1 },
    });
    expect(renewalRecorded(cert(t1), { requests: { renew: t1 } })).toBeUndefined();
    expect(renewalRecorded(cert(), {})).toBeUndefined();
  });

  it('says why it orders', () => {
    const d = applyRequests(upToDate, { renew: t1 }, {});
    expect(d.step).toEqual({ kind: 'order', why: `renewal requested (${renewAnnotation}=${t1})` });
  });
});
