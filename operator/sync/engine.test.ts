import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagedResource } from './resource';
import { currentStep, resultOf, stepSync } from './engine';
import { KubeObject } from '../kube/object';
import { KubeApiError } from '../kube/client';
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

describe('BeforeHookCreation: the previous run of a hook is deleted without parking the worker', () => {
  const job = { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true };
  const previous = (deleting: boolean): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'migrate',
      namespace: 'ns',
      annotations: { 'capstan.dev/sync-operation': 'old-op' },
      ...(deleting ? { deletionTimestamp: '2026-11-29T00:00:00Z' } : {}),
    },
  });
  /** A cluster whose `migrate` Job is `live` (undefined: gone); records every write. */
  const deps = (cluster: { live?: KubeObject }, writes: string[]): SyncDeps => ({
    client: {
      request: async (method: string, path: string) => {
        if (method === 'GET' && path.endsWith('/jobs/migrate')) {
          if (cluster.live) return cluster.live;
          throw new KubeApiError(404, 'NotFound', 'jobs "migrate" not found');
        }
        if (method === 'DELETE' || method === 'PATCH') {
          writes.push(method);
          // The created Job runs (no status yet).
          if (method === 'PATCH') cluster.live = { ...previous(false), metadata: { name: 'migrate' } };
          return cluster.live ?? {};
        }
        return assert.fail(`unexpected ${method} ${path}`);
      },
    } as unknown as SyncDeps['client'],
    discovery: { resourceFor: async () => job } as unknown as SyncDeps['discovery'],
    log: { info() {}, warn() {}, error() {}, debug() {} } as unknown as SyncDeps['log'],
  });
  const tasks = () => {
    const h = hook('migrate', 'PreSync');
    h.group = 'batch';
    h.target = { ...h.target!, apiVersion: 'batch/v1', metadata: { ...h.target!.metadata, namespace: 'ns' } };
    return planSync([], [{ resource: h, types: ['PreSync'] }]);
  };

  test('delete, return Running; then wait on a later step; then create once it is gone', async () => {
    const writes: string[] = [];
    const cluster: { live?: KubeObject } = { live: previous(false) };
    const opts = { prune: true, operationId: 'new-op' };
    const first = await stepSync(deps(cluster, writes), tasks(), { results: [] }, opts);
    assert.equal(first.state, 'Running');
    assert.deepEqual(writes, ['DELETE'], 'the previous run is deleted, nothing created yet');
    assert.deepEqual(first.state === 'Running' && first.results, [], 'no line: the hook is not created');

    cluster.live = previous(true);
    const second = await stepSync(deps(cluster, writes), tasks(), { results: [] }, opts);
    assert.equal(second.state, 'Running', 'the old run is still there: still waiting');
    assert.deepEqual(writes, ['DELETE'], 'no second delete, no create while it is being deleted');

    cluster.live = undefined;
    const third = await stepSync(deps(cluster, writes), tasks(), { results: [] }, opts);
    assert.equal(third.state, 'Running', 'the new hook runs');
    assert.deepEqual(writes, ['DELETE', 'PATCH'], 'created by server-side apply once the old one is gone');
    const lines = third.state === 'Running' ? third.results : [];
    assert.equal(lines.length, 1);
    assert.equal(lines[0].hookPhase, 'Running');
  });
});
