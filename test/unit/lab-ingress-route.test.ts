import { describe, expect, it } from 'vitest';
import type {
  V1EndpointSlice,
  V1HTTPIngressPath,
  V1Ingress,
  V1IngressBackend,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import {
  formatTarget,
  normalizeHost,
  route,
  type RouteResult,
  type RouteSnapshot,
} from '../lab/ingress-router.js';

const NS = 'apps';

function backend(service: string, port: number | string = 80): V1IngressBackend {
  return {
    service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } },
  };
}

function path(
  p: string,
  pathType: string,
  service: string,
  port?: number | string,
): V1HTTPIngressPath {
  return { path: p, pathType, backend: backend(service, port) };
}

interface IngressSpec {
  name: string;
  created?: string;
  className?: string;
  rules?: { host?: string; paths: V1HTTPIngressPath[] }[];
  defaultBackend?: V1IngressBackend;
}

function ingress(spec: IngressSpec): V1Ingress {
  return {
    metadata: {
      name: spec.name,
      namespace: NS,
      // Watched objects carry strings, listed ones Dates; the router must take both.
      creationTimestamp: (spec.created ?? '2024-01-01T00:00:00Z') as unknown as Date,
    },
    spec: {
      ingressClassName: spec.className,
      defaultBackend: spec.defaultBackend,
      rules: spec.rules?.map((r) => ({ host: r.host, http: { paths: r.paths } })),
    },
  };
}

function service(name: string, ports: V1ServicePort[] = [{ port: 80 }]): V1Service {
  return { metadata: { name, namespace: NS }, spec: { ports } };
}

interface SliceSpec {
  service: string;
  ports?: { name?: string; port: number }[];
  endpoints: { ip: string; ready?: boolean }[];
}

function slice(spec: SliceSpec, name = `${spec.service}-slice`): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: {
      name,
      namespace: NS,
      labels: { 'kubernetes.io/service-name': spec.service },
    },
    ports: spec.ports ?? [{ port: 8080 }],
    endpoints: spec.endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready },
    })),
  };
}

/** One Service "svc-X" with one ready endpoint 10.0.0.X:8080 per name, so results name the winner. */
function backends(...names: string[]): Pick<RouteSnapshot, 'services' | 'endpointSlices'> {
  return {
    services: names.map((n) => service(n)),
    endpointSlices: names.map((n, i) =>
      slice({ service: n, endpoints: [{ ip: `10.0.0.${i + 1}` }] }),
    ),
  };
}

/** The winning Service's name, or the result kind when there is none. */
function winner(result: RouteResult): string {
  return result.kind === 'backend' ? result.service.split('/')[1]!.split(':')[0]! : result.kind;
}

describe('normalizeHost', () => {
  it.each([
    ['Example.TEST:8080', 'example.test'],
    ['example.test.', 'example.test'],
    ['[::1]:80', '[::1]'],
    [undefined, ''],
  ])('%s → %s', (header, expected) => {
    expect(normalizeHost(header)).toBe(expected);
  });
});

describe('route: hosts', () => {
  const snapshot: RouteSnapshot = {
    ingresses: [
      ingress({
        name: 'web',
        rules: [
          { host: 'a.example.test', paths: [path('/', 'Prefix', 'exact')] },
          { host: '*.example.test', paths: [path('/', 'Prefix', 'wild')] },
          { paths: [path('/', 'Prefix', 'hostless')] },
        ],
      }),
    ],
    ...backends('exact', 'wild', 'hostless'),
  };

  it.each([
    ['a.example.test', 'exact'],
    ['A.Example.Test:8080', 'exact'],
    ['b.example.test', 'wild'],
    // A wildcard covers exactly one label.
    ['x.b.example.test', 'hostless'],
    ['example.test', 'hostless'],
    ['other.test', 'hostless'],
    ['', 'hostless'],
  ])('%s → %s', (host, expected) => {
    expect(winner(route(snapshot, host, '/x'))).toBe(expected);
  });

  it('does not fall through to a less specific host when no path matches', () => {
    const s: RouteSnapshot = {
      ingresses: [
        ingress({
          name: 'web',
          rules: [
            { host: 'a.example.test', paths: [path('/api', 'Prefix', 'exact')] },
            { paths: [path('/', 'Prefix', 'hostless')] },
          ],
          defaultBackend: backend('fallback'),
        }),
      ],
      ...backends('exact', 'hostless', 'fallback'),
    };
    expect(winner(route(s, 'a.example.test', '/api/v1'))).toBe('exact');
    expect(winner(route(s, 'a.example.test', '/web'))).toBe('fallback');
    expect(winner(route(s, 'other.test', '/web'))).toBe('hostless');
  });

  it('returns none without any matching rule or default backend', () => {
    const s: RouteSnapshot = {
      ingresses: [
        ingress({ name: 'web', rules: [{ host: 'a.test', paths: [path('/', 'Prefix', 'x')] }] }),
      ],
      ...backends('x'),
    };
    expect(route(s, 'b.test', '/')).toEqual({ kind: 'none' });
  });
});

describe('route: paths', () => {
  const snapshot: RouteSnapshot = {
    ingresses: [
      ingress({
        name: 'web',
        rules: [
          {
            host: 'h.test',
            paths: [
              path('/', 'Prefix', 'root'),
              path('/foo', 'Prefix', 'foo'),
              path('/foo/bar/', 'Prefix', 'foobar'),
              path('/foo/bar', 'Exact', 'exact'),
              path('/impl', 'ImplementationSpecific', 'impl'),
            ],
          },
        ],
      }),
    ],
    ...backends('root', 'foo', 'foobar', 'exact', 'impl'),
  };

  it.each([
    ['/', 'root'],
    ['/foo', 'foo'],
    ['/foo/', 'foo'],
    ['/foo/baz', 'foo'],
    // Prefix matches whole path elements only.
    ['/foobar', 'root'],
    // Exact beats an equally long Prefix ("/foo/bar/" normalises to two elements).
    ['/foo/bar', 'exact'],
    // Exact does not match a trailing slash; the longest Prefix takes over.
    ['/foo/bar/', 'foobar'],
    ['/foo/bar/baz', 'foobar'],
    ['/impl/x', 'impl'],
    ['/implx', 'root'],
  ])('%s → %s', (p, expected) => {
    expect(winner(route(snapshot, 'h.test', p))).toBe(expected);
  });

  it('uses spec.defaultBackend when no rule matches', () => {
    const s: RouteSnapshot = {
      ingresses: [
        ingress({
          name: 'web',
          rules: [{ host: 'h.test', paths: [path('/api', 'Exact', 'api')] }],
          defaultBackend: backend('fallback'),
        }),
      ],
      ...backends('api', 'fallback'),
    };
    expect(winner(route(s, 'h.test', '/api'))).toBe('api');
    expect(winner(route(s, 'h.test', '/api/x'))).toBe('fallback');
    expect(winner(route(s, 'other.test', '/'))).toBe('fallback');
  });
});

describe('route: several Ingresses for one host', () => {
  const older = ingress({
    name: 'zz-older',
    created: '2024-01-01T00:00:00Z',
    rules: [
      {
        host: 'h.test',
        paths: [path('/', 'Prefix', 'older-root'), path('/shared', 'Prefix', 'older-shared')],
      },
    ],
  });
  const newer = ingress({
    name: 'aa-newer',
    created: '2024-06-01T00:00:00Z',
    rules: [
      {
        host: 'h.test',
        paths: [
          path('/.well-known/acme-challenge/tok', 'Exact', 'solver'),
          path('/shared', 'Prefix', 'newer-shared'),
        ],
      },
    ],
  });
  const snapshot: RouteSnapshot = {
    ingresses: [newer, older],
    ...backends('older-root', 'older-shared', 'solver', 'newer-shared'),
  };

  it.each([
    ['/.well-known/acme-challenge/tok', 'solver'],
    ['/.well-known/acme-challenge/other', 'older-root'],
    // Equally specific: the oldest Ingress wins, whatever its name or list position.
    ['/shared/x', 'older-shared'],
  ])('%s → %s', (p, expected) => {
    expect(winner(route(snapshot, 'h.test', p))).toBe(expected);
  });

  it('breaks creation-time ties by name', () => {
    const a = ingress({
      name: 'a',
      rules: [{ host: 'h.test', paths: [path('/', 'Prefix', 'from-a')] }],
    });
    const b = ingress({
      name: 'b',
      rules: [{ host: 'h.test', paths: [path('/', 'Prefix', 'from-b')] }],
    });
    const s: RouteSnapshot = { ingresses: [b, a], ...backends('from-a', 'from-b') };
    expect(winner(route(s, 'h.test', '/'))).toBe('from-a');
  });

  it('accepts Date creation timestamps as the typed list API returns them', () => {
    const withDate = (ing: V1Ingress, iso: string): V1Ingress => ({
      ...ing,
      metadata: { ...ing.metadata, creationTimestamp: new Date(iso) },
    });
    const s: RouteSnapshot = {
      ...snapshot,
      ingresses: [withDate(newer, '2024-06-01T00:00:00Z'), withDate(older, '2024-01-01T00:00:00Z')],
    };
    expect(winner(route(s, 'h.test', '/shared/x'))).toBe('older-shared');
  });
});

describe('route: ingress class', () => {
  const snapshot: RouteSnapshot = {
    ingresses: [
      ingress({
        name: 'mine',
        className: 'lab',
        rules: [{ host: 'mine.test', paths: [path('/', 'Prefix', 'mine')] }],
      }),
      ingress({
        name: 'theirs',
        className: 'other',
        rules: [{ host: 'theirs.test', paths: [path('/', 'Prefix', 'theirs')] }],
      }),
      ingress({
        name: 'classless',
        rules: [{ host: 'classless.test', paths: [path('/', 'Prefix', 'classless')] }],
      }),
    ],
    ...backends('mine', 'theirs', 'classless'),
  };

  it.each([
    ['lab', 'mine.test', 'mine'],
    ['lab', 'theirs.test', 'none'],
    ['lab', 'classless.test', 'classless'],
    [undefined, 'theirs.test', 'theirs'],
  ])('class %s: %s → %s', (ingressClassName, host, expected) => {
    expect(winner(route(snapshot, host, '/', { ingressClassName }))).toBe(expected);
  });

  it('honours the legacy kubernetes.io/ingress.class annotation', () => {
    const legacy = ingress({
      name: 'legacy',
      rules: [{ host: 'legacy.test', paths: [path('/', 'Prefix', 'mine')] }],
    });
    legacy.metadata!.annotations = { 'kubernetes.io/ingress.class': 'other' };
    const s: RouteSnapshot = { ...snapshot, ingresses: [legacy] };
    expect(route(s, 'legacy.test', '/', { ingressClassName: 'lab' })).toEqual({ kind: 'none' });
  });
});

describe('route: backends', () => {
  function single(b: V1IngressBackend, rest: Omit<RouteSnapshot, 'ingresses'>): RouteSnapshot {
    return { ingresses: [ingress({ name: 'web', defaultBackend: b })], ...rest };
  }

  const multiPort: Omit<RouteSnapshot, 'ingresses'> = {
    services: [
      service('svc', [
        { name: 'http', port: 80 },
        { name: 'admin', port: 9000 },
      ]),
    ],
    endpointSlices: [
      slice({
        service: 'svc',
        ports: [
          { name: 'http', port: 8080 },
          { name: 'admin', port: 9090 },
        ],
        endpoints: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1', ready: true }],
      }),
    ],
  };

  it.each([
    ['number', 80, 8080],
    ['name', 'http', 8080],
    ['name', 'admin', 9090],
    ['number', 9000, 9090],
  ])('selects the Service port by %s (%s)', (_by, port, targetPort) => {
    const result = route(single(backend('svc', port), multiPort), 'any.test', '/');
    expect(result).toMatchObject({
      kind: 'backend',
      ingress: `${NS}/web`,
      endpoints: [
        { address: '10.0.0.1', port: targetPort },
        { address: '10.0.0.2', port: targetPort },
      ],
    });
  });

  it.each([
    ['an unknown port number', backend('svc', 81)],
    ['an unknown port name', backend('svc', 'metrics')],
    ['a missing Service', backend('nope')],
    ['a resource backend', { resource: { kind: 'Bucket', name: 'b' } }],
  ])('is unavailable for %s', (_what, b) => {
    expect(route(single(b, multiPort), 'any.test', '/').kind).toBe('unavailable');
  });

  it('ignores endpoints that are not ready and is unavailable when none are left', () => {
    const rest: Omit<RouteSnapshot, 'ingresses'> = {
      services: [service('svc')],
      endpointSlices: [
        slice({
          service: 'svc',
          endpoints: [{ ip: '10.0.0.1', ready: false }, { ip: '10.0.0.2' }],
        }),
      ],
    };
    expect(route(single(backend('svc'), rest), 'any.test', '/')).toMatchObject({
      kind: 'backend',
      endpoints: [{ address: '10.0.0.2', port: 8080 }],
    });
    const none = {
      ...rest,
      endpointSlices: [slice({ service: 'svc', endpoints: [{ ip: '10.0.0.1', ready: false }] })],
    };
    expect(route(single(backend('svc'), none), 'any.test', '/')).toMatchObject({
      kind: 'unavailable',
    });
  });

  it('needs the slice port name to equal the Service port name', () => {
    const rest: Omit<RouteSnapshot, 'ingresses'> = {
      services: [service('svc', [{ name: 'http', port: 80 }])],
      endpointSlices: [
        slice({ service: 'svc', ports: [{ port: 8080 }], endpoints: [{ ip: '10.0.0.1' }] }),
      ],
    };
    expect(route(single(backend('svc'), rest), 'any.test', '/').kind).toBe('unavailable');
  });

  it('merges slices and ignores slices of other Services or namespaces', () => {
    const foreign = slice({ service: 'svc', endpoints: [{ ip: '10.9.9.9' }] }, 'foreign');
    foreign.metadata!.namespace = 'elsewhere';
    const rest: Omit<RouteSnapshot, 'ingresses'> = {
      services: [service('svc'), service('other')],
      endpointSlices: [
        slice({ service: 'svc', endpoints: [{ ip: '10.0.0.1' }] }, 'a'),
        slice({ service: 'svc', endpoints: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }] }, 'b'),
        slice({ service: 'other', endpoints: [{ ip: '10.0.0.3' }] }),
        foreign,
      ],
    };
    expect(route(single(backend('svc'), rest), 'any.test', '/')).toMatchObject({
      endpoints: [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
      ],
    });
  });

  it('routes to a selector-less Service through a hand-written EndpointSlice', () => {
    // How certroute's HTTP-01 solver points the challenge path at the operator itself.
    const solverService: V1Service = {
      metadata: { name: 'certroute-solver', namespace: NS },
      spec: { ports: [{ name: 'http', port: 8089, protocol: 'TCP' }] },
    };
    const solverSlice = slice(
      {
        service: 'certroute-solver',
        ports: [{ name: 'http', port: 18089 }],
        endpoints: [{ ip: '127.0.0.1' }],
      },
      'certroute-solver-manual',
    );
    const s: RouteSnapshot = {
      ingresses: [
        ingress({
          name: 'solver',
          rules: [
            {
              host: 'app.example.test',
              paths: [path('/.well-known/acme-challenge/t0k3n', 'Exact', 'certroute-solver', 8089)],
            },
          ],
        }),
      ],
      services: [solverService],
      endpointSlices: [solverSlice],
    };
    expect(route(s, 'app.example.test', '/.well-known/acme-challenge/t0k3n')).toEqual({
      kind: 'backend',
      ingress: `${NS}/solver`,
      service: `${NS}/certroute-solver:8089`,
      endpoints: [{ address: '127.0.0.1', port: 18089 }],
    });
  });
});

describe('formatTarget', () => {
  it.each([
    [{ address: '10.0.0.1', port: 80 }, '10.0.0.1:80'],
    [{ address: 'fd00::1', port: 8080 }, '[fd00::1]:8080'],
  ])('%o → %s', (ep, expected) => {
    expect(formatTarget(ep)).toBe(expected);
  });
});
