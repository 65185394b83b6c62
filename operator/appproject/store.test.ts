import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestOptions, WatchEvent } from '../kube/client';
import type { KubeObject } from '../kube/object';
import type { WatchLoopClient } from '../kube/watchloop';
import { ProjectStore } from './store';

const proj = (name: string, rv: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AppProject',
  metadata: { name, namespace: 'argocd', resourceVersion: rv },
  spec,
});

/** One list, then a watch that emits `events` once `go` is called; paths are recorded. */
function fakeClient(items: KubeObject[], events: Array<WatchEvent<unknown>>) {
  const paths: string[] = [];
  let go!: () => void;
  const started = new Promise<void>((r) => (go = r));
  const client: WatchLoopClient = {
    async request<T>(_m: string, p: string, _o?: RequestOptions): Promise<T> {
      paths.push(p);
      return { metadata: { resourceVersion: '1' }, items: structuredClone(items) } as T;
    },
    async watch<T>(
      _p: string,
      _q: RequestOptions['query'],
      onEvent: (e: WatchEvent<T>) => void,
      signal: AbortSignal,
    ) {
      await started;
      for (const e of events.splice(0)) onEvent(e as WatchEvent<T>);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  return { client, paths, go };
}

const loop = {
  watchTimeoutSeconds: 60,
  clock: { now: () => 0, sleep: async () => undefined, random: () => 0.5 },
};

test('serves projects of the controller namespace from memory, reports changes and memoised problems', async () => {
  const { client, paths, go } = fakeClient(
    [proj('default', '5', { sourceRepos: ['*'] }), proj('bad', '6', { sourceRepos: ['!*'] })],
    [
      { type: 'MODIFIED', object: proj('default', '7', { sourceRepos: ['a', 'a'] }) },
      { type: 'DELETED', object: proj('bad', '8', {}) },
    ],
  );
  const store = new ProjectStore(client, 'argocd', { loop });
  await store.ready();
  assert.deepEqual(paths, ['/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects']);
  assert.deepEqual(store.get('default')?.spec, { sourceRepos: ['*'] });
  assert.equal(store.get('missing'), undefined);
  assert.deepEqual(store.problems('default'), []);
  assert.match(store.problems('bad')[0], /^spec.sourceRepos\[0\]: source repository has an invalid format/);
  assert.deepEqual(store.problems('missing'), []);
  const changed: string[] = [];
  const seen = new Promise<void>((resolve) =>
    store.onChange((name) => {
      changed.push(name);
      if (changed.length === 2) resolve();
    }),
  );
  go();
  await seen;
  assert.deepEqual(changed, ['default', 'bad']);
  assert.match(store.problems('default')[0], /source repository 'a' already added/);
  assert.equal(store.get('bad'), undefined);
  assert.deepEqual(store.names(), ['default']);
  assert.equal(paths.length, 1, 'no GET per lookup');
  store.stop();
});

test('a failed first list rejects start(); the next start() lists again (the operator retries it)', async () => {
  let calls = 0;
  const client: WatchLoopClient = {
    async request<T>(): Promise<T> {
      calls++;
      if (calls === 1) throw new Error('connection refused');
      return { metadata: { resourceVersion: '1' }, items: [proj('default', '1', {})] } as T;
    },
    async watch(_p, _q, _e, signal: AbortSignal) {
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  const store = new ProjectStore(client, 'argocd', { loop });
  await assert.rejects(store.start(), /connection refused/);
  await store.start();
  assert.ok(store.get('default'));
  store.stop();
});
