import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LiveApp,
  MAX_ANCESTRY_DEPTH,
  cycleCondition,
  cycleHealth,
  findAppCycle,
  rendersApplications,
} from './ancestry';
import { comparisonStatus } from './status';
import { App } from './api';
import { Comparison, ManagedResource } from './compare';

const CONTROLLER = 'capstan';

/** A live Application in `namespace`, tracked by the app instance `manager` (none: not managed). */
function liveApp(name: string, manager?: string, namespace = CONTROLLER): LiveApp {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name,
      namespace,
      ...(manager
        ? {
            annotations: {
              'argocd.argoproj.io/tracking-id': `${manager}:argoproj.io/Application:${namespace}/${name}`,
            },
          }
        : {}),
    },
  };
}

/** Reads apps from a fixed list, counting reads. */
function store(...apps: LiveApp[]) {
  const reads: string[] = [];
  const read = async (namespace: string, name: string) => {
    reads.push(`${namespace}/${name}`);
    return apps.find((a) => a.metadata.namespace === namespace && a.metadata.name === name);
  };
  return { read, reads };
}

describe('findAppCycle', () => {
  test('the self-managed bootstrap: root renders capstan, whose chart renders root', async () => {
    const root = liveApp('root', 'capstan');
    const capstan = liveApp('capstan', 'root');
    const s = store(root, capstan);
    const fromRoot = await findAppCycle(root, CONTROLLER, s.read);
    assert.equal(fromRoot?.path, 'root -> capstan -> root');
    assert.deepEqual([...(fromRoot?.members ?? [])].sort(), ['capstan/capstan', 'capstan/root']);
    const fromCapstan = await findAppCycle(capstan, CONTROLLER, s.read);
    assert.equal(fromCapstan?.path, 'capstan -> root -> capstan');
  });

  test('a three-level loop a -> b -> c -> a, apps outside the controller namespace', async () => {
    // a renders b, b renders c, c renders a: each app's tracking id names the app that renders it.
    const a = liveApp('a', 'team_c', 'team');
    const b = liveApp('b', 'team_a', 'team');
    const c = liveApp('c', 'team_b', 'team');
    const s = store(a, b, c);
    const cycle = await findAppCycle(a, CONTROLLER, s.read);
    assert.equal(cycle?.path, 'team_a -> team_b -> team_c -> team_a');
    assert.deepEqual([...(cycle?.members ?? [])].sort(), ['team/a', 'team/b', 'team/c']);
    assert.deepEqual(s.reads, ['team/c', 'team/b']);
  });

  test('an app that renders itself', async () => {
    const self = liveApp('self', 'self');
    const cycle = await findAppCycle(self, CONTROLLER, store().read);
    assert.equal(cycle?.path, 'self -> self');
    assert.deepEqual([...(cycle?.members ?? [])], ['capstan/self']);
  });

  test('no cycle: an unmanaged root, a child of a plain app of apps, a manager gone', async () => {
    const root = liveApp('root');
    const child = liveApp('child', 'root');
    const s = store(root, child);
    assert.equal(await findAppCycle(root, CONTROLLER, s.read), undefined);
    assert.deepEqual(s.reads, [], 'an app nobody manages costs no read');
    assert.equal(await findAppCycle(child, CONTROLLER, s.read), undefined);
    assert.equal(await findAppCycle(liveApp('orphan', 'gone'), CONTROLLER, s.read), undefined);
  });

  test('a loop above the app that does not pass through it is not its cycle, and the walk ends', async () => {
    // guestbook is managed by root, which is on the root <-> capstan cycle; guestbook renders neither.
    const s = store(liveApp('root', 'capstan'), liveApp('capstan', 'root'));
    assert.equal(await findAppCycle(liveApp('guestbook', 'root'), CONTROLLER, s.read), undefined);
    assert.deepEqual(s.reads, ['capstan/root', 'capstan/capstan']);
  });

  test('a tracking id copied from another object does not count', async () => {
    const copied = liveApp('copy');
    copied.metadata.annotations = {
      'argocd.argoproj.io/tracking-id': 'copy:argoproj.io/Application:capstan/other',
    };
    assert.equal(await findAppCycle(copied, CONTROLLER, store().read), undefined);
  });

  test(`the walk stops after ${MAX_ANCESTRY_DEPTH} managers`, async () => {
    // app-0 is managed by app-1, app-1 by app-2, ... without end.
    const read = async (_ns: string, name: string) => liveApp(name, `app-${Number(name.slice(4)) + 1}`);
    let reads = 0;
    const counted = async (ns: string, name: string) => (reads++, read(ns, name));
    assert.equal(await findAppCycle(liveApp('app-0', 'app-1'), CONTROLLER, counted), undefined);
    assert.equal(reads, MAX_ANCESTRY_DEPTH);
  });
});

describe('health and status on a cycle', () => {
  const cycle = { members: new Set(['capstan/root', 'capstan/capstan']), path: 'capstan -> root -> capstan' };
  const appResource = (name: string, live: LiveApp): ManagedResource => ({
    group: 'argoproj.io',
    version: 'v1alpha1',
    kind: 'Application',
    namespace: CONTROLLER,
    name,
    status: 'Synced',
    live: { ...live, apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' },
  });
  // root as capstan sees it: its operation is running and it is Progressing (it waits for capstan).
  const root = {
    ...liveApp('root', 'capstan'),
    status: {
      health: { status: 'Progressing' },
      sync: { status: 'Synced' },
      operationState: { phase: 'Running', message: 'waiting for Application/capstan to become healthy' },
    },
  };

  test('an Application on the cycle is Healthy, anything else is assessed as usual', () => {
    assert.deepEqual(cycleHealth(cycle, appResource('root', root)), {
      status: 'Healthy',
      message: 'Counted as Healthy: it manages this application (cycle capstan -> root -> capstan)',
    });
    assert.equal(cycleHealth(cycle, appResource('guestbook', liveApp('guestbook', 'capstan'))), undefined);
    assert.equal(
      cycleHealth(cycle, { group: '', kind: 'ConfigMap', namespace: CONTROLLER, name: 'root' }),
      undefined,
    );
    assert.equal(cycleHealth(undefined, appResource('root', root)), undefined);
  });

  test("the app's health does not wait on its ancestor (it did before: Progressing forever)", () => {
    const app = { metadata: { name: 'capstan', namespace: CONTROLLER }, spec: {} } as unknown as App;
    const cmp: Comparison = {
      revisions: ['abc'],
      sourceTypes: ['Helm'],
      resources: [appResource('root', root)],
      hooks: [],
      status: 'Synced',
    };
    assert.equal(comparisonStatus(app, cmp).health?.status, 'Progressing');
    const status = comparisonStatus(app, cmp, cycle);
    assert.equal(status.health?.status, 'Healthy');
    assert.equal(status.resources?.[0].health?.status, 'Healthy');
  });

  test('the condition names the cycle and only Applications make a cycle possible', () => {
    const c = cycleCondition(cycle);
    assert.equal(c.type, 'AppOfAppsCycle');
    assert.match(c.message, /\(capstan -> root -> capstan\)/);
    assert.equal(rendersApplications([{ group: '', kind: 'ConfigMap' }]), false);
    assert.equal(rendersApplications([{ group: 'argoproj.io', kind: 'Application' }]), true);
  });
});
