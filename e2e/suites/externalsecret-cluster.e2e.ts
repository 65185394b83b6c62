/**
 * A ClusterSecretStore's `spec.conditions` decide which namespaces may use it: by name and by label
 * selector allowed, any other namespace denied with a clear condition and nothing written.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNamespace, kube, uniqueName } from './lib';
import {
  assertSecretValues,
  clusterStorePath,
  createClusterSecretStore,
  createExternalSecret,
  esPath,
  read,
  readyOf,
  remove,
  secretPath,
  waitForReady,
} from './externalsecret-lib';

describe('ClusterSecretStore namespace conditions', () => {
  const store = uniqueName('css');
  after(async () => remove(clusterStorePath(store)));

  test('conditions allow a namespace by name and one by label, and deny another', async () => {
    const allowed = uniqueName('css-allowed');
    const labelled = uniqueName('css-labelled');
    const denied = uniqueName('css-denied');
    await createNamespace(allowed);
    await createNamespace(denied);
    await kube().request('POST', '/api/v1/namespaces', {
      body: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: labelled, labels: { 'capstan-e2e/team': store } },
      },
    });
    await createClusterSecretStore(store, {
      provider: { fake: { data: [{ key: 'shared', value: 'v1' }] } },
      conditions: [
        { namespaces: [allowed] },
        { namespaceSelector: { matchLabels: { 'capstan-e2e/team': store } } },
      ],
    });
    await waitForReady(clusterStorePath(store), 'True', 'Valid');
    const spec = {
      secretStoreRef: { name: store, kind: 'ClusterSecretStore' },
      data: [{ secretKey: 'value', remoteRef: { key: 'shared' } }],
    };
    for (const ns of [allowed, labelled, denied]) await createExternalSecret(ns, 'shared', spec);

    await waitForReady(esPath(allowed, 'shared'), 'True', 'SecretSynced');
    await assertSecretValues(allowed, 'shared', { value: 'v1' });
    await waitForReady(esPath(labelled, 'shared'), 'True', 'SecretSynced');
    await assertSecretValues(labelled, 'shared', { value: 'v1' });

    const es = await waitForReady(esPath(denied, 'shared'), 'False', 'SecretSyncedError');
    assert.equal(
      readyOf(es)?.message,
      `could not use secret store: using ClusterSecretStore "${store}" is not allowed from namespace "${denied}": denied by spec.conditions`,
    );
    assert.equal(
      await read(secretPath(denied, 'shared')),
      undefined,
      'nothing written in the denied namespace',
    );
  });
});
