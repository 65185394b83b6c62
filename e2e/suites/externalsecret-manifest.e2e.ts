/**
 * ExternalSecret generic targets (ESO's `spec.target.manifest`) on a real control plane with the fake
 * provider; e2e/run.ts starts capstan with `--unsafe-allow-generic-targets`, as ESO's flag:
 * 1. a ConfigMap target without template holds the fetched keys in `data`, carries the managed label,
 *    the data hash and the controller ownerReference, no Secret of that name is written, and the
 *    garbage collector deletes it with the ExternalSecret;
 * 2. a Go template renders into the ConfigMap's data, and a hand edit is reverted at the next refresh;
 * 3. a ConfigMap that capstan did not create is never taken over (Ready False, content unchanged);
 * 4. a cluster-scoped kind and a kind the API server does not serve are clear conditions, nothing written.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../harness/wait';
import { core, createNamespace, getObject, kube, uniqueName } from './lib';
import {
  createExternalSecret,
  createSecretStore,
  esPath,
  read,
  readyOf,
  remove,
  secretPath,
  waitForReady,
  type EsObject,
} from './externalsecret-lib';

interface ConfigMapObj {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
  };
  data?: Record<string, string>;
}

const CM = { apiVersion: 'v1', kind: 'ConfigMap' };

async function setUp(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await createNamespace(ns);
  await createSecretStore(ns, 'fake', {
    fake: {
      data: [
        { key: '/app/host', value: 'db.example' },
        { key: '/app/port', value: '5432' },
      ],
    },
  });
  return ns;
}

const DATA = [
  { secretKey: 'host', remoteRef: { key: '/app/host' } },
  { secretKey: 'port', remoteRef: { key: '/app/port' } },
];

function spec(target: Record<string, unknown>, refreshInterval = '1h'): Record<string, unknown> {
  return { refreshInterval, secretStoreRef: { name: 'fake', kind: 'SecretStore' }, target, data: DATA };
}

async function waitForConfigMap(
  ns: string,
  name: string,
  pred: (cm: ConfigMapObj) => boolean,
  what: string,
): Promise<ConfigMapObj> {
  return waitFor(
    async () => {
      const cm = (await getObject(core(ns, 'configmaps', name))) as unknown as ConfigMapObj | undefined;
      return cm && pred(cm) ? cm : undefined;
    },
    { timeoutMs: 60_000, what },
  );
}

describe('ExternalSecret generic targets (spec.target.manifest)', () => {
  test('a ConfigMap target holds the fetched keys, is owned, and goes with the ExternalSecret', async () => {
    const ns = await setUp('es-manifest');
    await createExternalSecret(ns, 'cfg', spec({ name: 'app-config', manifest: CM }));
    const es = await waitForReady(esPath(ns, 'cfg'), 'True', 'SecretSynced');
    const cm = await waitForConfigMap(ns, 'app-config', (c) => !!c.data, 'the ConfigMap');
    assert.deepEqual(cm.data, { host: 'db.example', port: '5432' });
    assert.equal(cm.metadata.labels?.['reconcile.external-secrets.io/managed'], 'true');
    assert.ok(cm.metadata.annotations?.['reconcile.external-secrets.io/data-hash']);
    const owner = cm.metadata.ownerReferences?.find((r) => r.controller);
    assert.equal(owner?.kind, 'ExternalSecret');
    assert.equal(owner?.name, 'cfg');
    assert.equal(await read(secretPath(ns, 'app-config')), undefined, 'no Secret is written');
    assert.equal(es.status?.binding?.name, undefined, 'status.binding names Secrets only');
    await remove(esPath(ns, 'cfg'));
    await waitFor(async () => !(await getObject(core(ns, 'configmaps', 'app-config'))), {
      timeoutMs: 60_000,
      what: 'the garbage collector to delete the owned ConfigMap',
    });
  });

  test('a Go template renders into the ConfigMap, and a hand edit is reverted at the next refresh', async () => {
    const ns = await setUp('es-manifest-tpl');
    await createExternalSecret(
      ns,
      'tpl',
      spec(
        {
          name: 'rendered',
          manifest: CM,
          template: {
            metadata: { labels: { tier: 'db' } },
            data: { url: 'postgres://{{ .host }}:{{ .port }}/app' },
          },
        },
        '2s',
      ),
    );
    const cm = await waitForConfigMap(ns, 'rendered', (c) => !!c.data?.url, 'the rendered ConfigMap');
    assert.deepEqual(cm.data, { url: 'postgres://db.example:5432/app' });
    assert.equal(cm.metadata.labels?.tier, 'db');
    await kube().request('PATCH', core(ns, 'configmaps', 'rendered'), {
      body: { data: { url: 'edited by hand' } },
      contentType: 'application/merge-patch+json',
    });
    await waitForConfigMap(
      ns,
      'rendered',
      (c) => c.data?.url === 'postgres://db.example:5432/app',
      'the hand edit to be reverted',
    );
  });

  test('a ConfigMap capstan did not create is not taken over', async () => {
    const ns = await setUp('es-manifest-theirs');
    await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs' }, data: { own: 'value' } },
    });
    await createExternalSecret(ns, 'grab', spec({ name: 'theirs', manifest: CM }));
    const es = await waitForReady(esPath(ns, 'grab'), 'False', 'SecretSyncedError');
    assert.match(
      readyOf(es)?.message ?? '',
      /ConfigMap "theirs" already exists and was not created by this ExternalSecret/,
    );
    const cm = (await getObject(core(ns, 'configmaps', 'theirs'))) as unknown as ConfigMapObj;
    assert.deepEqual(cm.data, { own: 'value' });
  });

  test('a cluster-scoped kind and an unknown kind are clear conditions', async () => {
    const ns = await setUp('es-manifest-bad');
    await createExternalSecret(
      ns,
      'cluster',
      spec({ name: 'x', manifest: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' } }),
    );
    await createExternalSecret(
      ns,
      'unknown',
      spec({ name: 'y', manifest: { apiVersion: 'example.com/v1', kind: 'Nothing' } }),
    );
    const cluster = await waitForReady(esPath(ns, 'cluster'), 'False');
    assert.match(readyOf(cluster)?.message ?? '', /ClusterRole is cluster-scoped; only namespaced kinds/);
    const unknown = (await waitForReady(esPath(ns, 'unknown'), 'False')) as EsObject;
    assert.match(readyOf(unknown)?.message ?? '', /kind Nothing of example.com\/v1 is not served/);
    assert.equal(await getObject('/apis/rbac.authorization.k8s.io/v1/clusterroles/x'), undefined);
  });
});
