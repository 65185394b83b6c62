/**
 * Invalid input the CRD schema accepts but capstan's rules refuse (as ESO's webhooks): the object gets
 * a condition naming the problem and nothing is written.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNamespace, uniqueName } from './lib';
import {
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  read,
  readyOf,
  secretPath,
  storePath,
  waitForReady,
} from './externalsecret-lib';

describe('invalid ExternalSecrets and stores', () => {
  test('deletionPolicy Delete with creationPolicy Merge: a condition naming the field, nothing written', async () => {
    const ns = uniqueName('es-invalid');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', { fake: { data: [{ key: 'k', value: 'v' }] } });
    await createSecret(ns, 'target', { keep: 'x' });
    await createExternalSecret(ns, 'bad', {
      secretStoreRef: { name: 'fake' },
      target: { name: 'target', creationPolicy: 'Merge', deletionPolicy: 'Delete' },
      data: [{ secretKey: 'k', remoteRef: { key: 'k' } }],
    });
    const es = await waitForReady(esPath(ns, 'bad'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /invalid ExternalSecret spec: spec\.target\.deletionPolicy: /);
    const target = await read<{ data?: Record<string, string> }>(secretPath(ns, 'target'));
    assert.deepEqual(Object.keys(target?.data ?? {}), ['keep'], 'the existing Secret is untouched');
  });

  test('a store with two providers is InvalidProviderConfig, and its ExternalSecrets write nothing', async () => {
    const ns = uniqueName('es-badstore');
    await createNamespace(ns);
    await createSecretStore(ns, 'two', {
      fake: { data: [{ key: 'k', value: 'v' }] },
      kubernetes: { remoteNamespace: 'default' },
    });
    const store = await waitForReady(storePath(ns, 'two'), 'False', 'InvalidProviderConfig');
    assert.match(readyOf(store)?.message ?? '', /spec\.provider: .*exactly one backend specified, found 2/);
    await createExternalSecret(ns, 'uses-bad-store', {
      secretStoreRef: { name: 'two' },
      data: [{ secretKey: 'k', remoteRef: { key: 'k' } }],
    });
    const es = await waitForReady(esPath(ns, 'uses-bad-store'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /SecretStore "two" is not ready \(InvalidProviderConfig/);
    assert.equal(await read(secretPath(ns, 'uses-bad-store')), undefined, 'nothing written');
  });

  test('an ExternalSecret whose store does not exist says so', async () => {
    const ns = uniqueName('es-nostore');
    await createNamespace(ns);
    await createExternalSecret(ns, 'orphan', {
      secretStoreRef: { name: 'missing' },
      data: [{ secretKey: 'k', remoteRef: { key: 'k' } }],
    });
    const es = await waitForReady(esPath(ns, 'orphan'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /SecretStore "missing" not found/);
  });
});
