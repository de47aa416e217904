import { describe, expect, it } from 'vitest';
import {
  controlledBy,
  controllerOf,
  describeOwner,
  isManaged,
  managedLabels,
  managedSelector,
  ownedByIngress,
  sameController,
  type Owned,
  type OwnerRef,
} from './ownership.js';

const withOwners = (...ownerReferences: OwnerRef[]): Owned => ({ metadata: { ownerReferences } });
const ingress = (uid: string): OwnerRef => ({
  uid,
  kind: 'Ingress',
  name: 'web',
  controller: true,
});

describe('managed by certroute', () => {
  it('is the label app.kubernetes.io/managed-by=certroute', () => {
    expect(managedLabels()).toEqual({ 'app.kubernetes.io/managed-by': 'certroute' });
    expect(managedSelector).toBe('app.kubernetes.io/managed-by=certroute');
  });

  it.each<[string, Owned, boolean]>([
    ['labelled', { metadata: { labels: managedLabels() } }, true],
    ['no labels', { metadata: {} }, false],
    ['no metadata', {}, false],
    [
      'another manager',
      { metadata: { labels: { 'app.kubernetes.io/managed-by': 'helm' } } },
      false,
    ],
  ])('%s -> %s', (_name, o, managed) => {
    expect(isManaged(o)).toBe(managed);
  });
});

describe('controllerOf', () => {
  it.each<[string, Owned, string | undefined]>([
    ['no owner references', {}, undefined],
    ['a controlling owner', withOwners(ingress('u1')), 'u1'],
    ['a non-controlling owner', withOwners({ uid: 'u1', controller: false }), undefined],
    [
      'the controlling one among several',
      withOwners({ uid: 'u1', kind: 'X', name: 'x' }, ingress('u2')),
      'u2',
    ],
  ])('%s', (_name, o, uid) => {
    expect(controllerOf(o)?.uid).toBe(uid);
  });
});

describe('owned by another', () => {
  it.each<[string, Owned, string | undefined, boolean]>([
    ['the same controller', withOwners(ingress('u1')), 'u1', true],
    ['another controller', withOwners(ingress('u2')), 'u1', false],
    ['no controller', {}, 'u1', false],
    ['no uid asked for', {}, undefined, false],
  ])('controlledBy: %s -> %s', (_name, o, uid, want) => {
    expect(controlledBy(o, uid)).toBe(want);
  });

  it('sameController compares the controllers, absent ones included', () => {
    expect(sameController(withOwners(ingress('a')), withOwners(ingress('a')))).toBe(true);
    expect(sameController(withOwners(ingress('a')), withOwners(ingress('b')))).toBe(false);
    expect(sameController({}, {})).toBe(true);
    expect(sameController({}, withOwners(ingress('a')))).toBe(false);
  });

  it('ownedByIngress only for an Ingress controller', () => {
    expect(ownedByIngress(withOwners(ingress('a')))).toBe(true);
    expect(ownedByIngress(withOwners({ uid: 'a', kind: 'Gateway', controller: true }))).toBe(false);
    expect(ownedByIngress({})).toBe(false);
  });

  it('names the owner, or says that nobody controls it', () => {
    expect(describeOwner(withOwners(ingress('a')))).toBe('Ingress/web');
    expect(describeOwner({})).toBe('nobody (created by hand)');
  });
});
