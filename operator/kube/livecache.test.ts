import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, RequestOptions } from './client';
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
const CLUSTERROLES: ResourceType = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRole',
  plural: 'clusterroles',
  namespaced: false,
};

/** Records every list and watch path; lists answer one ConfigMap per namespace path; watches park. */
function recordingClient() {
  const paths: string[] = [];
  const client = {
    async request<T>(_m: string, path: string): Promise<T> {
      paths.push(`list ${path}`);
      const ns = /\/namespaces\/([^/]+)\//.exec(path)?.[1];
      const items: KubeObject[] = ns
        ? [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'cm', namespace: ns, resourceVersion: '1' },
            },
          ]
        : [];
      return { metadata: { resourceVersion: '5' }, items } as T;
    },
    async watch(path: string, _q: RequestOptions['query'], _e: unknown, signal: AbortSignal) {
      paths.push(`watch ${path}`);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  return { client: client as unknown as KubeClient, paths };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test('cluster-wide: one list and watch per type over all namespaces', async () => {
  const { client, paths } = recordingClient();
  const live = new LiveCache(client, 'managed=true');
  await live.ensure(CONFIGMAPS);
  await live.ensure(CLUSTERROLES);
  await settle();
  live.stop();
  assert.deepEqual(paths.filter((p) => p.startsWith('list')).sort(), [
    'list /api/v1/configmaps',
    'list /apis/rbac.authorization.k8s.io/v1/clusterroles',
  ]);
});

test('--watch-namespaces: one list and watch per namespace, cluster-scoped types not watched', async () => {
  const { client, paths } = recordingClient();
  const live = new LiveCache(client, 'managed=true', undefined, { watchNamespaces: ['a', 'b'] });
  await live.ensure(CONFIGMAPS);
  await live.ensure(CLUSTERROLES);
  assert.equal((await live.get(CONFIGMAPS, 'b', 'cm'))?.metadata.namespace, 'b');
  assert.equal(await live.get(CONFIGMAPS, 'c', 'cm'), undefined, 'an unwatched namespace is never listed');
  assert.equal(await live.get(CLUSTERROLES, undefined, 'x'), undefined);
  assert.deepEqual(
    live
      .all()
      .map(({ obj }) => obj.metadata.namespace)
      .sort(),
    ['a', 'b'],
  );
  await settle();
  live.stop();
  assert.ok(
    paths.every((p) => /\/namespaces\/(a|b)\/configmaps$/.test(p)),
    paths.join('\n'),
  );
  assert.deepEqual(paths.filter((p) => p.startsWith('list')).sort(), [
    'list /api/v1/namespaces/a/configmaps',
    'list /api/v1/namespaces/b/configmaps',
  ]);
  assert.ok(paths.includes('watch /api/v1/namespaces/a/configmaps'));
});
