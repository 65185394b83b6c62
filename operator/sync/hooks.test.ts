import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyHook, hookDeletePolicies } from './hooks';
import { syncWave } from './waves';

const obj = (annotations: Record<string, string>) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'j', annotations },
});

test('Argo CD hook annotations, comma lists and Skip', () => {
  assert.deepEqual(classifyHook(obj({})), { kind: 'resource' });
  assert.deepEqual(classifyHook(obj({ 'argocd.argoproj.io/hook': 'PreSync' })), {
    kind: 'hook',
    types: ['PreSync'],
  });
  assert.deepEqual(classifyHook(obj({ 'argocd.argoproj.io/hook': 'PreSync, PostSync' })), {
    kind: 'hook',
    types: ['PreSync', 'PostSync'],
  });
  assert.deepEqual(classifyHook(obj({ 'argocd.argoproj.io/hook': 'Skip' })), { kind: 'skip' });
});

test('Helm hooks map as Argo CD documents; Argo CD annotation wins', () => {
  assert.deepEqual(classifyHook(obj({ 'helm.sh/hook': 'pre-install,pre-upgrade' })), {
    kind: 'hook',
    types: ['PreSync'],
  });
  assert.deepEqual(classifyHook(obj({ 'helm.sh/hook': 'post-install' })), {
    kind: 'hook',
    types: ['PostSync'],
  });
  assert.deepEqual(classifyHook(obj({ 'helm.sh/hook': 'crd-install' })), { kind: 'resource' });
  assert.deepEqual(classifyHook(obj({ 'helm.sh/hook': 'test' })), {
    kind: 'unsupported',
    helmHooks: ['test'],
  });
  assert.deepEqual(classifyHook(obj({ 'helm.sh/hook': 'pre-install', 'argocd.argoproj.io/hook': 'Sync' })), {
    kind: 'hook',
    types: ['Sync'],
  });
});

test('delete policies: Argo CD, then Helm, then BeforeHookCreation', () => {
  assert.deepEqual(hookDeletePolicies(obj({})), ['BeforeHookCreation']);
  assert.deepEqual(
    hookDeletePolicies(obj({ 'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded,HookFailed' })),
    ['HookSucceeded', 'HookFailed'],
  );
  assert.deepEqual(hookDeletePolicies(obj({ 'helm.sh/hook-delete-policy': 'hook-succeeded' })), [
    'HookSucceeded',
  ]);
});

test('waves: annotation, Helm hook weight fallback, default 0', () => {
  assert.equal(syncWave(obj({ 'argocd.argoproj.io/sync-wave': '-2' })), -2);
  assert.equal(syncWave(obj({ 'argocd.argoproj.io/sync-wave': 'x' })), 0);
  assert.equal(syncWave(obj({ 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '5' })), 5);
  assert.equal(syncWave(obj({ 'helm.sh/hook-weight': '5' })), 0);
  assert.equal(syncWave(obj({})), 0);
});
