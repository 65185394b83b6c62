import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from './api';
import {
  automatedSyncDecision,
  backoffStep,
  durationMs,
  retryPolicy,
  SELF_HEAL_BACKOFF,
  syncWindowHold,
} from './autosync';
import { Comparison } from './compare';

const source = { repoURL: 'git://x/r.git', path: '.' };
const app = (syncPolicy: object, operationState?: object): App =>
  ({
    metadata: { name: 'a', namespace: 'n' },
    spec: { project: 'default', source, destination: { name: 'in-cluster' }, syncPolicy },
    status: operationState ? { operationState } : {},
  }) as unknown as App;
const cmp = (status: 'Synced' | 'OutOfSync', revision = 'r2'): Comparison => ({
  revisions: [revision],
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
const finished = (phase: string, msAgo: number, revision = 'r2', retryCount?: number) => ({
  phase,
  message: 'boom',
  finishedAt: new Date(Date.now() - msAgo).toISOString(),
  syncResult: { revision, source },
  ...(retryCount ? { retryCount } : {}),
});

test('no automated policy, or Synced: nothing to do', () => {
  assert.equal(automatedSyncDecision(app({}), cmp('OutOfSync')), undefined);
  assert.equal(automatedSyncDecision(app({ automated: {} }), cmp('Synced')), undefined);
});

test('a new revision syncs; the same revision again only with self-heal', () => {
  assert.deepEqual(
    automatedSyncDecision(
      app({ automated: { prune: true } }, finished('Succeeded', 10, 'r1')),
      cmp('OutOfSync'),
    ),
    {
      manual: false,
      prune: true,
      dryRun: false,
      initiatedBy: { automated: true },
    },
  );
  assert.equal(
    automatedSyncDecision(app({ automated: {} }, finished('Succeeded', 10)), cmp('OutOfSync')),
    undefined,
  );
  const heal = automatedSyncDecision(
    app({ automated: { selfHeal: true } }, finished('Succeeded', 10)),
    cmp('OutOfSync'),
  );
  assert.equal((heal as { selfHeal?: boolean }).selfHeal, true, 'first heal at once');
  assert.deepEqual(
    (heal as { resources?: unknown }).resources,
    [{ kind: 'ConfigMap', name: 'c', namespace: 'n' }],
    'as Argo CD, a self-heal syncs only what is not Synced',
  );
  const wait = automatedSyncDecision(
    app({ automated: { selfHeal: true } }, finished('Succeeded', 500)),
    cmp('OutOfSync'),
    1,
  );
  assert.ok((wait as { waitMs: number }).waitMs > 1000, 'second heal waits for the 2 s backoff');
});

test('a failed revision is retried with backoff, then reported', () => {
  const policy = {
    automated: {},
    retry: { limit: 2, backoff: { duration: '1s', factor: 2, maxDuration: '1m' } },
  };
  assert.ok(
    'waitMs' in (automatedSyncDecision(app(policy, finished('Failed', 100)), cmp('OutOfSync')) ?? {}),
  );
  assert.equal(
    (automatedSyncDecision(app(policy, finished('Failed', 1500)), cmp('OutOfSync')) as { retryCount: number })
      .retryCount,
    1,
  );
  const gaveUp = automatedSyncDecision(app(policy, finished('Failed', 60_000, 'r2', 2)), cmp('OutOfSync'));
  assert.match(
    (gaveUp as { skipReason: string }).skipReason,
    /Failed sync attempt to r2: boom \(retried 2 times\)/,
  );
});

test('allowEmpty false refuses an automated sync that would prune everything', () => {
  const empty: Comparison = {
    ...cmp('OutOfSync'),
    resources: [{ ...cmp('OutOfSync').resources[0], target: undefined, requiresPruning: true }],
  };
  assert.match(
    (automatedSyncDecision(app({ automated: { prune: true } }), empty) as { skipReason: string }).skipReason,
    /allowEmpty/,
  );
});

test('backoff and duration helpers', () => {
  assert.deepEqual(
    [0, 1, 2, 10].map((n) => backoffStep(SELF_HEAL_BACKOFF, n)),
    [2000, 6000, 18000, 300000],
  );
  assert.equal(durationMs('1m30s', 0), 90_000);
  assert.equal(durationMs('bogus', 7), 7);
  assert.deepEqual(retryPolicy(app({ automated: {} })).limit, 5);
});

test('sync windows hold automated syncs, manual ones unless manualSync, and running ones unless syncOverrun', () => {
  const a = app({ automated: {} });
  const now = Date.parse('2026-01-10T22:15:00Z');
  const deny = { kind: 'deny', schedule: '0 22 * * *', duration: '1h', applications: ['a'] };
  const hold = syncWindowHold([deny], a, { manual: false, now });
  assert.ok(hold);
  assert.equal(hold.waitMs, 45 * 60_000);
  assert.match(
    hold.message,
    /^Automated sync is blocked by sync window: deny window 0 .* is active; syncs are allowed again at 2026-01-10T23:00:00Z$/,
  );
  assert.match(syncWindowHold([deny], a, { manual: true, now })!.message, /^Manual sync is blocked/);
  assert.equal(syncWindowHold([{ ...deny, manualSync: true }], a, { manual: true, now }), undefined);
  assert.match(
    syncWindowHold([deny], a, { manual: false, running: true, now })!.message,
    /^Sync operation is blocked/,
  );
  assert.equal(
    syncWindowHold([{ ...deny, syncOverrun: true }], a, { manual: false, running: true, now }),
    undefined,
  );
  assert.equal(
    syncWindowHold([deny], a, { manual: false, now: Date.parse('2026-01-10T23:00:00Z') }),
    undefined,
  );
  assert.equal(syncWindowHold([{ ...deny, applications: ['other'] }], a, { manual: false, now }), undefined);
  assert.equal(syncWindowHold(undefined, a, { manual: false, now }), undefined);
});

test('a self-heal selects the resources that are not Synced (missing, differing, to prune), never the Synced', () => {
  const base = cmp('OutOfSync');
  const res = (name: string, status: 'Synced' | 'OutOfSync', extra: object = {}) => ({
    ...base.resources[0],
    name,
    status,
    ...extra,
  });
  const heal = automatedSyncDecision(app({ automated: { selfHeal: true } }, finished('Succeeded', 10)), {
    ...base,
    resources: [
      res('in-sync', 'Synced'),
      res('drifted', 'OutOfSync'),
      res('gone-from-git', 'OutOfSync', { requiresPruning: true, target: undefined }),
      { ...res('role', 'OutOfSync'), group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', namespace: '' },
    ],
  });
  assert.deepEqual((heal as { resources?: unknown }).resources, [
    { kind: 'ConfigMap', name: 'drifted', namespace: 'n' },
    { kind: 'ConfigMap', name: 'gone-from-git', namespace: 'n' },
    { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'role' },
  ]);
  const sync = automatedSyncDecision(
    app({ automated: { selfHeal: true } }, finished('Succeeded', 10, 'r1')),
    base,
  );
  assert.equal((sync as { resources?: unknown }).resources, undefined, 'a new revision syncs everything');
});
