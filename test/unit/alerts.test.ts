import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { bin, repoRoot } from '../lab/paths.js';

// The alert rules, their promtool unit tests, the runbooks and the Grafana dashboard are docs,
// but they are shipped (the Helm chart reads the rules and the dashboard), so they are checked
// like code: promtool parses and tests the rules, and every metric they use must be documented.

const RULES = 'docs/alerts/certroute.rules.yaml';
const RULE_TESTS = 'docs/alerts/certroute.rules.test.yaml';
const RUNBOOKS = 'docs/runbooks.md';
const DASHBOARD = 'docs/dashboards/certroute.json';
const METRICS_DOC = 'docs/metrics.md';
const RUNBOOK_BASE = 'https://github.com/certroute/certroute/blob/main/docs/runbooks.md#';

/** Metrics from outside certroute that the rules may use. */
const FOREIGN_METRICS = new Set(['up']);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

function alertRules(): Rule[] {
  const doc = parse(read(RULES)) as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

/** `certroute_*` names in the tables of docs/metrics.md, with their type. */
function documentedMetrics(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of read(METRICS_DOC).split('\n')) {
    const m = /^\|\s*`(certroute_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|/.exec(
      line,
    );
    if (m?.[1] && m[2]) out.set(m[1], m[2]);
  }
  return out;
}

/** Metric names in a PromQL expression: certroute's own, plus any listed foreign ones. */
function metricsIn(expr: string): string[] {
  const names = [...expr.matchAll(/\b(certroute_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? '');
  for (const f of FOREIGN_METRICS) if (new RegExp(`\\b${f}\\s*[{(]`).test(expr)) names.push(f);
  return names;
}

/** Why a metric name is not documented, or undefined when it is (histogram series included). */
function undocumented(name: string, documented: Map<string, string>): string | undefined {
  if (documented.has(name) || FOREIGN_METRICS.has(name)) return undefined;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base !== name && documented.get(base) === 'histogram') return undefined;
  return `${name} is not in a table of ${METRICS_DOC}`;
}

/** GitHub's anchor for a Markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

function promtool(args: string[]) {
  const r = spawnSync(bin.promtool(), args, { cwd: repoRoot, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, error: r.error };
}

beforeAll(() => {
  // `npm test` installs the lab first; `npm run test:unit` alone may find no promtool yet.
  if (!existsSync(bin.promtool()))
    execFileSync('bash', [join(repoRoot, 'scripts', 'lab-install.sh'), 'promtool'], {
      stdio: 'inherit',
    });
}, 300_000);

describe('alert rules (promtool)', () => {
  it('pass promtool check rules', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.error).toBeUndefined();
    expect(r.out).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(r.status, r.out).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const r = promtool(['test', 'rules', RULE_TESTS]);
    expect(r.error).toBeUndefined();
    expect(r.out).toContain('SUCCESS');
    expect(r.out).not.toContain('FAILED');
    expect(r.status, r.out).toBe(0);
  });
});

describe('alert rules (contents)', () => {
  const rules = alertRules();
  const names = rules.map((r) => r.alert ?? '');

  it('include the alerts the product promises', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'CertificateExpiringSoon',
        'CertificateExpiresIn3Days',
        'CertificateNotReady',
        'CertificateRenewalFailing',
        'IngressTLSSecretExpiringSoon',
        'DNSSyncFailing',
        'ACMEIssuerNotReady',
        'CertrouteOperatorAbsent',
        'CertrouteNoLeader',
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(names)('%s has a severity, summary, description and runbook link', (name) => {
    const rule = rules.find((r) => r.alert === name);
    expect(['warning', 'critical']).toContain(rule?.labels?.severity);
    expect(rule?.annotations?.summary?.trim()).toBeTruthy();
    expect(rule?.annotations?.description?.trim()).toBeTruthy();
    expect(rule?.annotations?.runbook_url).toBe(RUNBOOK_BASE + name.toLowerCase());
  });

  it('have a runbook section each, with kubectl commands', () => {
    const sections = new Map<string, string>();
    for (const part of read(RUNBOOKS).split(/^## /m).slice(1)) {
      const [heading = '', ...body] = part.split('\n');
      sections.set(anchor(heading), body.join('\n'));
    }
    for (const name of names) {
      const body = sections.get(name.toLowerCase());
      expect(body, `no "## ${name}" section in ${RUNBOOKS}`).toBeDefined();
      expect(body, `${name}: no kubectl command`).toMatch(/kubectl /);
    }
  });

  it('are each tested at least once firing and once not firing', () => {
    const doc = parse(read(RULE_TESTS)) as {
      rule_files: string[];
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    expect(doc.rule_files).toEqual(['certroute.rules.yaml']);
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of names) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(mine.length, name).toBeGreaterThanOrEqual(2);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} never fires`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} never checked quiet`,
      ).toBe(true);
    }
    // The file names each alert in its tests, and not only in exp_alerts shared by anchors.
    const text = read(RULE_TESTS);
    for (const name of names)
      expect(text.split(`alertname: ${name}\n`).length - 1, name).toBeGreaterThanOrEqual(2);
  });

  it('use only documented metrics', () => {
    const documented = documentedMetrics();
    const problems = rules
      .flatMap((r) => metricsIn(r.expr))
      .map((m) => undocumented(m, documented))
      .filter((p) => p !== undefined);
    expect(problems).toEqual([]);
  });
});

interface Panel {
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, ...t })));
  const exprs = targets.map((t) => t.expr ?? '');

  it('takes its data source from the ${datasource} variable', () => {
    const v = dashboard.templating.list.find((t) => t.name === 'datasource');
    expect(v).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of panels.filter((x) => x.type !== 'row'))
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
    for (const t of targets) expect(t.datasource?.uid, t.panel.title).toBe('${datasource}');
  });

  it('uses only documented metrics', () => {
    const documented = documentedMetrics();
    expect(exprs.length).toBeGreaterThan(0);
    const problems = exprs
      .flatMap(metricsIn)
      .map((m) => undocumented(m, documented))
      .filter((p) => p !== undefined);
    expect(problems).toEqual([]);
  });

  it('covers expiry, issuance, DNS, API calls and queues', () => {
    const used = new Set(exprs.flatMap(metricsIn));
    for (const m of [
      'certroute_certificate_expiration_timestamp_seconds',
      'certroute_tls_secret_expiration_timestamp_seconds',
      'certroute_acme_orders_total',
      'certroute_certificate_failed_attempts',
      'certroute_dns_changes_total',
      'certroute_aws_api_calls_total',
      'certroute_acme_requests_total',
      'certroute_workqueue_depth',
    ])
      expect(used, m).toContain(m);
  });

  it('has queries Prometheus can parse', () => {
    // promtool parses PromQL when it checks rules: wrap each query in a recording rule, with
    // Grafana's variables replaced by values Prometheus accepts.
    const rules = exprs.map((expr, i) => ({
      record: `dashboard:query_${i}`,
      expr: expr
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$__interval', '1m')
        .replaceAll('$__range', '1h')
        .replaceAll('$job', '.*'),
    }));
    expect(
      rules.every((r) => !r.expr.includes('$')),
      'unknown Grafana variable',
    ).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'certroute-dashboard-'));
    try {
      const file = join(dir, 'dashboard.rules.yaml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = promtool(['check', 'rules', file]);
      expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.status, r.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
