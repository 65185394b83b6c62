import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagedResource } from './resource';
import { planSync, wavesOf } from './plan';

const res = (
  kind: string,
  name: string,
  annotations: Record<string, string> = {},
  prune = false,
): ManagedResource => {
  const obj = { apiVersion: 'v1', kind, metadata: { name, annotations } };
  return {
    group: '',
    version: 'v1',
    kind,
    namespace: 'ns',
    name,
    status: 'OutOfSync',
    ...(prune ? { live: obj, requiresPruning: true } : { target: obj }),
  };
};

test('tasks run by phase, then wave, applies before prunes, kind order inside a wave', () => {
  const tasks = planSync(
    [
      res('Deployment', 'web', { 'argocd.argoproj.io/sync-wave': '1' }),
      res('ConfigMap', 'cfg'),
      res('Namespace', 'ns0'),
      res('ConfigMap', 'old', {}, true),
      res('Service', 'gone', { 'argocd.argoproj.io/sync-options': 'PruneLast=true' }, true),
    ],
    [
      { resource: res('Job', 'migrate', { 'argocd.argoproj.io/sync-wave': '-1' }), types: ['PreSync'] },
      { resource: res('Job', 'smoke'), types: ['PostSync', 'SyncFail'] },
      { resource: res('Job', 'cleanup'), types: ['PostDelete'] },
    ],
  );
  assert.deepEqual(
    tasks.map((t) => `${t.phase}/${t.wave}/${t.action}/${t.resource.name}`),
    [
      'PreSync/-1/hook/migrate',
      'Sync/0/apply/ns0',
      'Sync/0/apply/cfg',
      'Sync/0/prune/old',
      'Sync/1/apply/web',
      'Sync/2/prune/gone',
      'PostSync/0/hook/smoke',
      'SyncFail/0/hook/smoke',
    ],
  );
  assert.deepEqual(
    wavesOf(tasks, 'Sync').map((w) => w.map((t) => t.resource.name)),
    [['ns0', 'cfg', 'old'], ['web'], ['gone']],
  );
});

test('app-level PruneLast moves every prune after the last wave', () => {
  const tasks = planSync(
    [res('ConfigMap', 'a', { 'argocd.argoproj.io/sync-wave': '3' }), res('ConfigMap', 'old', {}, true)],
    [],
    {
      pruneLast: true,
    },
  );
  assert.deepEqual(
    tasks.map((t) => `${t.wave}/${t.action}`),
    ['3/apply', '4/prune'],
  );
});
