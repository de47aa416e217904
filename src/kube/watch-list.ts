import type * as k8s from '@kubernetes/client-node';

/**
 * A list as a stream of watch events (Kubernetes "watch list", KEP-3157): a watch with
 * `sendInitialEvents=true` sends every existing object as an ADDED event, then a BOOKMARK
 * annotated `k8s.io/initial-events-end` at the resource version the state is complete at.
 *
 * Why: a plain list is one JSON document, parsed whole. For 5,000 objects that is 10 MB of
 * text and every object with its managedFields alive at once until the list is reduced: the
 * collector copies all of it (most of certroute's start-up CPU went to the garbage collector).
 * Here each object is parsed and reduced on arrival, and what is dropped dies young.
 *
 * `reduce` is applied to each object as it arrives. Gives the reduced list, or a failure when
 * the stream did not give a complete state (the server does not support watch lists, or the
 * stream failed or ended early): the caller then lists the plain way. `refused` tells that the
 * API server rejected the request as invalid (400 or 422: a server without the WatchList
 * feature rejects `sendInitialEvents`), so the caller can stop asking.
 */
export type WatchListResult<T extends k8s.KubernetesObject> =
  { list: k8s.KubernetesListObject<T> } | { failure: { refused: boolean; reason: string } };

/** The annotation on the BOOKMARK that ends the initial events. */
export const initialEventsEnd = 'k8s.io/initial-events-end';

interface WatchEventObject {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err);
}

export function watchList<T extends k8s.KubernetesObject>(
  watch: Pick<k8s.Watch, 'watch'>,
  path: string,
  query: { resourceVersion: string; labelSelector?: string },
  reduce: (obj: unknown) => T,
): Promise<WatchListResult<T>> {
  return new Promise((resolve) => {
    const items: T[] = [];
    let settled = false;
    let controller: AbortController | undefined;
    const settle = (r: WatchListResult<T>) => {
      if (settled) return;
      settled = true;
      controller?.abort();
      resolve(r);
    };
    const onEvent = (phase: string, obj: unknown) => {
      if (settled) return;
      const o = obj as WatchEventObject | undefined;
      if (phase === 'ADDED') {
        // client-node's watch swallows what its callback throws: an object that cannot be
        // reduced must fail the list (as it does a plain one), not go missing from the cache.
        try {
          items.push(reduce(obj));
        } catch (err) {
          const reason = `reducing an object failed: ${messageOf(err)}`;
          settle({ failure: { refused: false, reason } });
        }
      } else if (phase === 'BOOKMARK') {
        if (o?.metadata?.annotations?.[initialEventsEnd] !== 'true') return;
        settle({
          list: {
            apiVersion: 'v1',
            kind: 'List',
            metadata: { resourceVersion: o.metadata.resourceVersion ?? '' },
            items,
          },
        });
      } else {
        // MODIFIED or DELETED before the end of the initial events, or an ERROR event: the
        // stream is not the state this function promises.
        settle({ failure: { refused: false, reason: `${phase} before the initial events ended` } });
      }
    };
    const onDone = (err: unknown) => {
      const status = (err as { statusCode?: number } | null)?.statusCode;
      // An API server without watch lists rejects sendInitialEvents as an invalid parameter
      // (422, or 400). Other answers (404 while a CRD is not served yet after a restart, 401,
      // 403, 429) say nothing about the feature.
      const refused = status === 400 || status === 422;
      const reason = err
        ? `${messageOf(err)}${status ? ` (HTTP ${status})` : ''}`
        : 'the watch closed before the initial events ended';
      settle({ failure: { refused, reason } });
    };
    watch
      .watch(
        path,
        {
          ...query,
          sendInitialEvents: true,
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: true,
        },
        onEvent,
        onDone,
      )
      .then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (err: unknown) => onDone(err),
      );
  });
}
