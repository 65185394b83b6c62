import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceEventType, type ResourceEvent } from '../kube/resourceevent';
import { createLogger } from '../log';
import type { ReconcileResult } from '../runtime/workqueue';
import type { AppProjectObject } from '../appproject/store';
import type { ApplicationContext } from './context';
import { ApplicationOperator } from './operator';

/** A project cache whose contents the test sets; `fire` plays a watch event of the store. */
function fakeProjects() {
  const projects = new Map<string, AppProjectObject>();
  const listeners: Array<(name: string) => void> = [];
  return {
    projects,
    store: { get: (n: string) => projects.get(n), onChange: (fn: (n: string) => void) => listeners.push(fn) },
    fire: (name: string) => listeners.forEach((fn) => fn(name)),
  };
}

/** The operator with its reconcile replaced by a recorder; no watch is started. */
class RecordingOperator extends ApplicationOperator {
  readonly reconciled: string[] = [];
  protected override async reconcile(key: string): Promise<ReconcileResult> {
    this.reconciled.push(key);
    return {};
  }
}

const appEvent = (ns: string, name: string, project: string | undefined, type = ResourceEventType.Added) =>
  ({
    type,
    meta: { name, namespace: ns },
    object: { metadata: { name, namespace: ns, generation: 1 }, spec: { project } },
  }) as unknown as ResourceEvent;

const proj = (name: string, generation: number, rv: string): AppProjectObject => ({
  metadata: { name, namespace: 'argocd', uid: `uid-${name}`, generation, resourceVersion: rv },
});

test('a project change re-queues exactly its apps; a status or finalizer write (same generation) does not', async () => {
  const p = fakeProjects();
  const live = { onChange: () => undefined, setIndex: () => undefined };
  const git = {};
  const ctx = {
    projects: p.store,
    live,
    git,
    settings: { controllerNamespace: 'argocd' },
  } as unknown as ApplicationContext;
  const op = new RecordingOperator(ctx, createLogger('error', 'text'), 4);
  // What init() does besides the watches.
  p.store.onChange((name) => (op as unknown as { projectChanged(n: string): void }).projectChanged(name));
  const relevant = (e: ResourceEvent) =>
    (op as unknown as { relevant(e: ResourceEvent): boolean }).relevant(e);
  relevant(appEvent('a', 'one', 'team-a'));
  relevant(appEvent('b', 'two', 'team-a'));
  relevant(appEvent('c', 'three', 'team-b'));
  relevant(appEvent('d', 'four', '')); // Argo CD: an empty project is `default`
  relevant(appEvent('b', 'gone', 'team-a'));
  relevant(appEvent('b', 'gone', 'team-a', ResourceEventType.Deleted));

  const settle = () => new Promise((r) => setTimeout(r, 20));
  p.projects.set('team-a', proj('team-a', 1, '10'));
  p.fire('team-a');
  await settle();
  assert.deepEqual(op.reconciled.sort(), ['Application/a/one', 'Application/b/two']);

  op.reconciled.length = 0;
  p.projects.set('team-a', proj('team-a', 1, '11')); // status written: generation unchanged
  p.fire('team-a');
  await settle();
  assert.deepEqual(op.reconciled, []);

  p.projects.set('team-a', proj('team-a', 2, '12')); // spec tightened
  p.fire('team-a');
  p.projects.delete('default');
  p.fire('default'); // deleted (or never seen): its apps are re-queued too
  await settle();
  assert.deepEqual(op.reconciled.sort(), ['Application/a/one', 'Application/b/two', 'Application/d/four']);
  op.stop();
});

/** The operator with a reconcile that fails (as a git outage does) until `healthy` is set. */
class FailingOperator extends ApplicationOperator {
  runs = 0;
  healthy = false;
  protected override async reconcile(): Promise<ReconcileResult> {
    this.runs += 1;
    if (!this.healthy) throw new Error('git unreachable');
    return {};
  }
}

test('a failing app waits for its retry on events of its objects; its own change runs it at once', async () => {
  const ctx = {
    projects: fakeProjects().store,
    live: { onChange: () => undefined, setIndex: () => undefined },
    git: {},
    settings: { controllerNamespace: 'argocd' },
  } as unknown as ApplicationContext;
  const op = new FailingOperator(ctx, createLogger('error', 'text'), 2);
  const queue = (op as unknown as { queue: { add(k: string): void; idle(): Promise<void> } }).queue;
  const enqueueOwner = (o: unknown) => (op as unknown as { enqueueOwner(o: unknown): void }).enqueueOwner(o);
  const managed = {
    metadata: { annotations: { 'argocd.argoproj.io/tracking-id': 'one:apps/Deployment:a/web' } },
  };
  queue.add('Application/argocd/one');
  await queue.idle();
  assert.equal(op.runs, 1);
  enqueueOwner(managed); // e.g. the Deployment's status moved: the retry (1 s) is not cut short
  await queue.idle();
  assert.equal(op.runs, 1);
  op.healthy = true;
  queue.add('Application/argocd/one'); // a refresh annotation or spec change: at once
  await queue.idle();
  assert.equal(op.runs, 2);
  enqueueOwner(managed); // no longer failing: drift runs it at once
  await queue.idle();
  assert.equal(op.runs, 3);
  op.stop();
});
