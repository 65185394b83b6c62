import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagedResource, Comparison } from './compare';
import { ApplicationContext } from './context';
import { checkProject, projectGate, ProjectBoundApp } from './project';
import { projectDenialConditions } from './status';
import { stepSync } from '../sync/engine';
import { planSync, TASKS_NOT_VALID } from '../sync/plan';
import { SyncDeps } from '../sync/sync';

/** A context whose project store holds `projects` (name -> spec) and reports `invalid` problems. */
function ctxWith(
  projects: Record<string, Record<string, unknown>>,
  invalid: Record<string, string[]> = {},
): ApplicationContext {
  return {
    settings: { controllerNamespace: 'argocd' },
    projects: {
      ready: async () => undefined,
      get: (name: string) => (projects[name] ? { metadata: { name }, spec: projects[name] } : undefined),
      problems: (name: string) => invalid[name] ?? [],
    },
  } as unknown as ApplicationContext;
}

const app = (
  project: string,
  over: Partial<ProjectBoundApp['spec']> = {},
  namespace = 'argocd',
): ProjectBoundApp => ({
  metadata: { namespace },
  spec: {
    project,
    source: { repoURL: 'https://git.example.com/team-a/app.git' },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'team-a' },
    ...over,
  },
});

const TEAM_A = {
  sourceRepos: ['https://git.example.com/team-a/*'],
  destinations: [{ server: '*', namespace: 'team-a' }],
};

describe('checkProject', () => {
  test('a missing project is refused, default included (absence never allows everything)', async () => {
    assert.deepEqual(await checkProject(ctxWith({}), app('default')), [
      'application references project default which does not exist',
    ]);
  });
  test('an invalid project refuses its apps, naming the field', async () => {
    const ctx = ctxWith(
      { p: TEAM_A },
      { p: ["spec.destinations[0].namespace: namespace has an invalid format, '!*'"] },
    );
    assert.deepEqual(await checkProject(ctx, app('p')), [
      "project p is invalid: spec.destinations[0].namespace: namespace has an invalid format, '!*'",
    ]);
  });
  test('a permitted app has no problems; an app in another namespace needs sourceNamespaces', async () => {
    const ctx = ctxWith({ p: TEAM_A, q: { ...TEAM_A, sourceNamespaces: ['team-*'] } });
    assert.deepEqual(await checkProject(ctx, app('p')), []);
    assert.deepEqual(await checkProject(ctx, app('p', {}, 'team-a')), [
      "application in namespace 'team-a' is not permitted to use project 'p' (sourceNamespaces)",
    ]);
    assert.deepEqual(await checkProject(ctx, app('q', {}, 'team-a')), []);
  });
});

describe('projectGate', () => {
  test("an operation's source outside sourceRepos is refused", async () => {
    const gate = await projectGate(
      ctxWith({ p: TEAM_A }),
      app('p', { source: { repoURL: 'https://git.example.com/other/x.git' } }),
    );
    assert.deepEqual(gate.problems, [
      "application repo https://git.example.com/other/x.git is not permitted in project 'p'",
    ]);
  });
  test('objects: own namespace and cluster-scoped kinds', async () => {
    const gate = await projectGate(ctxWith({ p: TEAM_A }), app('p'));
    assert.deepEqual(gate.problems, []);
    const obj = { group: '', kind: 'ConfigMap', name: 'c', namespace: 'team-a', namespaced: true };
    assert.equal(gate.objectViolation(obj), undefined);
    assert.equal(
      gate.objectViolation({ ...obj, namespace: 'kube-system' }),
      "namespace kube-system is not permitted in project 'p'",
    );
    assert.equal(
      gate.objectViolation({
        group: 'rbac.authorization.k8s.io',
        kind: 'ClusterRoleBinding',
        name: 'x',
        namespace: '',
        namespaced: false,
      }),
      'resource rbac.authorization.k8s.io:ClusterRoleBinding is not permitted in project p',
    );
  });
});

const resource = (kind: string, name: string, wave: string, denied?: string): ManagedResource => ({
  group: '',
  version: 'v1',
  kind,
  namespace: 'team-a',
  name,
  status: denied ? 'Unknown' : 'OutOfSync',
  target: {
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace: 'team-a', annotations: { 'argocd.argoproj.io/sync-wave': wave } },
  },
  ...(denied ? { denied } : {}),
});

/** Sync dependencies that fail the test on any API call: nothing may be written. */
const noWrites: SyncDeps = {
  client: {
    request: async (method: string, path: string) => assert.fail(`unexpected ${method} ${path}`),
  } as unknown as SyncDeps['client'],
  discovery: {
    resourceFor: async () => assert.fail('unexpected discovery'),
  } as unknown as SyncDeps['discovery'],
  log: { info() {}, warn() {}, error() {}, debug() {} } as unknown as SyncDeps['log'],
};

describe('a sync with a refused object', () => {
  const denial = "namespace kube-system is not permitted in project 'p'";
  test('fails before any task runs, permitted objects of every wave included', async () => {
    const tasks = planSync(
      [
        resource('ConfigMap', 'first', '-1'),
        resource('ConfigMap', 'leak', '0', denial),
        resource('ConfigMap', 'late', '5'),
      ],
      [],
    );
    const step = await stepSync(noWrites, tasks, { results: [] }, { prune: true, operationId: 'op' });
    assert.equal(step.state, 'Done');
    if (step.state !== 'Done') return;
    assert.equal(step.outcome.phase, 'Failed');
    assert.equal(step.outcome.message, `${TASKS_NOT_VALID}: ${denial}`);
    assert.deepEqual(
      step.outcome.resources.map((r) => `${r.name}:${r.status}:${r.message}`),
      [`leak:SyncFailed:${denial}`],
    );
  });
  test('also in a later step, when the project was tightened after earlier waves ran', async () => {
    const tasks = planSync(
      [resource('ConfigMap', 'first', '-1'), resource('ConfigMap', 'late', '5', denial)],
      [],
    );
    const done = {
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      namespace: 'team-a',
      name: 'first',
      status: 'Synced' as const,
      message: 'configmap/first serverside-applied',
      syncPhase: 'Sync',
    };
    const step = await stepSync(noWrites, tasks, { results: [done] }, { prune: true, operationId: 'op2' });
    assert.ok(step.state === 'Done' && step.outcome.phase === 'Failed');
    assert.deepEqual(step.state === 'Done' && step.outcome.resources.map((r) => `${r.name}:${r.status}`), [
      'first:Synced',
      'late:SyncFailed',
    ]);
  });
  test('refused hooks count too, and the conditions name each refusal once with its objects', () => {
    const cmp: Comparison = {
      revisions: ['abc'],
      sourceTypes: ['Directory'],
      status: 'OutOfSync',
      resources: [
        resource('ConfigMap', 'a', '0', denial),
        resource('ConfigMap', 'b', '0', denial),
        resource('ConfigMap', 'ok', '0'),
      ],
      hooks: [
        {
          types: ['PreSync'],
          resource: resource('Job', 'migrate', '0', 'resource batch:Job is not permitted in project p'),
        },
      ],
    };
    assert.deepEqual(projectDenialConditions(cmp), [
      { type: 'InvalidSpecError', message: `${denial} (ConfigMap/team-a/a, ConfigMap/team-a/b)` },
      {
        type: 'InvalidSpecError',
        message: 'resource batch:Job is not permitted in project p (Job/team-a/migrate)',
      },
    ]);
  });
});

describe('a running operation whose source the project no longer permits', () => {
  test('ends Failed with the refusal instead of being retried while Running', async () => {
    const requests: string[] = [];
    const ctx = ctxWith({ p: TEAM_A }) as unknown as Record<string, unknown>;
    ctx.client = {
      request: async (method: string, path: string) => {
        requests.push(`${method} ${path}`);
        return {};
      },
    };
    ctx.log = { info() {}, warn() {}, error() {}, debug() {} };
    const forbidden = { repoURL: 'https://git.example.com/other/x.git', path: '.', targetRevision: 'main' };
    const operation = { sync: { source: forbidden }, initiatedBy: { username: 'e2e' } };
    const running = {
      operation,
      phase: 'Running' as const,
      startedAt: '2026-01-01T00:00:00Z',
      syncResult: { resources: [], revision: 'a'.repeat(40), source: forbidden },
    };
    const theApp = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'app', namespace: 'argocd', uid: 'u1' },
      spec: { ...app('p').spec, source: { ...app('p').spec.source!, path: '.', targetRevision: 'main' } },
      operation,
      status: { operationState: running },
    };
    const cmp: Comparison = {
      revisions: ['b'.repeat(40)],
      sourceTypes: ['Directory'],
      status: 'Synced',
      resources: [],
      hooks: [],
    };
    const { runOperation } = await import('./operation');
    const out = await runOperation(
      ctx as unknown as ApplicationContext,
      theApp as never,
      'app',
      cmp,
      undefined,
    );
    assert.equal(out.state.phase, 'Failed');
    assert.equal(
      out.state.message,
      "application repo https://git.example.com/other/x.git is not permitted in project 'p'",
    );
    // Only the app itself (operation cleared) was written; no object. Status and the Event are the
    // reconcile's to write, from the step.
    assert.ok(
      requests.every((r) => /applications\/app/.test(r)),
      requests.join('\n'),
    );
    assert.deepEqual(
      out.events.map((e) => `${e.type}/${e.reason}`),
      ['Warning/OperationCompleted'],
    );
  });
});

describe('an operation running when its app becomes invalid (a tightened project)', () => {
  test('is ended Failed with the problem, writing nothing itself (the reconcile writes status and the Event)', async () => {
    const requests: string[] = [];
    const ctx = {
      ...(ctxWith({}) as unknown as Record<string, unknown>),
      client: {
        request: async (method: string, path: string) => {
          requests.push(`${method} ${path}`);
          return {};
        },
      },
      log: { info() {}, warn() {}, error() {}, debug() {} },
    } as unknown as ApplicationContext;
    const running = {
      operation: { sync: { revision: 'main' }, initiatedBy: { automated: true } },
      phase: 'Running' as const,
      startedAt: '2026-01-01T00:00:00Z',
      syncResult: { resources: [], revision: 'a'.repeat(40) },
    };
    const theApp = {
      metadata: { name: 'app', namespace: 'argocd', uid: 'u1' },
      spec: app('p').spec,
      status: { operationState: running },
    };
    const { abortRunningOperation } = await import('./operation');
    const message =
      "application destination server 'https://kubernetes.default.svc' and namespace 'team-a' do not match any of the allowed destinations in project 'p'";
    const out = await abortRunningOperation(ctx, theApp as never, message);
    assert.equal(out?.state.phase, 'Failed');
    assert.equal(out?.state.message, message);
    assert.deepEqual(requests, []);
    assert.equal(out?.events[0]?.reason, 'OperationCompleted');
    assert.equal(await abortRunningOperation(ctx, { ...theApp, status: {} } as never, message), undefined);
  });
});
