import { describe, expect, it } from 'vitest';
import { slimIngress } from './ingress-shim.js';

describe('slimIngress', () => {
  it('keeps hosts, TLS, class, metadata and status; drops backends', () => {
    const ing = {
      metadata: { name: 'web', namespace: 'ns', annotations: { 'certroute.io/issuer': 'x' } },
      spec: {
        ingressClassName: 'nginx',
        defaultBackend: { service: { name: 'default', port: { number: 80 } } },
        tls: [{ hosts: ['a.example'], secretName: 'a-tls' }],
        rules: [
          {
            host: 'a.example',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
          { http: { paths: [] } },
        ],
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    };
    expect(slimIngress(ing)).toEqual({
      metadata: ing.metadata,
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['a.example'], secretName: 'a-tls' }],
        rules: [{ host: 'a.example' }, {}],
      },
      status: ing.status,
    });
  });

  it('returns an Ingress without rules or backend as it is', () => {
    const ing = { metadata: { name: 'x' }, spec: { tls: [] } };
    expect(slimIngress(ing)).toBe(ing);
  });
});
