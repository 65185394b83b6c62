/**
 * The kubernetes provider reads a Secret of another namespace with a service account's identity (a
 * TokenRequest, or a service-account-token Secret filled by kube-controller-manager), never with
 * capstan's own: the same store pointed at a namespace the account may not read is refused, although
 * capstan itself could read it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, uniqueName } from './lib';
import {
  assertSecretValues,
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  read,
  readyOf,
  secretPath,
  storePath,
  waitForReady,
  type SecretObj,
} from './externalsecret-lib';

/** A ServiceAccount in `ns` that may get the Secret `db` of namespace `remote`, and nothing else. */
async function reader(ns: string, remote: string): Promise<void> {
  await kube().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } },
  });
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${remote}`;
  await kube().request('POST', `${rbac}/roles`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'secret-reader', namespace: remote },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['db'] }],
    },
  });
  await kube().request('POST', `${rbac}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'secret-reader', namespace: remote },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    },
  });
}

describe('ExternalSecret with the kubernetes provider', () => {
  test('reads a Secret of another namespace with a service account token, not the operator identity', async () => {
    const ns = uniqueName('es-k8s');
    const remote = uniqueName('es-k8s-remote');
    const forbidden = uniqueName('es-k8s-forbidden');
    for (const n of [ns, remote, forbidden]) await createNamespace(n);
    await createSecret(remote, 'db', { username: 'app', password: 's3cret' });
    await createSecret(forbidden, 'db', { username: 'root', password: 'top' });
    await reader(ns, remote);

    // 1. TokenRequest for the service account
    await createSecretStore(ns, 'remote', {
      kubernetes: { remoteNamespace: remote, auth: { serviceAccount: { name: 'reader' } } },
    });
    await waitForReady(storePath(ns, 'remote'), 'True', 'Valid');
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'remote' },
      data: [{ secretKey: 'user', remoteRef: { key: 'db', property: 'username' } }],
      dataFrom: [{ extract: { key: 'db' } }],
    });
    await waitForReady(esPath(ns, 'db'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'db', { user: 'app', username: 'app', password: 's3cret' });

    // 2. a service-account-token Secret, filled by kube-controller-manager's token controller
    await createSecret(
      ns,
      'reader-token',
      {},
      { annotations: { 'kubernetes.io/service-account.name': 'reader' } },
      'kubernetes.io/service-account-token',
    );
    await waitFor(async () => !!(await read<SecretObj>(secretPath(ns, 'reader-token')))?.data?.token, {
      timeoutMs: 30_000,
      what: 'the token controller to fill reader-token',
    });
    await createSecretStore(ns, 'remote-token', {
      kubernetes: {
        remoteNamespace: remote,
        auth: { token: { bearerToken: { name: 'reader-token', key: 'token' } } },
      },
    });
    await waitForReady(storePath(ns, 'remote-token'), 'True', 'Valid');
    await createExternalSecret(ns, 'db-token', {
      secretStoreRef: { name: 'remote-token' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
    });
    await waitForReady(esPath(ns, 'db-token'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'db-token', { password: 's3cret' });

    // 3. what the account may not read is refused, although capstan itself (a cluster admin here) could read it:
    //    another Secret of the same namespace fails at fetch time with the account's identity in the error...
    await createSecret(remote, 'admin-only', { password: 'top' });
    await createExternalSecret(ns, 'stolen', {
      secretStoreRef: { name: 'remote' },
      data: [{ secretKey: 'password', remoteRef: { key: 'admin-only', property: 'password' } }],
    });
    const stolen = await waitForReady(esPath(ns, 'stolen'), 'False', 'SecretSyncedError');
    assert.match(
      readyOf(stolen)?.message ?? '',
      new RegExp(`403 Forbidden: .*User "system:serviceaccount:${ns}:reader" cannot get resource "secrets"`),
    );
    assert.equal(await read(secretPath(ns, 'stolen')), undefined, 'nothing written');

    //    ...and a store pointed at a namespace the account has no rights in fails validation.
    await createSecretStore(ns, 'forbidden', {
      kubernetes: { remoteNamespace: forbidden, auth: { serviceAccount: { name: 'reader' } } },
    });
    const store = await waitForReady(storePath(ns, 'forbidden'), 'False', 'ValidationFailed');
    assert.match(
      readyOf(store)?.message ?? '',
      new RegExp(`may not get secrets in namespace "${forbidden}"`),
    );
    await createExternalSecret(ns, 'forbidden', {
      secretStoreRef: { name: 'forbidden' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
    });
    const es = await waitForReady(esPath(ns, 'forbidden'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /SecretStore "forbidden" is not ready \(ValidationFailed/);
    assert.equal(await read(secretPath(ns, 'forbidden')), undefined, 'nothing written');
  });
});
