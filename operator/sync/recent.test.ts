/** The record of capstan's recent writes that the comparison reads before the live cache catches up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import { RecentWrites, olderVersion } from './recent';

const rt = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
} as ResourceType;
const cm = (rv: string, uid = 'u1', extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'n', uid, resourceVersion: rv, ...extra },
});

test('olderVersion compares numeric resourceVersions only', () => {
  assert.equal(olderVersion('9', '10'), true);
  assert.equal(olderVersion('10', '9'), false);
  assert.equal(olderVersion('10', '10'), false);
  assert.equal(olderVersion('abc', '10'), false);
  assert.equal(olderVersion(undefined, '10'), false);
});

test('a written object is seen until the cache holds it or a newer version, then the cache wins', () => {
  const w = new RecentWrites();
  assert.equal(w.resolve(rt, 'n', 'c', undefined), undefined);
  w.stored(rt, cm('10'));
  assert.equal(w.resolve(rt, 'n', 'c', undefined)?.metadata.resourceVersion, '10');
  assert.equal(w.resolve(rt, 'n', 'c', cm('9'))?.metadata.resourceVersion, '10', 'cache older: the write');
  assert.equal(w.resolve(rt, 'n', 'c', cm('11'))?.metadata.resourceVersion, '11', 'cache newer: the cache');
  assert.equal(w.size, 0, 'forgotten once the cache caught up');
});

test('a pruned object is gone until the cache shows its deletion', () => {
  const w = new RecentWrites();
  w.deleted(rt, 'n', 'c');
  assert.equal(w.resolve(rt, 'n', 'c', cm('10')), undefined);
  const marked = cm('11', 'u1', { deletionTimestamp: '2026-01-01T00:00:00Z' });
  assert.equal(w.resolve(rt, 'n', 'c', marked), marked);
});

test('a recreated object (another uid) is the write while the cache holds the old one', () => {
  const w = new RecentWrites();
  w.stored(rt, cm('20', 'u2'));
  assert.equal(w.resolve(rt, 'n', 'c', cm('30', 'u1'))?.metadata.uid, 'u2');
});

test('entries expire after the TTL and are bounded in number', () => {
  let now = 0;
  const w = new RecentWrites(1000, 2, () => now);
  w.stored(rt, cm('10'));
  now = 2000;
  assert.equal(w.resolve(rt, 'n', 'c', undefined), undefined);
  for (const name of ['a', 'b', 'c', 'd'])
    w.stored(rt, { ...cm('1'), metadata: { ...cm('1').metadata, name } });
  assert.ok(w.size <= 2);
});
