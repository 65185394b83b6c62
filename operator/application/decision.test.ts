/** The decide and requeue steps of the Application reconcile (decision.ts), every kind of decision. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from './api';
import type { Comparison } from './compare';
import { decide, decisionConditions, requeueAfter } from './decision';

const source = { repoURL: 'https://git.example.com/r.git', path: '.', targetRevision: 'main' };
const app = (extra: Record<string, unknown> = {}, syncPolicy: Record<string, unknown> = {}): App =>
  ({
    metadata: { name: 'a', namespace: 'argocd' },
    spec: {
      project: 'default',
      source,
      destination: { server: 'https://kubernetes.default.svc', namespace: 'n' },
      syncPolicy,
    },
    ...extra,
  }) as unknown as App;
const cmp = (status: 'Synced' | 'OutOfSync'): Comparison => ({
  revisions: ['r2'],
  sourceTypes: ['Directory'],
  resources: [
    {
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      namespace: 'n',
      name: 'c',
      status,
      target: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
    },
  ],
  hooks: [],
  status,
});
const running = {
  operation: { sync: { revision: 'r2' }, initiatedBy: { automated: true } },
  phase: 'Running' as const,
  startedAt: '2026-01-01T00:00:00Z',
};
const denyAll = [{ kind: 'deny', schedule: '* * * * *', duration: '1h', applications: ['*'] }];

test('nothing to do: no automated policy, or Synced', () => {
  assert.deepEqual(decide(app(), cmp('OutOfSync'), { healAttempts: 0 }), { kind: 'none' });
  assert.deepEqual(decide(app({}, { automated: {} }), cmp('Synced'), { healAttempts: 0 }), { kind: 'none' });
});

test('an automated app OutOfSync starts an automated sync', () => {
  const d = decide(app({}, { automated: { prune: true } }), cmp('OutOfSync'), { healAttempts: 0 });
  assert.equal(d.kind, 'start');
  assert.ok(d.kind === 'start' && !d.request.manual && d.request.prune);
});

test('a manual operation starts, whatever the sync status', () => {
  const d = decide(
    app({ operation: { sync: { revision: 'main' }, initiatedBy: { username: 'me' } } }),
    cmp('Synced'),
    { healAttempts: 0 },
  );
  assert.ok(d.kind === 'start' && d.request.manual && d.request.revision === 'main');
});

test('a running operation continues (no new one is started meanwhile)', () => {
  const d = decide(
    app({ status: { operationState: running }, operation: { sync: {} } }, { automated: {} }),
    cmp('OutOfSync'),
    { healAttempts: 0 },
  );
  assert.deepEqual(d, { kind: 'continue', state: running });
});

test('a failed automated sync at the same revision waits, then is refused past its retry limit', () => {
  const failed = (retryCount: number, msAgo: number) => ({
    status: {
      operationState: {
        ...running,
        phase: 'Failed',
        message: 'boom',
        finishedAt: new Date(Date.now() - msAgo).toISOString(),
        syncResult: { revision: 'r2', source },
        retryCount,
      },
    },
  });
  const policy = { automated: {}, retry: { limit: 2 } };
  assert.equal(decide(app(failed(1, 10), policy), cmp('OutOfSync'), { healAttempts: 0 }).kind, 'wait');
  const refused = decide(app(failed(2, 10), policy), cmp('OutOfSync'), { healAttempts: 0 });
  assert.equal(refused.kind, 'refused');
  assert.deepEqual(
    decisionConditions(refused).map((c) => c.type),
    ['SyncError'],
  );
});

test('a sync window holds a new sync and a running one', () => {
  const held = decide(app({}, { automated: {} }), cmp('OutOfSync'), { healAttempts: 0, windows: denyAll });
  assert.equal(held.kind, 'held');
  assert.deepEqual(
    decisionConditions(held).map((c) => c.type),
    ['SyncWindowBlocked'],
  );
  const heldRunning = decide(app({ status: { operationState: running } }), cmp('OutOfSync'), {
    healAttempts: 0,
    windows: denyAll,
  });
  assert.equal(heldRunning.kind, 'held');
  // A deny window every minute never opens: no wait, the refresh looks again.
  assert.ok(heldRunning.kind === 'held' && heldRunning.waitMs === undefined);
});

test('requeue: a running operation when it asks, a failed automated one after its backoff, else the refresh', () => {
  const refresh = 120_000;
  assert.equal(
    requeueAfter(
      app(),
      { kind: 'continue', state: running },
      { state: running, requeueAfterMs: 1000 },
      refresh,
    ),
    1000,
  );
  const failed = { ...running, phase: 'Failed' as const, retryCount: 1 };
  assert.equal(requeueAfter(app(), { kind: 'none' }, { state: failed }, refresh), 10_000);
  assert.equal(requeueAfter(app(), { kind: 'wait', waitMs: 3000 }, undefined, refresh), 3000);
  assert.equal(requeueAfter(app(), { kind: 'held', message: 'x' }, undefined, refresh), refresh);
  assert.equal(requeueAfter(app(), { kind: 'none' }, undefined, refresh), refresh);
  const succeeded = { ...running, phase: 'Succeeded' as const };
  assert.equal(
    requeueAfter(app(), { kind: 'start', request: {} as never }, { state: succeeded }, refresh),
    refresh,
  );
});
