import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, RequestOptions, WatchEvent } from './client';
import type { ResourceType } from './discovery';
import { Informer } from './informer';
import type { KubeObject } from './object';
import type { WatchLoopClient } from './watchloop';

const CONFIGMAPS = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
} as unknown as ResourceType;

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

/** Scripted lists and watches; the last watch parks until the informer stops. */
function stream(
  lists: Array<{ items: KubeObject[]; rv: string } | Error>,
  watches: Array<(emit: (e: WatchEvent<unknown>) => void) => void>,
) {
  let parked!: () => void;
  const idle = new Promise<void>((r) => (parked = r));
  const client: WatchLoopClient = {
    async request<T>(_m: string, _p: string, _o?: RequestOptions): Promise<T> {
      const next = lists.shift();
      if (!next || next instanceof Error) throw next ?? new Error('unexpected list');
      return { metadata: { resourceVersion: next.rv }, items: structuredClone(next.items) } as T;
    },
    async watch<T>(
      _p: string,
      _q: RequestOptions['query'],
      onEvent: (e: WatchEvent<T>) => void,
      signal: AbortSignal,
    ) {
      const step = watches.shift();
      if (step) return step(onEvent as (e: WatchEvent<unknown>) => void);
      parked();
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  return { client, idle };
}

const loop = {
  watchTimeoutSeconds: 60,
  clock: { now: () => 0, sleep: async () => undefined, random: () => 0.5 },
};

test('the initial list fills the cache silently; a 410 re-list reports only changed and vanished objects', async () => {
  const { client, idle } = stream(
    [
      { items: [cm('a', '1'), cm('b', '2'), cm('c', '3')], rv: '10' },
      { items: [cm('a', '1'), cm('c', '30'), cm('d', '31')], rv: '40' },
    ],
    [
      (emit) => {
        emit({ type: 'MODIFIED', object: cm('a', '1') });
        emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      },
    ],
  );
  const changes: string[] = [];
  const inf = new Informer(
    client,
    CONFIGMAPS,
    'managed=true',
    (type, obj) => changes.push(`${type} ${obj.metadata.name}@${obj.metadata.resourceVersion ?? ''}`),
    { loop },
  );
  await inf.start();
  assert.deepEqual(
    inf.list().map((o) => o.metadata.name),
    ['a', 'b', 'c'],
  );
  await idle;
  inf.stop();
  // The watch's MODIFIED is reported; the re-list reports c (changed), d (new) and b (gone), not a.
  assert.deepEqual(changes, ['upsert a@1', 'upsert c@30', 'upsert d@31', 'delete b@2']);
  assert.equal(inf.get('ns', 'b'), undefined);
  assert.equal(inf.get('ns', 'c')?.metadata.resourceVersion, '30');
});

test('a failed initial list rejects start(); a later start() lists again', async () => {
  const { client } = stream(
    [new KubeApiError(403, 'Forbidden', 'configmaps is forbidden'), { items: [cm('a', '1')], rv: '5' }],
    [],
  );
  const inf = new Informer(client, CONFIGMAPS, '', () => undefined, { loop });
  await assert.rejects(inf.start(), /forbidden/);
  await inf.start();
  assert.equal(inf.get('ns', 'a')?.metadata.resourceVersion, '1');
  inf.stop();
});

test('watch failures are retried and reported; the watch resumes without a re-list', async () => {
  const errors: string[] = [];
  let lists = 0;
  const { client, idle } = stream(
    [{ items: [cm('a', '1')], rv: '10' }],
    [
      () => {
        throw new KubeApiError(0, 'TransportError', 'connect ECONNREFUSED');
      },
      (emit) => emit({ type: 'DELETED', object: cm('a', '11') }),
    ],
  );
  const counting: WatchLoopClient = {
    request: (m, p, o) => {
      lists++;
      return client.request(m, p, o);
    },
    watch: (p, q, e, s) => client.watch(p, q, e, s),
  };
  const changes: string[] = [];
  const inf = new Informer(counting, CONFIGMAPS, '', (t, o) => changes.push(`${t} ${o.metadata.name}`), {
    loop,
    onError: (err) => errors.push((err as Error).message),
  });
  await inf.start();
  await idle;
  inf.stop();
  assert.deepEqual(errors, ['connect ECONNREFUSED']);
  assert.equal(lists, 1);
  assert.deepEqual(changes, ['delete a']);
  assert.equal(inf.list().length, 0);
});
