import { describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { initialEventsEnd, watchList } from './watch-list.js';

/** Either side of the result, for assertions on both. */
interface Outcome {
  list?: k8s.KubernetesListObject<k8s.KubernetesObject>;
  failure?: { refused: boolean; reason: string };
}

type Cb = (phase: string, obj: unknown) => void;
type Done = (err: unknown) => void;

/** A stand-in for client-node's Watch that replays a script of events, then maybe ends. */
function scripted(script: (cb: Cb, done: Done) => void) {
  const calls: { path: string; query: Record<string, unknown> }[] = [];
  let aborted = 0;
  const watch = {
    watch: (path: string, query: Record<string, unknown>, cb: Cb, done: Done) => {
      calls.push({ path, query });
      const c = new AbortController();
      c.signal.addEventListener('abort', () => aborted++);
      queueMicrotask(() => script(cb, done));
      return Promise.resolve(c);
    },
  };
  return { watch, calls, aborted: () => aborted };
}

const obj = (name: string) => ({
  metadata: { name, namespace: 'ns', managedFields: [{ manager: 'x' }] },
});
const end = (rv: string) => ({
  metadata: { resourceVersion: rv, annotations: { [initialEventsEnd]: 'true' } },
});
const reduce = (o: unknown) => {
  const m = (o as { metadata: { name: string; namespace: string } }).metadata;
  return { metadata: { name: m.name, namespace: m.namespace } };
};

describe('watchList', () => {
  it('gives the initial objects, reduced as they arrive, at the end bookmark’s version', async () => {
    const w = scripted((cb) => {
      cb('ADDED', obj('a'));
      cb('BOOKMARK', { metadata: { resourceVersion: '5' } }); // a progress bookmark: not the end
      cb('ADDED', obj('b'));
      cb('BOOKMARK', end('7'));
      cb('ADDED', obj('late')); // after the end: the informer's own watch sees it
    });
    const r: Outcome = await watchList(
      w.watch,
      '/apis/x/v1/things',
      { resourceVersion: '0' },
      reduce,
    );
    expect(r.failure).toBeUndefined();
    expect(r.list?.metadata?.resourceVersion).toBe('7');
    expect(r.list?.items).toEqual([
      { metadata: { name: 'a', namespace: 'ns' } },
      { metadata: { name: 'b', namespace: 'ns' } },
    ]);
    expect(w.calls).toEqual([
      {
        path: '/apis/x/v1/things',
        query: {
          resourceVersion: '0',
          labelSelector: undefined,
          sendInitialEvents: true,
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: true,
        },
      },
    ]);
    expect(w.aborted()).toBe(1); // the stream is closed once the state is complete
  });

  it('passes the label selector and an empty list through', async () => {
    const w = scripted((cb) => cb('BOOKMARK', end('3')));
    const r: Outcome = await watchList(
      w.watch,
      '/api/v1/secrets',
      { resourceVersion: '', labelSelector: 'a=b' },
      reduce,
    );
    expect(r.list?.items).toEqual([]);
    expect(w.calls[0]?.query).toMatchObject({ resourceVersion: '', labelSelector: 'a=b' });
  });

  for (const [status, text] of [
    [422, 'Unprocessable Entity'],
    [400, 'Bad Request'],
  ] as const)
    it(`reports ${status} as refused: the server has no watch lists`, async () => {
      const w = scripted((_cb, done) =>
        done(Object.assign(new Error(text), { statusCode: status })),
      );
      const r: Outcome = await watchList(w.watch, '/p', { resourceVersion: '0' }, reduce);
      expect(r.list).toBeUndefined();
      expect(r.failure).toEqual({ refused: true, reason: `${text} (HTTP ${status})` });
    });

  // A restarting API server answers 404 for a CRD it does not serve yet, 401 or 403 before its
  // authorizers are up, 429 under load: none of them says watch lists are unsupported.
  for (const [status, text] of [
    [404, 'Not Found'],
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [429, 'Too Many Requests'],
  ] as const)
    it(`reports ${status} as a failure for this attempt, not a refusal`, async () => {
      const w = scripted((_cb, done) =>
        done(Object.assign(new Error(text), { statusCode: status })),
      );
      const r: Outcome = await watchList(w.watch, '/p', { resourceVersion: '0' }, reduce);
      expect(r.failure).toEqual({ refused: false, reason: `${text} (HTTP ${status})` });
    });

  const failures: [string, (cb: Cb, done: Done) => void, string][] = [
    [
      'a 5xx answer',
      (_cb, done) => done(Object.assign(new Error('Service Unavailable'), { statusCode: 503 })),
      'Service Unavailable (HTTP 503)',
    ],
    [
      'a connection error',
      (cb, done) => {
        cb('ADDED', obj('a'));
        done(new Error('socket hang up'));
      },
      'socket hang up',
    ],
    [
      'a stream that ends before the end bookmark',
      (cb, done) => {
        cb('ADDED', obj('a'));
        done(null);
      },
      'the watch closed before the initial events ended',
    ],
    [
      'an ERROR event',
      (cb) => cb('ERROR', { code: 410, message: 'too old' }),
      'ERROR before the initial events ended',
    ],
    [
      'a change before the end bookmark (not a watch list)',
      (cb) => cb('MODIFIED', obj('a')),
      'MODIFIED before the initial events ended',
    ],
  ];
  for (const [name, script, reason] of failures)
    it(`reports ${name} as a failure to retry the plain way, not a refusal`, async () => {
      const w = scripted(script);
      const r: Outcome = await watchList(w.watch, '/p', { resourceVersion: '0' }, reduce);
      expect(r.list).toBeUndefined();
      expect(r.failure).toEqual({ refused: false, reason });
    });

  it('fails, and keeps nothing, when an object cannot be reduced', async () => {
    const w = scripted((cb) => {
      cb('ADDED', obj('a'));
      cb('ADDED', { metadata: null });
      cb('BOOKMARK', end('9'));
    });
    const r: Outcome = await watchList(w.watch, '/p', { resourceVersion: '0' }, reduce);
    expect(r.list).toBeUndefined();
    expect(r.failure?.refused).toBe(false);
    expect(r.failure?.reason).toMatch(/^reducing an object failed: /);
  });

  it('reports a watch call that throws as a failure', async () => {
    const watch = { watch: () => Promise.reject(new Error('No currently active cluster')) };
    const r: Outcome = await watchList(watch, '/p', { resourceVersion: '0' }, reduce);
    expect(r.failure).toEqual({ refused: false, reason: 'No currently active cluster' });
  });
});
