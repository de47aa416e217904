import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCrdFiles } from './render.js';
import { crds, structural } from './crds.js';
import { certificate, dnsEndpoint, solver } from './v1alpha1.js';
import type { z } from 'zod';

const root = join(import.meta.dirname, '..', '..');

describe('crds/', () => {
  it.each(Object.entries(renderCrdFiles()))(
    '%s is generated from src/api (run npm run gen:crds)',
    (file, text) => {
      expect(readFileSync(join(root, 'crds', file), 'utf8')).toBe(text);
    },
  );
});

describe('generated YAML keeps every validation', () => {
  const files = renderCrdFiles();
  const cert = parse(files['certroute.io_certificates.yaml'] ?? '') as {
    spec: {
      versions: {
        schema: {
          openAPIV3Schema: {
            properties: {
              spec: Record<string, unknown> & {
                properties: Record<string, Record<string, unknown>>;
              };
            };
          };
        };
      }[];
    };
  };
  const spec = cert.spec.versions[0]?.schema.openAPIV3Schema.properties.spec;

  it('keeps CEL rules on the spec', () => {
    expect(spec?.['x-kubernetes-validations']).toEqual([
      { rule: 'has(self.secretName) || has(self.acm)', message: 'set secretName, acm, or both' },
      {
        rule: '!has(self.acm) || !has(self.acm.writeSecret) || !self.acm.writeSecret || has(self.secretName)',
        message: 'acm.writeSecret needs secretName',
      },
      {
        rule: '!has(self.acm) || !has(self.acm.issued) || !self.acm.issued || !has(self.acm.writeSecret) || !self.acm.writeSecret',
        message:
          'an ACM-issued certificate has no key to write: acm.issued excludes acm.writeSecret',
      },
    ]);
  });

  it('keeps enums and defaults', () => {
    expect(spec?.properties.challenge?.enum).toEqual(['http01', 'dns01']);
    const alg = (spec?.properties.privateKey?.properties as Record<string, Record<string, unknown>>)
      .algorithm;
    expect(alg?.default).toBe('ECDSA-P256');
    expect(alg?.enum).toContain('RSA-4096');
  });

  it('issuerRef.kind: ClusterIssuer or Issuer, optional (absent is a ClusterIssuer)', () => {
    const ref = spec?.properties.issuerRef as {
      required?: string[];
      properties: Record<string, Record<string, unknown>>;
    };
    expect(ref.properties.kind?.enum).toEqual(['ClusterIssuer', 'Issuer']);
    expect(ref.required).toEqual(['name']);
  });
});

describe('the Issuer CRD', () => {
  it("is namespaced, with the ClusterIssuer's spec and status", () => {
    const spec = (c: Record<string, unknown>) => (c as { spec: Record<string, unknown> }).spec;
    const issuers = spec(crds.issuers ?? {});
    const cluster = spec(crds.clusterissuers ?? {});
    expect(issuers.scope).toBe('Namespaced');
    expect(cluster.scope).toBe('Cluster');
    expect((issuers.names as { kind: string }).kind).toBe('Issuer');
    expect(issuers.versions).toEqual(cluster.versions);
  });
});

describe('structural schemas', () => {
  it('every object node has properties, additionalProperties or preserve-unknown-fields', () => {
    const walk = (node: Record<string, unknown>, path: string): string[] => {
      const bad: string[] = [];
      if (node.type === undefined) bad.push(`${path}: no type`);
      if (
        node.type === 'object' &&
        !node.properties &&
        !node.additionalProperties &&
        !node['x-kubernetes-preserve-unknown-fields']
      )
        bad.push(path);
      for (const [k, v] of Object.entries(
        (node.properties as Record<string, Record<string, unknown>>) ?? {},
      ))
        bad.push(...walk(v, `${path}.${k}`));
      if (node.items) bad.push(...walk(node.items as Record<string, unknown>, `${path}[]`));
      return bad;
    };
    expect(walk(structural(certificate.shape.spec), 'spec')).toEqual([]);
    expect(walk(structural(dnsEndpoint.shape.status.unwrap()), 'status')).toEqual([]);
  });

  it('types and schemas agree: a typed Certificate validates', () => {
    const c: z.input<typeof certificate> = {
      apiVersion: 'certroute.io/v1alpha1',
      kind: 'Certificate',
      metadata: { name: 'shop-tls', namespace: 'default' },
      spec: {
        dnsNames: ['shop.example.test', '*.example.test'],
        issuerRef: { name: 'pebble' },
        secretName: 'shop-tls',
      },
    };
    expect(certificate.safeParse(c).success).toBe(true);
    expect(
      certificate.safeParse({ ...c, spec: { ...c.spec, dnsNames: ['Bad_Name'] } }).success,
    ).toBe(false);
  });
});

describe('dns01 solvers', () => {
  const issuer = parse(renderCrdFiles()['certroute.io_clusterissuers.yaml'] ?? '') as {
    spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  const at = (o: unknown, path: string[]): Record<string, unknown> =>
    path.reduce<Record<string, unknown>>(
      (x, k) => (x[k] ?? {}) as Record<string, unknown>,
      o as Record<string, unknown>,
    );
  const dns01 = at(issuer.spec.versions[0]?.schema.openAPIV3Schema, [
    'properties',
    'spec',
    'properties',
    'acme',
    'properties',
    'solvers',
    'items',
    'properties',
    'dns01',
  ]);

  it('exactly one of route53 or rfc2136, by a CEL rule', () => {
    expect(dns01['x-kubernetes-validations']).toEqual([
      {
        rule: 'has(self.route53) != has(self.rfc2136)',
        message: 'set exactly one of route53 or rfc2136',
      },
    ]);
    expect(dns01.required).toBeUndefined();
    expect(at(dns01, ['properties', 'rfc2136']).required).toEqual([
      'nameserver',
      'tsigKeyName',
      'tsigSecretSecretRef',
    ]);
  });

  const rfc2136 = {
    nameserver: '[2001:db8::1]:53',
    tsigKeyName: 'k',
    tsigSecretSecretRef: { name: 's', key: 'secret' },
  };
  it.each<[string, unknown, boolean]>([
    ['an rfc2136 solver', { dns01: { rfc2136 } }, true],
    ['HMACSHA512', { dns01: { rfc2136: { ...rfc2136, tsigAlgorithm: 'HMACSHA512' } } }, true],
    ['no MD5', { dns01: { rfc2136: { ...rfc2136, tsigAlgorithm: 'HMACMD5' } } }, false],
    [
      'a Secret ref without key',
      { dns01: { rfc2136: { ...rfc2136, tsigSecretSecretRef: { name: 's' } } } },
      false,
    ],
    [
      'a nameserver that is not host:port',
      { dns01: { rfc2136: { ...rfc2136, nameserver: 'dns://x' } } },
      false,
    ],
    ['no key name', { dns01: { rfc2136: { ...rfc2136, tsigKeyName: '' } } }, false],
  ])('%s', (_n, s, ok) => {
    expect(solver.safeParse(s).success).toBe(ok);
  });
});
