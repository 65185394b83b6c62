/**
 * creationPolicy and drift on a real control plane: Owner Secrets are deleted with their
 * ExternalSecret by kube-controller-manager's garbage collector, Orphan Secrets outlive it, Merge adds
 * keys to an existing Secret (never creating one), a hand-edited or deleted Secret is restored, and a
 * Secret capstan did not create is never taken over.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, uniqueName } from './lib';
import {
  assertSecretValues,
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  mergePatch,
  read,
  readyOf,
  remove,
  secretPath,
  waitForReady,
  waitForSecretGone,
  waitForSecretValues,
  type SecretObj,
} from './externalsecret-lib';

const VALUES = { user: 'app', password: 's3cret' };

async function setUp(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await createNamespace(ns);
  await createSecretStore(ns, 'fake', {
    fake: { data: [{ key: '/db', value: JSON.stringify({ username: 'app', password: 's3cret' }) }] },
  });
  return ns;
}

function spec(target: Record<string, unknown>, refreshInterval = '1h'): Record<string, unknown> {
  return {
    refreshInterval,
    secretStoreRef: { name: 'fake' },
    target,
    data: [
      { secretKey: 'user', remoteRef: { key: '/db', property: 'username' } },
      { secretKey: 'password', remoteRef: { key: '/db', property: 'password' } },
    ],
  };
}

describe('ExternalSecret target policies', () => {
  test('creationPolicy Owner: the garbage collector deletes the Secret with the ExternalSecret', async () => {
    const ns = await setUp('es-owner');
    await createExternalSecret(ns, 'owned', spec({ creationPolicy: 'Owner' }));
    await waitForReady(esPath(ns, 'owned'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'owned', VALUES);
    await remove(esPath(ns, 'owned'));
    await waitForSecretGone(ns, 'owned', 'the garbage collector to delete the owned Secret');
  });

  test('creationPolicy Orphan: the Secret has no owner and outlives the ExternalSecret', async () => {
    const ns = await setUp('es-orphan');
    await createExternalSecret(ns, 'orphan', spec({ creationPolicy: 'Orphan' }));
    await waitForReady(esPath(ns, 'orphan'), 'True', 'SecretSynced');
    const secret = await read<SecretObj>(secretPath(ns, 'orphan'));
    assert.equal(secret?.metadata.ownerReferences, undefined, 'no ownerReference');
    await remove(esPath(ns, 'orphan'));
    await waitFor(async () => !(await read(esPath(ns, 'orphan'))), { timeoutMs: 30_000, what: 'ES deleted' });
    await sleep(3000); // give the garbage collector time to (wrongly) act
    await assertSecretValues(ns, 'orphan', VALUES);
  });

  test('creationPolicy Merge: keys are added to an existing Secret, which is never created', async () => {
    const ns = await setUp('es-merge');
    await createExternalSecret(ns, 'merge', spec({ name: 'shared', creationPolicy: 'Merge' }, '2s'));
    const pending = await waitForReady(esPath(ns, 'merge'), 'False', 'SecretSyncedError');
    assert.match(readyOf(pending)?.message ?? '', /CreationPolicy=Merge: Secret "shared" does not exist/);
    assert.equal(await read(secretPath(ns, 'shared')), undefined, 'Merge never creates the Secret');
    await createSecret(ns, 'shared', { keep: 'mine' });
    await waitForReady(esPath(ns, 'merge'), 'True', 'SecretSynced', 30_000);
    await assertSecretValues(ns, 'shared', { keep: 'mine', ...VALUES });
    const secret = await read<SecretObj>(secretPath(ns, 'shared'));
    assert.equal(secret?.metadata.ownerReferences, undefined, 'Merge adds no ownerReference');
    assert.equal(secret?.metadata.labels?.['reconcile.external-secrets.io/managed'], 'true');
  });

  test('a hand-edited or deleted target Secret is restored', async () => {
    const ns = await setUp('es-drift');
    await createExternalSecret(ns, 'drift', spec({}));
    await waitForReady(esPath(ns, 'drift'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'drift', VALUES);

    await mergePatch(secretPath(ns, 'drift'), {
      data: {
        password: Buffer.from('hacked').toString('base64'),
        extra: Buffer.from('x').toString('base64'),
      },
    });
    await waitForSecretValues(ns, 'drift', VALUES, 'the hand edit to be reverted', 20_000);

    await kube().request('DELETE', secretPath(ns, 'drift'));
    await waitForSecretValues(ns, 'drift', VALUES, 'the deleted Secret to be re-created', 20_000);
    const secret = await read<SecretObj>(secretPath(ns, 'drift'));
    assert.equal(secret?.metadata.ownerReferences?.[0]?.kind, 'ExternalSecret', 're-created with its owner');
  });

  test('a new target name (Owner) moves the Secret: the one of the old name is deleted', async () => {
    const ns = await setUp('es-rename');
    await createExternalSecret(ns, 'moving', spec({ name: 'before' }));
    await waitForReady(esPath(ns, 'moving'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'before', VALUES);
    await mergePatch(esPath(ns, 'moving'), { spec: { target: { name: 'after' } } });
    await waitForSecretValues(ns, 'after', VALUES, 'the Secret under its new name', 20_000);
    await waitForSecretGone(ns, 'before', 'the Secret of the old name to be deleted', 20_000);
  });

  test('creationPolicy Owner never takes over a Secret it did not create', async () => {
    const ns = await setUp('es-takeover');
    await createSecret(ns, 'taken', { theirs: 'x' });
    await createExternalSecret(ns, 'grab', spec({ name: 'taken' }));
    const es = await waitForReady(esPath(ns, 'grab'), 'False', 'SecretSyncedError');
    assert.match(
      readyOf(es)?.message ?? '',
      /Secret "taken" already exists and capstan does not take it over/,
    );
    await assertSecretValues(ns, 'taken', { theirs: 'x' });
    const secret = await read<SecretObj>(secretPath(ns, 'taken'));
    assert.equal(secret?.metadata.ownerReferences, undefined, 'no ownerReference added');

    // another ExternalSecret's Secret is refused too
    await createExternalSecret(ns, 'first', spec({ name: 'contested' }));
    await waitForReady(esPath(ns, 'first'), 'True', 'SecretSynced');
    await createExternalSecret(ns, 'second', spec({ name: 'contested', creationPolicy: 'Orphan' }));
    const second = await waitForReady(esPath(ns, 'second'), 'False', 'SecretSyncedError');
    assert.match(readyOf(second)?.message ?? '', /owned by another ExternalSecret.*"first"/);
  });
});
