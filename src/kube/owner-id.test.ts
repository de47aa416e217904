import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { derivedOwnerId, resolveOwnerId } from './owner-id.js';

const uid = '6f1c2a4e-9b0d-4c1e-8a53-2f3b7d9e0c11';

function logger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void => {
      lines.push({ level, obj, msg });
    };
  return { lines, log: { info: at('info'), warn: at('warn') } as never };
}

/** A kubeconfig pointing nowhere: any API call fails. */
function unreachable(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

describe('owner id', () => {
  it('derives cluster-<kube-system uid>, within the flag pattern', () => {
    const id = derivedOwnerId(uid.toUpperCase());
    expect(id).toBe(`cluster-${uid}`);
    expect(id.length).toBeLessThanOrEqual(63);
    expect(parseConfig([`--owner-id=${id}`], {}).ownerId).toBe(id);
  });

  it('defaults to empty (derive), and accepts no shared default', () => {
    expect(parseConfig([], {}).ownerId).toBe('');
  });

  it('a given id is used as it is, without an API call, and logged', async () => {
    const { lines, log } = logger();
    const config = parseConfig(['--owner-id=prod-eu-1'], {});
    expect((await resolveOwnerId(config, unreachable(), log)).ownerId).toBe('prod-eu-1');
    expect(lines).toMatchObject([{ level: 'info', obj: { ownerId: 'prod-eu-1' } }]);
  });

  it('warns about the old shared default "default"', async () => {
    const { lines, log } = logger();
    const config = parseConfig(['--owner-id=default'], {});
    expect((await resolveOwnerId(config, unreachable(), log)).ownerId).toBe('default');
    expect(lines[0]?.level).toBe('warn');
    expect(lines[0]?.msg).toContain('old shared default');
  });

  it('empty and kube-system unreadable: a clear error naming the flag and the permission', async () => {
    const { log } = logger();
    await expect(resolveOwnerId(parseConfig([], {}), unreachable(), log)).rejects.toThrow(
      /set --owner-id, or grant get on namespaces\/kube-system/,
    );
  });
});
