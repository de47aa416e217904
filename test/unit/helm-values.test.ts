// The Helm chart covers every operator flag: a value under `config` in values.yaml with the
// operator's own default, the flag's environment variable in the Deployment template, a
// property in values.schema.json and a row in docs/helm.md. Adding a flag to
// src/config/flags.ts without adding it to the chart fails here, naming what is missing.
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { flags, type FlagSpec } from '../../src/config/flags.js';
import { repoRoot } from '../lab/paths.js';

const chart = join(repoRoot, 'charts', 'certroute');
const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as {
  config: Record<string, unknown>;
};
const deployment = readFileSync(join(chart, 'templates', 'deployment.yaml'), 'utf8');
const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as {
  additionalProperties: boolean;
  properties: Record<string, unknown> & {
    config: {
      additionalProperties: boolean;
      properties: Record<string, { enum?: string[] }>;
    };
  };
};
const helmDoc = readFileSync(join(repoRoot, 'docs', 'helm.md'), 'utf8');

/**
 * Flags the chart sets itself rather than from a value: the in-cluster service account (no
 * KUBECONFIG, the files at their standard path), and the Downward API for the pod's namespace, name and IP.
 */
const setByChart: Record<string, { env: string; fieldPath?: string }> = {
  kubeconfig: { env: 'KUBECONFIG' },
  // The kubelet mounts the ServiceAccount files at their standard path; only the lab moves them.
  inClusterRoot: { env: 'CERTROUTE_IN_CLUSTER_ROOT' },
  namespace: { env: 'CERTROUTE_NAMESPACE', fieldPath: 'metadata.namespace' },
  podName: { env: 'POD_NAME', fieldPath: 'metadata.name' },
  solverPodIP: { env: 'POD_IP', fieldPath: 'status.podIP' },
};

const allFlags = Object.entries(flags) as [string, FlagSpec][];
const valueFlags = allFlags.filter(([key]) => !(key in setByChart));

/** A value as the operator sees it in its environment variable (lists joined with commas). */
function asEnv(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

describe('Helm values cover every operator flag', () => {
  it('the exceptions are real flags', () => {
    for (const key of Object.keys(setByChart)) expect(Object.keys(flags)).toContain(key);
  });

  it.each(valueFlags)('config.%s exists, with the operator default', (key, spec) => {
    expect(values.config, `values.yaml has no config.${key} for --${spec.flag}`).toHaveProperty(
      key,
    );
    expect(asEnv(values.config[key]), `config.${key} differs from --${spec.flag}'s default`).toBe(
      spec.default ?? '',
    );
  });

  it('config holds no value without a flag, and none of the chart-set ones', () => {
    const valueKeys = new Set(valueFlags.map(([k]) => k));
    expect(Object.keys(values.config).filter((k) => !valueKeys.has(k))).toEqual([]);
  });

  it.each(valueFlags)(
    'the Deployment passes config.%s as its environment variable',
    (key, spec) => {
      const entry = new RegExp(
        `- name: ${spec.env}\\n\\s+value: \\{\\{[^}]*\\.Values\\.config\\.${key}\\b[^}]*\\}\\}`,
      );
      expect(deployment).toMatch(entry);
    },
  );

  it('the Deployment sets the namespace, pod name and pod IP from the Downward API, no KUBECONFIG', () => {
    for (const { env, fieldPath } of Object.values(setByChart)) {
      if (fieldPath)
        expect(deployment).toMatch(
          new RegExp(
            `- name: ${env}\\n\\s+valueFrom:\\n\\s+fieldRef:\\n\\s+fieldPath: ${fieldPath}`,
          ),
        );
      else expect(deployment).not.toContain(`name: ${env}`);
    }
  });

  it('every environment variable the Deployment sets belongs to a flag (or is AWS_REGION or NODE_OPTIONS)', () => {
    const envs = new Set(allFlags.map(([, s]) => s.env));
    const set = [...deployment.matchAll(/- name: ([A-Z_]+)\n/g)].map((m) => m[1] ?? '');
    const runtime = new Set(['AWS_REGION', 'NODE_OPTIONS']);
    expect(set.filter((e) => !envs.has(e) && !runtime.has(e))).toEqual([]);
  });
});

describe('values.schema.json', () => {
  it('rejects unknown keys at the top level and under config', () => {
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.config.additionalProperties).toBe(false);
  });

  it('has a property for exactly the config values', () => {
    expect(Object.keys(schema.properties.config.properties).sort()).toEqual(
      valueFlags.map(([k]) => k).sort(),
    );
  });

  it.each(valueFlags.filter(([, s]) => s.schema instanceof z.ZodEnum))(
    'config.%s allows exactly the flag’s choices',
    (key, spec) => {
      const options = (spec.schema as z.ZodEnum).options;
      expect(schema.properties.config.properties[key]?.enum).toEqual(options);
    },
  );
});

describe('docs/helm.md', () => {
  it.each(valueFlags)('documents config.%s', (key) => {
    expect(helmDoc).toContain(`\`config.${key}\``);
  });
});

/**
 * Every value path in values.yaml, outside `config`, down to the first one docs/helm.md names
 * in backticks (a row may describe a whole object, like `resources`); a path with no such row
 * on the way is returned as undocumented.
 */
function undocumented(obj: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(obj)) {
    const path = `${prefix}${key}`;
    if (path === 'config' || helmDoc.includes(`\`${path}\``)) continue;
    const nested = v !== null && typeof v === 'object' && !Array.isArray(v);
    if (nested && Object.keys(v).length > 0)
      out.push(...undocumented(v as Record<string, unknown>, `${path}.`));
    else out.push(path);
  }
  return out;
}

describe('every value, not only config', () => {
  it('has a row in docs/helm.md', () => {
    expect(undocumented(values as Record<string, unknown>)).toEqual([]);
  });

  it('has a schema property, and the schema has no property without a value', () => {
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(values).sort());
  });
});

describe('crds.install', () => {
  const parent = parse(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as {
    dependencies?: { name: string; version: string; condition?: string }[];
  };
  const sub = parse(readFileSync(join(chart, 'charts', 'crds', 'Chart.yaml'), 'utf8')) as {
    name: string;
    version: string;
  };

  it('is the condition of the local crds subchart, on by default', () => {
    expect(parent.dependencies).toEqual([
      { name: sub.name, version: sub.version, condition: 'crds.install' },
    ]);
    expect((values as { crds?: { install?: boolean } }).crds?.install).toBe(true);
  });

  it("the subchart's crds/ is the repository's crds/ (a symlink, not a copy)", () => {
    expect(realpathSync(join(chart, 'charts', 'crds', 'crds'))).toBe(
      realpathSync(join(repoRoot, 'crds')),
    );
  });
});
