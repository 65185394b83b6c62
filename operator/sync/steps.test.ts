import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../kube/client';
import { KubeObject } from '../kube/object';
import { ResourceType } from '../kube/discovery';
import { stepSync } from './engine';
import { planSync } from './plan';
import { ManagedResource } from './resource';
import {
  MSG_CRD_NOT_ESTABLISHED,
  deletingMessage,
  established,
  finishedLine,
  isPending,
  pendingLine,
  stageOf,
  timedOut,
} from './steps';
import { ResourceResult, SyncDeps, resultLine } from './sync';

const T0 = Date.parse('2026-11-29T12:00:00Z');

describe('pending step lines', () => {
  const base = resultLine(
    { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'x' },
    'Synced',
    'configmap/x created',
  );

  test('a pending line is Running with its start; finished, both marks are gone', () => {
    const p = pendingLine(base, 'configmap/x created', T0);
    assert.ok(isPending(p));
    assert.equal(p.startedAt, '2026-11-29T12:00:00.000Z');
    const done = finishedLine(p);
    assert.ok(!isPending(done));
    assert.deepEqual(done, base);
  });

  test('a hook line is never a pending apply, nor a finished line', () => {
    assert.ok(!isPending({ ...base, hookType: 'PreSync', hookPhase: 'Running' }));
    assert.ok(!isPending(base));
    assert.ok(!isPending(undefined));
    // gitops-engine marks resource lines Running too; without capstan's start they are finished applies.
    assert.ok(!isPending({ ...base, hookPhase: 'Running' }));
  });

  test('the stage is read from the message: deleting for a Force replace, else establishing', () => {
    assert.equal(stageOf(pendingLine(base, deletingMessage(base), T0)), 'deleting');
    assert.equal(stageOf(pendingLine(base, 'customresourcedefinition/x created', T0)), 'establishing');
  });

  test('timeouts are measured from startedAt; a line without a start times out', () => {
    const p = pendingLine(base, 'm', T0);
    assert.equal(timedOut(p, 60_000, T0 + 60_000), false);
    assert.equal(timedOut(p, 60_000, T0 + 60_001), true);
    assert.equal(timedOut({ ...p, startedAt: undefined }, 60_000, T0), true);
  });

  test('Established is the condition Established=True', () => {
    const crd = (status: string): KubeObject => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'x' },
      status: {
        conditions: [
          { type: 'NamesAccepted', status: 'True' },
          { type: 'Established', status },
        ],
      },
    });
    assert.equal(established(crd('True')), true);
    assert.equal(established(crd('False')), false);
    assert.equal(established(undefined), false);
  });
});

const CRD_RT: ResourceType = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
};
const WIDGET_RT: ResourceType = {
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};
const CM_RT: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};

const crdObject = (): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: { group: 'example.com', versions: [{ name: 'v1' }] },
});

const managed = (obj: KubeObject, group: string, wave: string, syncOptions?: string): ManagedResource => {
  const annotations: Record<string, string> = { 'argocd.argoproj.io/sync-wave': wave };
  if (syncOptions) annotations['argocd.argoproj.io/sync-options'] = syncOptions;
  const target = { ...obj, metadata: { ...obj.metadata, annotations } };
  return {
    group,
    version: obj.apiVersion.split('/').pop() ?? 'v1',
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
    status: 'OutOfSync',
    target,
  };
};

/**
 * A fake API server: `objects` by path; PATCH (server-side apply) and POST store the body (a stored CRD
 * gets `crdStatus`), DELETE removes unless `finalizer` keeps the object (then it is marked deleting).
 */
class Cluster {
  objects = new Map<string, KubeObject>();
  calls: string[] = [];
  invalidated: string[] = [];
  crdStatus: unknown = undefined;
  finalizer = false;

  deps(): SyncDeps {
    return {
      client: {
        request: async (method: string, path: string, opts?: { body?: KubeObject }) => {
          this.calls.push(`${method} ${path}`);
          const name = path.split('?')[0];
          if (method === 'GET') {
            const o = this.objects.get(name);
            if (!o) throw new KubeApiError(404, 'NotFound', `${name} not found`);
            return o;
          }
          if (method === 'PATCH') {
            const stored = {
              ...opts!.body!,
              ...(name.includes('customresourcedefinitions') ? { status: this.crdStatus } : {}),
            };
            this.objects.set(name, stored);
            return stored;
          }
          if (method === 'POST') {
            const full = `${name}/${opts!.body!.metadata.name}`;
            if (this.objects.has(full))
              throw new KubeApiError(409, 'AlreadyExists', `${full} already exists`);
            this.objects.set(full, opts!.body!);
            return opts!.body!;
          }
          if (method === 'DELETE') {
            const o = this.objects.get(name);
            if (!o) throw new KubeApiError(404, 'NotFound', `${name} not found`);
            if (this.finalizer)
              this.objects.set(name, { ...o, metadata: { ...o.metadata, deletionTimestamp: 'x' } });
            else this.objects.delete(name);
            return {};
          }
          return assert.fail(`unexpected ${method} ${path}`);
        },
      } as unknown as SyncDeps['client'],
      discovery: {
        resourceFor: async (_apiVersion: string, kind: string) =>
          kind === 'CustomResourceDefinition' ? CRD_RT : kind === 'Widget' ? WIDGET_RT : CM_RT,
        invalidate: (gv: string) => this.invalidated.push(gv),
      } as unknown as SyncDeps['discovery'],
      log: { info() {}, warn() {}, error() {}, debug() {} } as unknown as SyncDeps['log'],
    };
  }
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com';
const ESTABLISHED = { conditions: [{ type: 'Established', status: 'True' }] };

describe('a CRD is a pending step until Established: the worker never polls it', () => {
  const widget: KubeObject = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'ns' },
  };
  const tasks = (crdWave = '0') =>
    planSync(
      [managed(crdObject(), 'apiextensions.k8s.io', crdWave), managed(widget, 'example.com', '1')],
      [],
    );

  test('apply, one check, Running; a later step sees it Established and applies the custom resource', async () => {
    const c = new Cluster();
    const opts = { prune: true, operationId: 'op1', now: () => T0 };
    const first = await stepSync(c.deps(), tasks(), { results: [] }, opts);
    assert.equal(first.state, 'Running');
    assert.deepEqual(
      c.calls.map((x) => x.split(' ')[0]),
      ['PATCH', 'GET'],
      'applied, then checked once: no polling',
    );
    const lines = first.state === 'Running' ? first.results : [];
    assert.equal(lines.length, 1);
    assert.ok(isPending(lines[0]));
    assert.equal(lines[0].startedAt, new Date(T0).toISOString());
    assert.equal(
      lines[0].message,
      'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created',
    );

    // Still not Established a second later: one GET, nothing else, still Running.
    c.calls = [];
    const second = await stepSync(c.deps(), tasks(), { results: lines }, { ...opts, now: () => T0 + 1_000 });
    assert.equal(second.state, 'Running');
    assert.deepEqual(c.calls, [`GET ${CRD_PATH}`]);

    c.calls = [];
    c.objects.set(CRD_PATH, { ...c.objects.get(CRD_PATH)!, status: ESTABLISHED });
    const third = await stepSync(c.deps(), tasks(), { results: lines }, { ...opts, now: () => T0 + 2_000 });
    assert.equal(third.state, 'Done');
    assert.equal(third.state === 'Done' && third.outcome.phase, 'Succeeded');
    assert.deepEqual(c.invalidated, ['example.com/v1'], 'discovery forgets the new group-version');
    const done = third.state === 'Done' ? third.outcome.resources : [];
    assert.ok(!isPending(done[0]), 'the CRD line is finished');
    assert.equal(done[0].hookPhase, undefined);
    assert.equal(done[0].startedAt, undefined);
    assert.equal(done[1].kind, 'Widget');
    assert.ok(c.calls.some((x) => x.startsWith('PATCH /apis/example.com/v1/namespaces/ns/widgets/w')));
  });

  test('a CRD in the last wave is still waited for (the sync does not end before it is served)', async () => {
    const c = new Cluster();
    const only = planSync([managed(crdObject(), 'apiextensions.k8s.io', '0')], []);
    const step = await stepSync(
      c.deps(),
      only,
      { results: [] },
      { prune: true, operationId: 'op2', now: () => T0 },
    );
    assert.equal(step.state, 'Running');
  });

  test('a CRD the apply answer shows Established (unchanged, already served) needs no check at all', async () => {
    const c = new Cluster();
    c.crdStatus = ESTABLISHED;
    const only = planSync([managed(crdObject(), 'apiextensions.k8s.io', '0')], []);
    const step = await stepSync(
      c.deps(),
      only,
      { results: [] },
      { prune: true, operationId: 'op3', now: () => T0 },
    );
    assert.equal(step.state, 'Done');
    assert.deepEqual(
      c.calls.map((x) => x.split(' ')[0]),
      ['PATCH'],
    );
    assert.deepEqual(c.invalidated, ['example.com/v1']);
  });

  test('the custom resource in the same wave waits for the CRD too (a barrier batch)', async () => {
    const c = new Cluster();
    const same = planSync(
      [managed(crdObject(), 'apiextensions.k8s.io', '0'), managed(widget, 'example.com', '0')],
      [],
    );
    const step = await stepSync(
      c.deps(),
      same,
      { results: [] },
      { prune: true, operationId: 'op4', now: () => T0 },
    );
    assert.equal(step.state, 'Running');
    assert.ok(!c.calls.some((x) => x.includes('widgets/w')), 'the Widget is not applied yet');
  });

  test('past crdEstablishTimeoutMs from the recorded start (also after a restart): Failed, same message', async () => {
    const c = new Cluster();
    c.objects.set(CRD_PATH, crdObject());
    const pending = pendingLine(
      resultLine(managed(crdObject(), 'apiextensions.k8s.io', '0'), 'Synced', 'x created'),
      'x created',
      T0,
    );
    const opts = { prune: true, operationId: 'op5', crdEstablishTimeoutMs: 60_000 };
    const within = await stepSync(
      c.deps(),
      tasks(),
      { results: [pending] },
      { ...opts, now: () => T0 + 59_000 },
    );
    assert.equal(within.state, 'Running');
    const past = await stepSync(
      c.deps(),
      tasks(),
      { results: [pending] },
      { ...opts, now: () => T0 + 61_000 },
    );
    assert.equal(past.state, 'Done');
    const outcome = past.state === 'Done' ? past.outcome : undefined;
    assert.equal(outcome?.phase, 'Failed');
    assert.equal(outcome?.message, `one or more objects failed to apply, reason: ${MSG_CRD_NOT_ESTABLISHED}`);
    assert.equal(outcome?.resources[0].status, 'SyncFailed');
    assert.ok(!c.calls.some((x) => x.includes('/widgets/w')), 'the next wave never ran');
  });
});

describe('Replace=true,Force=true: delete, then create once the deletion has ended, in later steps', () => {
  const CM_PATH = '/api/v1/namespaces/ns/configmaps/x';
  const cm = (data: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x', namespace: 'ns' },
    data: { k: data },
  });
  const tasks = () => {
    const r = managed(cm('new'), '', '0', 'Replace=true,Force=true');
    r.live = cm('old');
    r.rt = CM_RT;
    return planSync([r], []);
  };

  test('a deletion held by a finalizer: Running without a create; created once it is gone', async () => {
    const c = new Cluster();
    c.finalizer = true;
    c.objects.set(CM_PATH, cm('old'));
    const opts = { prune: true, operationId: 'op6', now: () => T0 };
    const first = await stepSync(c.deps(), tasks(), { results: [] }, opts);
    assert.equal(first.state, 'Running');
    assert.deepEqual(
      c.calls.map((x) => x.split(' ')[0]),
      ['DELETE', 'GET'],
      'deleted, checked once, not created',
    );
    const lines = first.state === 'Running' ? first.results : [];
    assert.ok(isPending(lines[0]));
    assert.equal(lines[0].message, deletingMessage(lines[0]));

    c.calls = [];
    const second = await stepSync(c.deps(), tasks(), { results: lines }, { ...opts, now: () => T0 + 5_000 });
    assert.equal(second.state, 'Running');
    assert.deepEqual(c.calls, [`GET ${CM_PATH}`], 'one GET per step, no second delete');

    c.calls = [];
    c.objects.delete(CM_PATH); // the test's finalizer is removed: the deletion ends
    const third = await stepSync(c.deps(), tasks(), { results: lines }, { ...opts, now: () => T0 + 6_000 });
    assert.equal(third.state, 'Done');
    const outcome = third.state === 'Done' ? third.outcome : undefined;
    assert.equal(outcome?.phase, 'Succeeded');
    assert.deepEqual(
      c.calls.map((x) => x.split('?')[0]),
      [`GET ${CM_PATH}`, 'POST /api/v1/namespaces/ns/configmaps'],
    );
    assert.deepEqual((c.objects.get(CM_PATH) as KubeObject & { data: unknown }).data, { k: 'new' });
    assert.equal(outcome?.resources[0].message, 'configmap/x replaced');
    assert.equal(outcome?.resources[0].hookPhase, undefined);
  });

  test('a deletion without finalizers ends at once: created in the same step', async () => {
    const c = new Cluster();
    c.objects.set(CM_PATH, cm('old'));
    const step = await stepSync(
      c.deps(),
      tasks(),
      { results: [] },
      { prune: true, operationId: 'op7', now: () => T0 },
    );
    assert.equal(step.state, 'Done');
    assert.deepEqual(
      c.calls.map((x) => x.split(' ')[0]),
      ['DELETE', 'GET', 'POST'],
    );
  });

  test('a deletion still not ended after 60 s: the create is tried and its refusal fails the sync', async () => {
    const c = new Cluster();
    c.objects.set(CM_PATH, { ...cm('old'), metadata: { ...cm('old').metadata, deletionTimestamp: 'x' } });
    const pending: ResourceResult = pendingLine(
      resultLine(managed(cm('new'), '', '0'), 'Synced', ''),
      deletingMessage({ kind: 'ConfigMap', group: '', name: 'x' }),
      T0,
    );
    const opts = { prune: true, operationId: 'op8' };
    const within = await stepSync(
      c.deps(),
      tasks(),
      { results: [pending] },
      { ...opts, now: () => T0 + 59_000 },
    );
    assert.equal(within.state, 'Running');
    const past = await stepSync(
      c.deps(),
      tasks(),
      { results: [pending] },
      { ...opts, now: () => T0 + 61_000 },
    );
    assert.equal(past.state, 'Done');
    const outcome = past.state === 'Done' ? past.outcome : undefined;
    assert.equal(outcome?.phase, 'Failed');
    assert.equal(outcome?.resources[0].status, 'SyncFailed');
    assert.match(outcome?.resources[0].message ?? '', /already exists/);
  });
});

test('a step never changes the lines it was given (they are the app status as read; its patch is a diff)', async () => {
  const c = new Cluster();
  const JOB_PATH = '/apis/batch/v1/namespaces/ns/jobs/pre';
  c.objects.set(JOB_PATH, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pre', namespace: 'ns' },
    status: { conditions: [{ type: 'Complete', status: 'True' }], succeeded: 1 },
  });
  const hook = managed(
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pre', namespace: 'ns' } },
    'batch',
    '0',
  );
  hook.target!.metadata.annotations = { 'argocd.argoproj.io/hook': 'PreSync' };
  hook.rt = { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true };
  const given: ResourceResult = {
    ...resultLine(hook, 'Synced', 'job.batch/pre created'),
    syncPhase: 'PreSync',
    hookType: 'PreSync',
    hookPhase: 'Running',
  };
  const before = JSON.stringify(given);
  const tasks = planSync([], [{ resource: hook, types: ['PreSync'] }]);
  const step = await stepSync(c.deps(), tasks, { results: [given] }, { prune: true, operationId: 'op9' });
  assert.equal(step.state, 'Done');
  const lines = step.state === 'Done' ? step.outcome.resources : [];
  assert.equal(lines[0].hookPhase, 'Succeeded', 'the hook completed');
  assert.equal(JSON.stringify(given), before, 'the given line is unchanged');
});
