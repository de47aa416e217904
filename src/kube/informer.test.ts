import { describe, expect, it } from 'vitest';
import { trim } from './informer.js';

describe('trim', () => {
  it('drops managedFields and the last-applied annotation, keeping everything else', () => {
    const obj = {
      metadata: {
        name: 'a',
        namespace: 'ns',
        managedFields: [{ manager: 'kubectl' }],
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}',
          'certroute.io/issuer': 'pebble',
        },
        labels: { app: 'web' },
      },
      spec: { rules: [{ host: 'a.example' }] },
    };
    const out = trim(obj);
    expect(out.metadata).toEqual({
      name: 'a',
      namespace: 'ns',
      annotations: { 'certroute.io/issuer': 'pebble' },
      labels: { app: 'web' },
    });
    expect(out.spec).toEqual({ rules: [{ host: 'a.example' }] });
  });

  it('leaves objects without metadata or annotations alone', () => {
    expect(trim({ kind: 'Status' })).toEqual({ kind: 'Status' });
    expect(trim({ metadata: { name: 'b' } })).toEqual({ metadata: { name: 'b' } });
  });
});
