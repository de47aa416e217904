import { describe, expect, it } from 'vitest';
import { parse } from './args.js';

describe('parse', () => {
  it.each<[string, string[], object]>([
    [
      'status, defaults',
      ['status'],
      { command: 'status', output: 'table', allNamespaces: false, positionals: [] },
    ],
    [
      'status of a host as JSON',
      ['status', 'www.example.test', '-o', 'json'],
      { positionals: ['www.example.test'], output: 'json' },
    ],
    ['status -A', ['status', '-A'], { allNamespaces: true }],
    [
      'an Ingress in a namespace',
      ['status', '-n', 'shop', 'web'],
      { namespace: 'shop', positionals: ['web'] },
    ],
    [
      'kubeconfig and context',
      ['explain', 'a.b', '--kubeconfig', '/k', '--context', 'c'],
      { kubeconfig: '/k', context: 'c' },
    ],
    ['renew --all', ['renew', '--all', '-n', 'shop'], { all: true, namespace: 'shop' }],
    [
      'check with its namespace',
      ['check', '--operator-namespace', 'ops'],
      { operatorNamespace: 'ops' },
    ],
    ['help for a command', ['inspect', '--help'], { command: 'inspect', help: true }],
    ['no command: help', [], { command: 'help' }],
    ['inspect secret', ['inspect', 'secret', 'web-tls'], { positionals: ['secret', 'web-tls'] }],
  ])('%s', (_n, argv, want) => {
    const r = parse(argv);
    expect(r.ok && r.args).toMatchObject(want);
  });

  it.each<[string, string[], string]>([
    ['an unknown command', ['statuz'], 'unknown command "statuz"'],
    ['an unknown flag', ['status', '--bogus'], "Unknown option '--bogus'"],
    ['a bad output', ['status', '-o', 'wide'], '-o must be table, json or yaml'],
    ['explain without a host', ['explain'], 'expected 1 argument(s), got 0'],
    ['renew with neither', ['renew'], 'give a Certificate name or --all'],
    ['renew with both', ['renew', 'x', '--all'], 'give a Certificate name or --all'],
    ['inspect something else', ['inspect', 'pod', 'x'], 'only "inspect secret NAME" exists'],
    ['completion for fish', ['completion', 'fish'], 'completion takes bash or zsh'],
    ['-n with -A', ['status', '-n', 'x', '-A'], '-n and -A exclude each other'],
    ['--all on another command', ['retry', '--all'], "Unknown option '--all'"],
  ])('%s: a usage error', (_n, argv, message) => {
    const r = parse(argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});
