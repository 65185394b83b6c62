import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagedResource } from './resource';
import { currentStep, resultOf, stepSync } from './engine';
import { KubeObject } from '../kube/object';
import { planSync, SyncTask, wavesOf } from './plan';
import { ResourceResult, SyncDeps } from './sync';

const res = (kind: string, name: string, annotations: Record<string, string> = {}): ManagedResource => ({
  group: '',
  version: 'v1',
  kind,
  namespace: 'ns',
  name,
  status: 'OutOfSync',
  target: { apiVersion: 'v1', kind, metadata: { name, annotations } },
});

const hook = (name: string, type: string, generateName = false): ManagedResource => {
  const r = res('Job', name, { 'argocd.argoproj.io/hook': type });
  if (generateName) {
    r.name = '';
    r.target!.metadata = { generateName: name, annotations: r.target!.metadata.annotations };
  }
  return r;
};

const line = (
  kind: string,
  name: string,
  syncPhase: string,
  extra: Partial<ResourceResult> = {},
): ResourceResult => ({
  group: '',
  version: 'v1',
  kind,
  namespace: 'ns',
  name,
  status: 'Synced',
  message: '',
  syncPhase,
  ...extra,
});

function steps(tasks: SyncTask[]): SyncTask[][] {
  return (['PreSync', 'Sync', 'PostSync'] as const).flatMap((p) => wavesOf(tasks, p));
}

const plan = () =>
  planSync(
    [res('ConfigMap', 'a'), res('ConfigMap', 'b', { 'argocd.argoproj.io/sync-wave': '2' })],
    [
      { resource: hook('pre', 'PreSync'), types: ['PreSync'] },
      { resource: hook('post-', 'PostSync', true), types: ['PostSync'] },
    ],
  );

test('a fresh operation starts at the first step', () => {
  assert.equal(currentStep(steps(plan()), []), 0);
});

test('the current step is the last one with a result line (a resumed operation skips finished waves)', () => {
  const s = steps(plan());
  // PreSync hook, Sync wave 0 (a), Sync wave 2 (b), PostSync hook.
  assert.equal(s.length, 4);
  const results = [
    line('Job', 'pre', 'PreSync', { hookType: 'PreSync', hookPhase: 'Succeeded' }),
    line('ConfigMap', 'a', 'Sync'),
  ];
  assert.equal(currentStep(s, results), 1);
  results.push(line('ConfigMap', 'b', 'Sync'));
  assert.equal(currentStep(s, results), 2);
});

test('a generateName hook is matched to its recorded line by prefix, phase and hook type', () => {
  const s = steps(plan());
  const post = s[3][0];
  assert.equal(
    resultOf(post, [line('Job', 'post-x7k2p', 'PostSync', { hookType: 'PostSync' })])?.name,
    'post-x7k2p',
  );
  assert.equal(resultOf(post, [line('Job', 'post-x7k2p', 'Sync', { hookType: 'Sync' })]), undefined);
  assert.equal(resultOf(post, [line('Job', 'other', 'PostSync', { hookType: 'PostSync' })]), undefined);
});

test('a resource line never matches a hook of the same name, nor the other way round', () => {
  const tasks = planSync([res('Job', 'same')], [{ resource: hook('same', 'PreSync'), types: ['PreSync'] }]);
  const [pre, sync] = steps(tasks);
  const resourceLine = line('Job', 'same', 'Sync');
  assert.equal(resultOf(sync[0], [resourceLine]), resourceLine);
  assert.equal(resultOf(pre[0], [resourceLine]), undefined);
});

describe('a wave that applied an Application on an app-of-apps cycle (healthyApps)', () => {
  // capstan's sync applied root in wave 0; root's health waits for capstan's sync to end (the cycle).
  const app = (name: string, wave: string): ManagedResource => ({
    group: 'argoproj.io',
    version: 'v1alpha1',
    kind: 'Application',
    namespace: 'capstan',
    name,
    status: 'OutOfSync',
    target: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: 'capstan', annotations: { 'argocd.argoproj.io/sync-wave': wave } },
    },
  });
  const rootLive = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'root', namespace: 'capstan' },
    status: { operationState: { phase: 'Running', message: 'waiting for Application/capstan' } },
  };
  const deps = (applied: string[]): SyncDeps => ({
    client: {
      request: async (method: string, path: string, opts?: { body?: KubeObject }) => {
        if (method === 'GET' && path.endsWith('/applications/root')) return rootLive;
        if (method === 'PATCH') return (applied.push(path), opts?.body);
        return assert.fail(`unexpected ${method} ${path}`);
      },
    } as unknown as SyncDeps['client'],
    discovery: {
      resourceFor: async () => ({
        group: 'argoproj.io',
        version: 'v1alpha1',
        kind: 'Application',
        plural: 'applications',
        namespaced: true,
      }),
    } as unknown as SyncDeps['discovery'],
    log: { info() {}, warn() {}, error() {}, debug() {} } as unknown as SyncDeps['log'],
  });
  const tasks = () => planSync([app('root', '0'), app('guestbook', '1')], []);
  const rootLine = line('Application', 'root', 'Sync', { group: 'argoproj.io', namespace: 'capstan' });

  test('without it the wave waits for the ancestor (which waits for this sync: a deadlock)', async () => {
    const applied: string[] = [];
    const step = await stepSync(
      deps(applied),
      tasks(),
      { results: [rootLine] },
      { prune: true, operationId: 'c1' },
    );
    assert.equal(step.state, 'Running');
    assert.deepEqual(applied, []);
  });

  test('with it the ancestor counts as Healthy and the next wave is applied', async () => {
    const applied: string[] = [];
    const step = await stepSync(
      deps(applied),
      tasks(),
      { results: [rootLine] },
      { prune: true, operationId: 'c2', healthyApps: new Set(['capstan/root']) },
    );
    assert.equal(step.state, 'Done');
    assert.equal(applied.length, 1);
    assert.match(applied[0], /applications\/guestbook/);
  });
});
