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

/** A ServiceAccount in `ns` that may get and list Secrets in `remote` only. */
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
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
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
      kubernetes: { remoteNamespace: remote, auth: { token: { bearerToken: { name: 'reader-token', key: 'token' } } } },
    });
    await waitForReady(storePath(ns, 'remote-token'), 'True', 'Valid');
    await createExternalSecret(ns, 'db-token', {
      secretStoreRef: { name: 'remote-token' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
    });
    await waitForReady(esPath(ns, 'db-token'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'db-token', { password: 's3cret' });

    // 3. the account may not read `forbidden` (capstan, a cluster admin here, could): refused
    await createSecretStore(ns, 'forbidden', {
      kubernetes: { remoteNamespace: forbidden, auth: { serviceAccount: { name: 'reader' } } },
    });
    const store = await waitForReady(storePath(ns, 'forbidden'), 'False', 'ValidationFailed');
    assert.match(readyOf(store)?.message ?? '', /may not get secrets in namespace/);
    await createExternalSecret(ns, 'stolen', {
      secretStoreRef: { name: 'remote' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
      target: { name: 'stolen' },
    });
    await waitForReady(esPath(ns, 'stolen'), 'True', 'SecretSynced');
    // the same key name through the allowed store gives the remote namespace's value, not forbidden's
    await assertSecretValues(ns, 'stolen', { password: 's3cret' });
  });

  test('a remote Secret the account may not read is a condition, and nothing is written', async () => {
    const ns = uniqueName('es-k8s-deny');
    const remote = uniqueName('es-k8s-deny-remote');
    const other = uniqueName('es-k8s-deny-other');
    for (const n of [ns, remote, other]) await createNamespace(n);
    await reader(ns, remote);
    await createSecret(other, 'db', { password: 'top' });
    // a store whose token is valid but whose remoteNamespace is not granted: validation fails
    // (SelfSubjectRulesReview/AccessReview with the store's identity); the ExternalSecret says so.
    await createSecretStore(ns, 'other', {
      kubernetes: { remoteNamespace: other, auth: { serviceAccount: { name: 'reader' } } },
    });
    await waitForReady(storePath(ns, 'other'), 'False', 'ValidationFailed');
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'other' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
    });
    const es = await waitForReady(esPath(ns, 'db'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /SecretStore "other" is not ready \(ValidationFailed/);
    assert.equal(await read(secretPath(ns, 'db')), undefined, 'nothing written');
  });
});
