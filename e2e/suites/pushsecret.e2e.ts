/**
 * PushSecret on a real control plane, round trip through the two writing providers capstan has here:
 * - fake: ESO's documented example unchanged (store aws-parameterstore, Secret pokedex-credentials,
 *   secretKey best-pokemon -> remoteKey my-first-parameter, updatePolicy Replace, deletionPolicy
 *   Delete, refreshInterval 1h) in a fresh namespace; an ExternalSecret reads the pushed value back
 *   from the same store, and deleting the PushSecret removes it (finalizer).
 * - kubernetes: values land in a Secret of another namespace with the store's service account (not
 *   capstan's identity), follow the source, a key removed from data is deleted remotely, IfNotExists
 *   leaves someone else's value alone, and deleting the PushSecret removes the remote Secret.
 * - the source Secrets are watched: one made after the PushSecret, or changed, is pushed at once
 *   although refreshInterval is an hour; a store dropped from secretStoreRefs has its values deleted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, uniqueName } from './lib';
import {
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  waitForEvent,
  mergePatch,
  read,
  readyOf,
  remove,
  secretPath,
  secretValues,
  storePath,
  waitForObject,
  waitForReady,
  waitForSecretValues,
} from './externalsecret-lib';
import { createPushSecret, psPath, type PsObject } from './pushsecret-lib';

/** A ServiceAccount in `ns` that may read and write Secrets of `remote`. */
async function writer(ns: string, remote: string): Promise<void> {
  await kube().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'writer', namespace: ns } },
  });
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${remote}`;
  await kube().request('POST', `${rbac}/roles`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'secret-writer', namespace: remote },
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
      ],
    },
  });
  await kube().request('POST', `${rbac}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'secret-writer', namespace: remote },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'writer', namespace: ns }],
    },
  });
}

describe('PushSecret', () => {
  test("fake provider: ESO's documented example round trip, deletion removes the pushed value", async () => {
    const ns = uniqueName('ps-fake');
    await createNamespace(ns);
    await createSecretStore(ns, 'aws-parameterstore', { fake: { data: [] } });
    await waitForReady(storePath(ns, 'aws-parameterstore'), 'True', 'Valid');
    await createSecret(ns, 'pokedex-credentials', { 'best-pokemon': 'Pikachu' });
    // the documented example, with only its namespace changed
    await createPushSecret(ns, 'pushsecret-example', {
      updatePolicy: 'Replace',
      deletionPolicy: 'Delete',
      refreshInterval: '1h',
      secretStoreRefs: [{ name: 'aws-parameterstore', kind: 'SecretStore' }],
      selector: { secret: { name: 'pokedex-credentials' } },
      data: [{ match: { secretKey: 'best-pokemon', remoteRef: { remoteKey: 'my-first-parameter' } } }],
    });
    const ps = (await waitForReady(psPath(ns, 'pushsecret-example'), 'True', 'Synced')) as PsObject;
    assert.deepEqual(Object.keys(ps.status?.syncedPushSecrets?.['SecretStore/aws-parameterstore'] ?? {}), [
      'my-first-parameter',
    ]);
    assert.equal(readyOf(ps)?.message, 'PushSecret synced successfully');
    await waitForEvent(ns, 'pushsecret-example', 'Synced', 'a Synced event, as ESO');
    const withFinalizer = await read<PsObject>(psPath(ns, 'pushsecret-example'));
    assert.ok(withFinalizer?.metadata.finalizers?.includes('pushsecret.externalsecrets.io/finalizer'));

    // round trip: an ExternalSecret reads the pushed value from the same store
    await createExternalSecret(ns, 'readback', {
      refreshInterval: '1s',
      secretStoreRef: { name: 'aws-parameterstore' },
      data: [{ secretKey: 'pokemon', remoteRef: { key: 'my-first-parameter' } }],
    });
    await waitForSecretValues(ns, 'readback', { pokemon: 'Pikachu' }, 'the pushed value read back');

    // deletionPolicy Delete: the PushSecret's deletion removes the value (the read-back starts failing)
    await remove(psPath(ns, 'pushsecret-example'));
    await waitFor(async () => !(await read(psPath(ns, 'pushsecret-example'))), {
      timeoutMs: 30_000,
      what: 'PushSecret gone (finalizer removed)',
    });
    const es = await waitForObject(
      esPath(ns, 'readback'),
      (o) => readyOf(o)?.status === 'False' && /my-first-parameter/.test(readyOf(o)?.message ?? ''),
      'the read-back fails once the pushed key is deleted',
    );
    assert.match(readyOf(es)?.message ?? '', /not found/);
  });

  test('kubernetes provider: push, follow the source, delete removed keys, IfNotExists, delete on removal', async () => {
    const ns = uniqueName('ps-k8s');
    const remote = uniqueName('ps-k8s-remote');
    for (const n of [ns, remote]) await createNamespace(n);
    await writer(ns, remote);
    await createSecretStore(ns, 'remote', {
      kubernetes: { remoteNamespace: remote, auth: { serviceAccount: { name: 'writer' } } },
    });
    await waitForReady(storePath(ns, 'remote'), 'True', 'Valid');
    await createSecret(ns, 'source', { user: 'app', password: 's3cret' });
    await createSecret(remote, 'theirs', { token: 'keep-me' });
    await createPushSecret(ns, 'push', {
      deletionPolicy: 'Delete',
      refreshInterval: '1s',
      secretStoreRefs: [{ name: 'remote' }],
      selector: { secret: { name: 'source' } },
      data: [
        { match: { secretKey: 'user', remoteRef: { remoteKey: 'pushed', property: 'username' } } },
        { match: { secretKey: 'password', remoteRef: { remoteKey: 'pushed', property: 'password' } } },
        { match: { remoteRef: { remoteKey: 'whole' } } },
      ],
    });
    await waitForReady(psPath(ns, 'push'), 'True', 'Synced');
    await waitForSecretValues(
      remote,
      'pushed',
      { username: 'app', password: 's3cret' },
      'remote Secret pushed',
    );
    await waitForSecretValues(remote, 'whole', { user: 'app', password: 's3cret' }, 'whole Secret pushed');

    // the source changes: the next refresh pushes it
    await mergePatch(secretPath(ns, 'source'), { data: { password: Buffer.from('n3w').toString('base64') } });
    await waitForSecretValues(
      remote,
      'pushed',
      { username: 'app', password: 'n3w' },
      'remote follows the source',
    );

    // a key removed from data is deleted remotely (deletionPolicy Delete); the rest stays
    await mergePatch(psPath(ns, 'push'), {
      spec: {
        data: [
          { match: { secretKey: 'user', remoteRef: { remoteKey: 'pushed', property: 'username' } } },
          { match: { secretKey: 'user', remoteRef: { remoteKey: 'theirs', property: 'token' } } },
        ],
        updatePolicy: 'IfNotExists',
      },
    });
    await waitForSecretValues(
      remote,
      'pushed',
      { username: 'app' },
      'password removed from the remote Secret',
    );
    await waitFor(async () => !(await read(secretPath(remote, 'whole'))), {
      timeoutMs: 30_000,
      what: 'remote Secret whole deleted when its entry left data',
    });
    const ps = (await waitForObject(
      psPath(ns, 'push'),
      (o) => /Existing secrets in providers unchanged/.test(readyOf(o)?.message ?? ''),
      "Ready True with ESO's IfNotExists message",
    )) as PsObject;
    assert.equal(readyOf(ps)?.status, 'True');
    // IfNotExists: someone else's existing value is neither overwritten nor recorded as ours
    assert.deepEqual(await secretValues(remote, 'theirs'), { token: 'keep-me' });
    assert.deepEqual(Object.keys(ps.status?.syncedPushSecrets?.['SecretStore/remote'] ?? {}).sort(), [
      'pushed/username',
    ]);

    // deleting the PushSecret deletes what it pushed, and only that
    await remove(psPath(ns, 'push'));
    await waitFor(async () => !(await read(secretPath(remote, 'pushed'))), {
      timeoutMs: 30_000,
      what: 'remote Secret pushed deleted with the PushSecret',
    });
    assert.deepEqual(await secretValues(remote, 'theirs'), { token: 'keep-me' });
  });

  test('sources: Secrets by label selector, a template, and a generator', async () => {
    const ns = uniqueName('ps-src');
    const remote = uniqueName('ps-src-remote');
    for (const n of [ns, remote]) await createNamespace(n);
    await writer(ns, remote);
    await createSecretStore(ns, 'remote', {
      kubernetes: { remoteNamespace: remote, auth: { serviceAccount: { name: 'writer' } } },
    });
    await waitForReady(storePath(ns, 'remote'), 'True', 'Valid');
    await createSecret(ns, 'one', { a: '1' }, { labels: { push: 'me' } });
    await createSecret(ns, 'two', { b: '2' }, { labels: { push: 'me' } });
    await createSecret(ns, 'other', { a: 'not-me' });
    await createPushSecret(ns, 'selected', {
      secretStoreRefs: [{ name: 'remote' }],
      selector: { secret: { selector: { matchLabels: { push: 'me' } } } },
      data: [
        { match: { secretKey: 'a', remoteRef: { remoteKey: 'selected', property: 'a' } } },
        { match: { secretKey: 'b', remoteRef: { remoteKey: 'selected', property: 'b' } } },
      ],
    });
    await waitForSecretValues(remote, 'selected', { a: '1', b: '2' }, 'keys of both labelled Secrets');
    await createPushSecret(ns, 'templated', {
      secretStoreRefs: [{ name: 'remote' }],
      selector: { secret: { name: 'one' } },
      template: { data: { url: 'https://user:{{ .a }}@db.local' } },
      data: [{ match: { secretKey: 'url', remoteRef: { remoteKey: 'templated', property: 'url' } } }],
    });
    await waitForSecretValues(
      remote,
      'templated',
      { url: 'https://user:1@db.local' },
      'the rendered template',
    );
    await kube().request('POST', `/apis/generators.external-secrets.io/v1alpha1/namespaces/${ns}/uuids`, {
      body: {
        apiVersion: 'generators.external-secrets.io/v1alpha1',
        kind: 'UUID',
        metadata: { name: 'id' },
        spec: {},
      },
    });
    await createPushSecret(ns, 'generated', {
      secretStoreRefs: [{ name: 'remote' }],
      selector: {
        generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'UUID', name: 'id' },
      },
      data: [{ match: { secretKey: 'uuid', remoteRef: { remoteKey: 'generated', property: 'id' } } }],
    });
    const id = await waitFor(async () => (await secretValues(remote, 'generated'))?.id, {
      timeoutMs: 60_000,
      what: 'the generated uuid pushed',
    });
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('dataTo: per-key pushes named by rewrite (fake, read back), and a bundle under one remoteKey (kubernetes)', async () => {
    const ns = uniqueName('ps-datato');
    const remote = uniqueName('ps-datato-remote');
    for (const n of [ns, remote]) await createNamespace(n);
    await writer(ns, remote);
    await createSecretStore(ns, 'fake', { fake: { data: [] } });
    await createSecretStore(ns, 'remote', {
      kubernetes: { remoteNamespace: remote, auth: { serviceAccount: { name: 'writer' } } },
    });
    await waitForReady(storePath(ns, 'fake'), 'True', 'Valid');
    await waitForReady(storePath(ns, 'remote'), 'True', 'Valid');
    await createSecret(ns, 'db-credentials', { 'db-host': 'db.local', 'db-user': 'app', 'api-token': 't' });
    await createPushSecret(ns, 'push-db-credentials', {
      refreshInterval: '1h',
      secretStoreRefs: [{ name: 'fake', kind: 'SecretStore' }],
      selector: { secret: { name: 'db-credentials' } },
      dataTo: [
        {
          storeRef: { name: 'fake' },
          match: { regexp: '^db-' },
          rewrite: [{ regexp: { source: '^db-', target: 'myapp/database/' } }],
        },
        { storeRef: { name: 'remote' }, match: { regexp: '^db-' }, remoteKey: 'bundle' },
      ],
    });
    const ps = (await waitForReady(psPath(ns, 'push-db-credentials'), 'True', 'Synced')) as PsObject;
    assert.deepEqual(Object.keys(ps.status?.syncedPushSecrets?.['SecretStore/fake'] ?? {}).sort(), [
      'myapp/database/host',
      'myapp/database/user',
    ]);
    await waitForSecretValues(
      remote,
      'bundle',
      { 'db-host': 'db.local', 'db-user': 'app' },
      'the matched keys bundled',
    );
    await createExternalSecret(ns, 'readback', {
      secretStoreRef: { name: 'fake' },
      data: [
        { secretKey: 'host', remoteRef: { key: 'myapp/database/host' } },
        { secretKey: 'user', remoteRef: { key: 'myapp/database/user' } },
      ],
    });
    await waitForSecretValues(ns, 'readback', { host: 'db.local', user: 'app' }, 'per-key pushes read back');
  });

  test('source Secrets are watched: made later or changed, pushed at once (refreshInterval 1h); a store dropped from secretStoreRefs is cleared', async () => {
    const ns = uniqueName('ps-watch');
    const remote = uniqueName('ps-watch-remote');
    for (const n of [ns, remote]) await createNamespace(n);
    await writer(ns, remote);
    await createSecretStore(ns, 'remote', {
      kubernetes: { remoteNamespace: remote, auth: { serviceAccount: { name: 'writer' } } },
    });
    await createSecretStore(ns, 'fake', { fake: { data: [] } });
    await waitForReady(storePath(ns, 'remote'), 'True', 'Valid');
    await waitForReady(storePath(ns, 'fake'), 'True', 'Valid');
    const spec = (stores: string[]) => ({
      refreshInterval: '1h',
      deletionPolicy: 'Delete',
      secretStoreRefs: stores.map((name) => ({ name, kind: 'SecretStore' })),
      selector: { secret: { name: 'later' } },
      data: [{ match: { secretKey: 'token', remoteRef: { remoteKey: 'watched', property: 'token' } } }],
    });
    await createPushSecret(ns, 'watch', spec(['remote', 'fake']));
    await waitForReady(psPath(ns, 'watch'), 'False', 'Errored');
    // made after the failure: pushed (by the Secret's event, or the retry after the failure)
    await createSecret(ns, 'later', { token: 'one' });
    await waitFor(async () => (await secretValues(remote, 'watched'))?.token === 'one', {
      timeoutMs: 15_000,
      what: 'the source Secret pushed once it exists',
    });
    await waitForReady(psPath(ns, 'watch'), 'True', 'Synced');
    // changed after a successful push: only the Secret's event can push it before the hour is over
    await mergePatch(secretPath(ns, 'later'), { data: { token: Buffer.from('two').toString('base64') } });
    await waitFor(async () => (await secretValues(remote, 'watched'))?.token === 'two', {
      timeoutMs: 15_000,
      what: 'the change of the source Secret pushed at once',
    });
    const before = await waitForObject(
      psPath(ns, 'watch'),
      (o) => Object.keys((o as PsObject).status?.syncedPushSecrets ?? {}).length === 2,
      'both stores recorded',
    );
    const version = (before as PsObject).status?.syncedSourceVersion;
    assert.match(version ?? '', /^[0-9a-f]{32}$/, 'the source version pushed last');

    // the kubernetes store leaves secretStoreRefs: what was pushed there is deleted (deletionPolicy Delete)
    await mergePatch(psPath(ns, 'watch'), {
      spec: { secretStoreRefs: [{ name: 'fake', kind: 'SecretStore' }] },
    });
    await waitFor(async () => !(await read(secretPath(remote, 'watched'))), {
      timeoutMs: 30_000,
      what: 'the value pushed to the dropped store deleted',
    });
    const after = (await waitForObject(
      psPath(ns, 'watch'),
      (o) => !(o as PsObject).status?.syncedPushSecrets?.['SecretStore/remote'],
      'the dropped store gone from syncedPushSecrets',
    )) as PsObject;
    assert.deepEqual(Object.keys(after.status?.syncedPushSecrets ?? {}), ['SecretStore/fake']);
    assert.equal(readyOf(after)?.status, 'True');
    // the fake store still has the value: an ExternalSecret reads it back
    await createExternalSecret(ns, 'readback', {
      secretStoreRef: { name: 'fake' },
      data: [{ secretKey: 'token', remoteRef: { key: 'watched', property: 'token' } }],
    });
    await waitForSecretValues(
      ns,
      'readback',
      { token: 'two' },
      'the value kept in the store still referenced',
    );
  });

  test('a missing source is a clear condition; nothing is written', async () => {
    const ns = uniqueName('ps-bad');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', { fake: { data: [] } });
    await waitForReady(storePath(ns, 'fake'), 'True', 'Valid');
    await createPushSecret(ns, 'nosource', {
      secretStoreRefs: [{ name: 'fake' }],
      selector: { secret: { name: 'missing' } },
      data: [{ match: { secretKey: 'k', remoteRef: { remoteKey: 'r' } } }],
    });
    const ps = await waitForReady(psPath(ns, 'nosource'), 'False', 'Errored');
    assert.match(readyOf(ps)?.message ?? '', /Secret "missing" not found/);
    await waitForEvent(ns, 'nosource', 'Errored', 'an Errored event, as ESO');
    // one of ESO's generator kinds that capstan does not implement: accepted by the API, named in Ready
    await createPushSecret(ns, 'sshkey', {
      secretStoreRefs: [{ name: 'fake' }],
      selector: {
        generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'SSHKey', name: 'k' },
      },
      data: [{ match: { secretKey: 'privateKey', remoteRef: { remoteKey: 'ssh' } } }],
    });
    const ssh = await waitForReady(psPath(ns, 'sshkey'), 'False', 'Errored');
    assert.match(readyOf(ssh)?.message ?? '', /generator kind "SSHKey" is not supported by capstan/);
  });
});
