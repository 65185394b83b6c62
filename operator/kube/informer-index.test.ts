import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, RequestOptions, WatchEvent } from './client';
import type { ResourceType } from './discovery';
import { LiveCache } from './livecache';
import type { KubeObject } from './object';

const CONFIGMAPS: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};

const cm = (name: string, owner: string | undefined, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv, ...(owner ? { annotations: { owner } } : {}) },
});

/** Lists `initial`; the watch delivers what `emit` sends until aborted. */
function fakeClient(initial: KubeObject[]) {
  let send: ((e: WatchEvent<KubeObject>) => void) | undefined;
  const client = {
    async request<T>(): Promise<T> {
      return { metadata: { resourceVersion: '10' }, items: initial } as T;
    },
    async watch(
      _p: string,
      _q: RequestOptions['query'],
      onEvent: (e: WatchEvent<KubeObject>) => void,
      signal: AbortSignal,
    ) {
      send = onEvent;
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  const emit = async (e: WatchEvent<KubeObject>): Promise<void> => {
    for (let i = 0; i < 100 && !send; i++) await new Promise((r) => setTimeout(r, 5));
    send?.(e);
  };
  return { client: client as unknown as KubeClient, emit };
}

const names = (xs: Array<{ obj: KubeObject }>): string[] => xs.map((x) => x.obj.metadata.name ?? '').sort();

test('indexed(): the objects of one index value, kept in step with adds, moves and deletes', async () => {
  const { client, emit } = fakeClient([
    cm('a1', 'app-a', '1'),
    cm('b1', 'app-b', '2'),
    cm('free', undefined, '3'),
  ]);
  const live = new LiveCache(client, 'managed=true');
  live.setIndex((o) => o.metadata.annotations?.owner);
  await live.ensure(CONFIGMAPS);
  assert.deepEqual(names(live.indexed('app-a')), ['a1']);
  assert.deepEqual(names(live.indexed('app-b')), ['b1']);

  await emit({ type: 'ADDED', object: cm('a2', 'app-a', '11') });
  // b1 changes owner: it leaves app-b's bucket.
  await emit({ type: 'MODIFIED', object: cm('b1', 'app-a', '12') });
  await emit({ type: 'DELETED', object: cm('a1', 'app-a', '13') });
  assert.deepEqual(names(live.indexed('app-a')), ['a2', 'b1']);
  assert.deepEqual(names(live.indexed('app-b')), []);
  assert.equal(live.all().length, 3, 'the index leaves the store as it is');
  live.stop();
});

test('an index set after informers run is built from what they hold; without one indexed() is all()', async () => {
  const { client } = fakeClient([cm('a1', 'app-a', '1'), cm('b1', 'app-b', '2')]);
  const live = new LiveCache(client, 'managed=true');
  await live.ensure(CONFIGMAPS);
  assert.deepEqual(names(live.indexed('app-a')), ['a1', 'b1']);
  live.setIndex((o) => o.metadata.annotations?.owner);
  assert.deepEqual(names(live.indexed('app-a')), ['a1']);
  live.stop();
});
