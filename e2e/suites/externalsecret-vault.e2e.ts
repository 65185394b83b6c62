/**
 * The `vault` provider against a real Vault dev server (built from Go modules by `make setup`, started
 * by `e2e/harness/vault.ts`): KV v2 (key, property, nested gjson property, version, extract, find) and
 * KV v1, with token, AppRole and Kubernetes auth; for Kubernetes auth Vault reviews the service account
 * token with the run's real API server. A refused token makes the store not Ready, and a token revoked
 * under a synced ExternalSecret fails the refresh without deleting its Secret. The provider's write side
 * (PushSecret's pushSecret/secretExists/deleteSecret) is exercised directly against the same server.
 * The secrets follow ESO's documented Vault examples (`foo` with `my-value`, the `person` JSON);
 * values are compared by equality and never printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { vaultProvider } from '../../operator/providers/vault';
import { startVault, type VaultServer } from '../harness/vault';
import { createNamespace, kube, uniqueName } from './lib';
import {
  assertSecretValues,
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  readyOf,
  secretValues,
  storePath,
  waitForReady,
  waitForSecretValues,
} from './externalsecret-lib';

/** ESO's documented nested example (`vault kv put secret/person @person.json`). */
const PERSON = {
  name: { first: 'Tom', last: 'Anderson' },
  friends: [
    { first: 'Dale', last: 'Murphy' },
    { first: 'Roger', last: 'Craig' },
  ],
};

let vault: VaultServer;

/** A read-only policy on `<mount>/<ns>/*` of both KV mounts, and a token holding it. */
async function readerPolicy(ns: string): Promise<string> {
  const name = `reader-${ns}`;
  await vault.api('PUT', `sys/policies/acl/${name}`, {
    policy: [
      `path "secret/data/${ns}/*" { capabilities = ["read"] }`,
      `path "secret/metadata/${ns}/*" { capabilities = ["read", "list"] }`,
      `path "kv1/${ns}/*" { capabilities = ["read", "list"] }`,
    ].join('\n'),
  });
  return name;
}

async function tokenFor(policy: string): Promise<string> {
  const res = await vault.api<{ auth: { client_token: string } }>('POST', 'auth/token/create', {
    policies: [policy],
    ttl: '1h',
  });
  return res.auth.client_token;
}

/** ESO's documented store, with the server of this run. */
function vaultStore(extra: Record<string, unknown>): Record<string, unknown> {
  return { vault: { server: vault.addr, path: 'secret', version: 'v2', ...extra } };
}

describe('ExternalSecret with the vault provider (real Vault dev server)', () => {
  before(async () => {
    vault = await startVault({ kube: kube() });
  });
  after(async () => {
    await vault?.stop();
  });

  test('KV v2 with a token: property, nested property, version, extract and find', async () => {
    const ns = uniqueName('es-vault');
    await createNamespace(ns);
    await vault.api('POST', `secret/data/${ns}/foo`, { data: { 'my-value': 'first' } });
    await vault.api('POST', `secret/data/${ns}/foo`, { data: { 'my-value': 's3cr3t', other: 'x' } });
    await vault.api('POST', `secret/data/${ns}/person`, { data: PERSON });
    await vault.api('POST', `secret/data/${ns}/db/db-a`, { data: { password: 'a' } });
    await vault.api('POST', `secret/data/${ns}/db/db-b`, { data: { password: 'b' } });
    await vault.api('POST', `secret/data/${ns}/db/other`, { data: { password: 'c' } });
    await createSecret(ns, 'vault-token', { token: await tokenFor(await readerPolicy(ns)) });
    await createSecretStore(
      ns,
      'vault-backend',
      vaultStore({ auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } }),
    );
    const store = await waitForReady(storePath(ns, 'vault-backend'), 'True', 'Valid');
    assert.equal(store.status?.capabilities, 'ReadWrite');

    await createExternalSecret(ns, 'vault-example', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault-backend', kind: 'SecretStore' },
      target: { name: 'example-sync' },
      data: [
        { secretKey: 'foobar', remoteRef: { key: `${ns}/foo`, property: 'my-value' } },
        { secretKey: 'first-version', remoteRef: { key: `${ns}/foo`, property: 'my-value', version: '1' } },
        { secretKey: 'friend', remoteRef: { key: `${ns}/person`, property: 'friends.1.first' } },
        { secretKey: 'name', remoteRef: { key: `${ns}/person`, property: 'name' } },
        // the mount and data/ in the key are accepted as ESO's buildPath does
        { secretKey: 'full-path', remoteRef: { key: `secret/data/${ns}/foo`, property: 'other' } },
      ],
      dataFrom: [{ extract: { key: `${ns}/foo` } }],
    });
    await waitForReady(esPath(ns, 'vault-example'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'example-sync', {
      foobar: 's3cr3t',
      'first-version': 'first',
      friend: 'Roger',
      name: '{"first":"Tom","last":"Anderson"}',
      'full-path': 'x',
      'my-value': 's3cr3t',
      other: 'x',
    });

    await createExternalSecret(ns, 'found', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault-backend' },
      dataFrom: [{ find: { path: `${ns}/db`, name: { regexp: 'db-' } } }],
    });
    await waitForReady(esPath(ns, 'found'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'found', {
      [`${ns}_db_db-a`]: '{"password":"a"}',
      [`${ns}_db_db-b`]: '{"password":"b"}',
    });

    // a missing key fails the ExternalSecret with the key and store named, nothing written
    await createExternalSecret(ns, 'missing', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault-backend' },
      data: [{ secretKey: 'x', remoteRef: { key: `${ns}/nope`, property: 'x' } }],
    });
    const missing = await waitForReady(esPath(ns, 'missing'), 'False');
    assert.match(readyOf(missing)?.message ?? '', new RegExp(`${ns}/nope`));
    assert.equal(await secretValues(ns, 'missing'), undefined);
  });

  test('KV v1 with a token', async () => {
    const ns = uniqueName('es-vault-v1');
    await createNamespace(ns);
    await vault.api('POST', `kv1/${ns}/app`, { user: 'admin', password: 'v1-secret' });
    await createSecret(ns, 'vault-token', { token: await tokenFor(await readerPolicy(ns)) });
    await createSecretStore(ns, 'kv1', {
      vault: {
        server: vault.addr,
        path: 'kv1',
        version: 'v1',
        auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
      },
    });
    await waitForReady(storePath(ns, 'kv1'), 'True', 'Valid');
    await createExternalSecret(ns, 'app', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'kv1' },
      data: [{ secretKey: 'login', remoteRef: { key: `${ns}/app`, property: 'user' } }],
      dataFrom: [{ extract: { key: `${ns}/app` } }],
    });
    await waitForReady(esPath(ns, 'app'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'app', { login: 'admin', user: 'admin', password: 'v1-secret' });
  });

  test('AppRole auth, with roleId inline and with roleRef', async () => {
    const ns = uniqueName('es-vault-approle');
    await createNamespace(ns);
    await vault.api('POST', `secret/data/${ns}/db`, { data: { password: 'approle-secret' } });
    const role = `app-${ns}`;
    await vault.api('POST', `auth/approle/role/${role}`, {
      token_policies: [await readerPolicy(ns)],
      token_ttl: '1h',
    });
    const roleId = (
      await vault.api<{ data: { role_id: string } }>('GET', `auth/approle/role/${role}/role-id`)
    ).data.role_id;
    const secretId = (
      await vault.api<{ data: { secret_id: string } }>('POST', `auth/approle/role/${role}/secret-id`)
    ).data.secret_id;
    await createSecret(ns, 'approle', { 'role-id': roleId, 'secret-id': secretId });
    await createSecretStore(
      ns,
      'inline',
      vaultStore({
        auth: { appRole: { path: 'approle', roleId, secretRef: { name: 'approle', key: 'secret-id' } } },
      }),
    );
    await createSecretStore(
      ns,
      'ref',
      vaultStore({
        auth: {
          appRole: {
            path: 'approle',
            roleRef: { name: 'approle', key: 'role-id' },
            secretRef: { name: 'approle', key: 'secret-id' },
          },
        },
      }),
    );
    for (const store of ['inline', 'ref']) {
      await waitForReady(storePath(ns, store), 'True', 'Valid');
      await createExternalSecret(ns, store, {
        refreshInterval: '1h',
        secretStoreRef: { name: store },
        data: [{ secretKey: 'password', remoteRef: { key: `${ns}/db`, property: 'password' } }],
      });
      await waitForReady(esPath(ns, store), 'True', 'SecretSynced');
      await assertSecretValues(ns, store, { password: 'approle-secret' });
    }
    // a wrong secret id is refused by Vault's login: the store is not Ready
    await createSecret(ns, 'wrong', { 'secret-id': 'not-the-secret-id' });
    await createSecretStore(
      ns,
      'wrong',
      vaultStore({
        auth: { appRole: { roleId, secretRef: { name: 'wrong', key: 'secret-id' } } },
      }),
    );
    const wrong = await waitForReady(storePath(ns, 'wrong'), 'False', 'ValidationFailed');
    assert.match(readyOf(wrong)?.message ?? '', /appRole login to Vault for store "wrong" failed/);
  });

  test('Kubernetes auth: Vault reviews the service account token with the real API server', async () => {
    const ns = uniqueName('es-vault-k8s');
    await createNamespace(ns);
    await vault.api('POST', `secret/data/${ns}/db`, { data: { password: 'k8s-secret' } });
    for (const sa of ['app', 'intruder'])
      await kube().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } },
      });
    const role = `app-${ns}`;
    await vault.api('POST', `auth/kubernetes/role/${role}`, {
      bound_service_account_names: ['app'],
      bound_service_account_namespaces: [ns],
      audience: 'vault',
      token_policies: [await readerPolicy(ns)],
      ttl: '1h',
    });
    await createSecretStore(
      ns,
      'k8s',
      vaultStore({
        auth: {
          kubernetes: {
            mountPath: 'kubernetes',
            role,
            serviceAccountRef: { name: 'app', audiences: ['vault'] },
          },
        },
      }),
    );
    await waitForReady(storePath(ns, 'k8s'), 'True', 'Valid');
    await createExternalSecret(ns, 'db', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'k8s' },
      data: [{ secretKey: 'password', remoteRef: { key: `${ns}/db`, property: 'password' } }],
    });
    await waitForReady(esPath(ns, 'db'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'db', { password: 'k8s-secret' });

    // a service account the role does not bind is refused by Vault's login
    await createSecretStore(
      ns,
      'intruder',
      vaultStore({
        auth: { kubernetes: { role, serviceAccountRef: { name: 'intruder', audiences: ['vault'] } } },
      }),
    );
    const intruder = await waitForReady(storePath(ns, 'intruder'), 'False', 'ValidationFailed');
    assert.match(readyOf(intruder)?.message ?? '', /kubernetes login to Vault for store "intruder" failed/);
    // without serviceAccountRef or secretRef capstan refuses (never its own token)
    await createSecretStore(ns, 'own', vaultStore({ auth: { kubernetes: { role } } }));
    const own = await waitForReady(storePath(ns, 'own'), 'False');
    assert.match(readyOf(own)?.message ?? '', /never logs in with its own service account token/);
  });

  test('a refused token: the store is not Ready; a revoked token fails the refresh and keeps the Secret', async () => {
    const ns = uniqueName('es-vault-outage');
    await createNamespace(ns);
    await vault.api('POST', `secret/data/${ns}/db`, { data: { password: 'kept' } });
    await createSecret(ns, 'bogus', { token: 'hvs.not-a-token' });
    await createSecretStore(
      ns,
      'wrong',
      vaultStore({ auth: { tokenSecretRef: { name: 'bogus', key: 'token' } } }),
    );
    const wrong = await waitForReady(storePath(ns, 'wrong'), 'False', 'ValidationFailed');
    assert.match(readyOf(wrong)?.message ?? '', /answered 403: .*permission denied/);

    const token = await tokenFor(await readerPolicy(ns));
    await createSecret(ns, 'vault-token', { token });
    await createSecretStore(
      ns,
      'good',
      vaultStore({ auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } }),
    );
    await waitForReady(storePath(ns, 'good'), 'True', 'Valid');
    await createExternalSecret(ns, 'db', {
      refreshInterval: '1s',
      secretStoreRef: { name: 'good' },
      data: [{ secretKey: 'password', remoteRef: { key: `${ns}/db`, property: 'password' } }],
    });
    await waitForSecretValues(ns, 'db', { password: 'kept' }, 'the Secret db to be written');
    await vault.api('POST', 'auth/token/revoke', { token });
    const failed = await waitForReady(esPath(ns, 'db'), 'False');
    assert.match(readyOf(failed)?.message ?? '', /permission denied/);
    await assertSecretValues(ns, 'db', { password: 'kept' });
  });

  test('provider write side (PushSecret): push, exists, refuse unmanaged, delete — KV v2 and v1', async () => {
    const ns = uniqueName('es-vault-push');
    await createNamespace(ns);
    await createSecret(ns, 'root-token', { token: vault.rootToken });
    for (const [mount, version] of [
      ['secret', 'v2'],
      ['kv1', 'v1'],
    ] as const) {
      const spec = {
        provider: {
          vault: {
            server: vault.addr,
            path: mount,
            version,
            auth: { tokenSecretRef: { name: 'root-token', key: 'token' } },
          },
        },
      };
      const client = await vaultProvider.newClient({
        store: { kind: 'SecretStore', name: `push-${version}`, namespace: ns, spec },
        namespace: ns,
        kube: kube(),
      });
      const source = { data: { user: Buffer.from('admin'), pass: Buffer.from('pushed') } };
      const key = `${ns}/pushed`;
      assert.equal(await client.secretExists!({ remoteKey: key }), false);
      await client.pushSecret!(source, { remoteKey: key });
      assert.equal((await client.getSecret({ key, property: 'pass' })).toString(), 'pushed');
      await client.pushSecret!(source, { remoteKey: key, property: 'extra', secretKey: 'user' });
      assert.equal((await client.getSecret({ key, property: 'extra' })).toString(), 'admin');
      assert.equal(await client.secretExists!({ remoteKey: key, property: 'extra' }), true);
      await client.deleteSecret!({ remoteKey: key, property: 'extra' });
      assert.equal(await client.secretExists!({ remoteKey: key, property: 'extra' }), false);
      assert.equal(await client.secretExists!({ remoteKey: key, property: 'pass' }), true);
      await client.deleteSecret!({ remoteKey: key });
      assert.equal(await client.secretExists!({ remoteKey: key }), false);
      // a secret nobody pushed is never overwritten or deleted
      const foreign = `${ns}/foreign`;
      await vault.api(
        'POST',
        version === 'v2' ? `secret/data/${foreign}` : `kv1/${foreign}`,
        version === 'v2' ? { data: { a: '1' } } : { a: '1' },
      );
      await assert.rejects(
        client.pushSecret!(source, { remoteKey: foreign }),
        /was not written by a PushSecret/,
      );
      await client.deleteSecret!({ remoteKey: foreign });
      assert.equal((await client.getSecret({ key: foreign, property: 'a' })).toString(), '1');
      await client.close();
    }
  });
});
