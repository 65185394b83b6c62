import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchTask, batchesOf, syncWave } from './waves';

const apply = (kind: string, name = kind.toLowerCase()): BatchTask & { name: string } => ({
  action: 'apply',
  resource: { kind },
  name,
});
const names = (batches: Array<Array<{ name: string }>>): string[][] =>
  batches.map((b) => b.map((t) => t.name));

test('batchesOf: a barrier kind ends its batch; other applies share a batch with what follows', () => {
  const wave = ['ServiceAccount', 'ConfigMap', 'Role', 'Service', 'Deployment'].map((k) => apply(k));
  assert.deepEqual(names(batchesOf(wave)), [
    ['serviceaccount'],
    ['configmap', 'role'],
    ['service', 'deployment'],
  ]);
});

test('batchesOf: objects of one barrier kind run together, then everything after them', () => {
  const wave = [
    apply('Namespace', 'ns-a'),
    apply('Namespace', 'ns-b'),
    apply('CustomResourceDefinition', 'crd'),
    apply('Widget', 'w1'),
    apply('Widget', 'w2'),
  ];
  assert.deepEqual(names(batchesOf(wave)), [['ns-a', 'ns-b'], ['crd'], ['w1', 'w2']]);
});

test('batchesOf: prunes and hooks run one at a time, in plan order', () => {
  const wave = [
    apply('ConfigMap', 'a'),
    apply('Secret', 'b'),
    { action: 'hook' as const, resource: { kind: 'Job' }, name: 'hook' },
    { action: 'prune' as const, resource: { kind: 'Deployment' }, name: 'p1' },
    { action: 'prune' as const, resource: { kind: 'Service' }, name: 'p2' },
  ];
  assert.deepEqual(names(batchesOf(wave)), [['a', 'b'], ['hook'], ['p1'], ['p2']]);
  assert.deepEqual(batchesOf([]), []);
});

test('syncWave: annotation, Helm hook weight, default 0', () => {
  const obj = (annotations: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x', annotations },
  });
  assert.equal(syncWave(obj({ 'argocd.argoproj.io/sync-wave': '-2' })), -2);
  assert.equal(syncWave(obj({ 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '5' })), 5);
  assert.equal(syncWave(obj({ 'argocd.argoproj.io/sync-wave': 'x' })), 0);
});
