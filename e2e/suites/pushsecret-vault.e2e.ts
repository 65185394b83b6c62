/**
 * PushSecret through the controller into a real Vault dev server (built by `make setup`, started by
 * `e2e/harness/vault.ts`), round trip:
 * - ESO's documented Vault PushSecret (`docs/snippets/vault-pushsecret.yaml`: Secret `source-secret`
 *   and PushSecret `pushsecret-example` in `default`, store `vault-secretstore`), applied unchanged with
 *   kubectl: the JSON value lands at `secret/vault/secret` marked as ESO marks what it pushed, an
 *   ExternalSecret reads it back, a change of the source is pushed, and deleting the PushSecret
 *   (deletionPolicy None, the default) leaves the value in Vault.
 * - deletionPolicy Delete with properties: each property is written, one removed from `data` is
 *   deleted, and deleting the PushSecret deletes the secret; a secret someone else wrote is neither
 *   overwritten nor taken over (Ready False, the value unchanged).
 * Values are compared by equality and never printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startVault, type VaultServer } from '../harness/vault';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, kubectl, uniqueName } from './lib';
import {
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  mergePatch,
  read,
  readyOf,
  remove,
  secretPath,
  storePath,
  waitForReady,
  waitForSecretValues,
} from './externalsecret-lib';
import { createPushSecret, psPath } from './pushsecret-lib';

/** ESO's documented Vault PushSecret (`docs/snippets/vault-pushsecret.yaml`), comments left out. */
const ESO_VAULT_PUSHSECRET = `apiVersion: v1
kind: Secret
metadata:
  name: source-secret
  namespace: default
stringData:
  source-key: "{\\"foo\\":\\"bar\\"}"
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata:
  name: pushsecret-example
  namespace: default
spec:
  refreshInterval: 10s
  secretStoreRefs:
    - name: vault-secretstore
      kind: SecretStore
  selector:
    secret:
      name: source-secret
  data:
    - match:
        secretKey: source-key
        remoteRef:
          remoteKey: vault/secret
`;

let vault: VaultServer;

/** A KV v2 secret's data and custom metadata, or undefined when Vault has none at `key`. */
async function kv2(
  key: string,
): Promise<{ data: Record<string, unknown>; meta?: Record<string, string> } | undefined> {
  try {
    const res = await vault.api<{
      data: {
        data: Record<string, unknown> | null;
        metadata?: { custom_metadata?: Record<string, string> | null };
      };
    }>('GET', `secret/data/${key}`);
    if (!res.data.data) return undefined; // deleted version
    return { data: res.data.data, meta: res.data.metadata?.custom_metadata ?? undefined };
  } catch (err) {
    if (/404/.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** A SecretStore `name` in `ns` on this run's Vault (KV v2 at `secret`), with the root token. */
async function vaultStore(ns: string, name: string): Promise<void> {
  await createSecret(ns, `${name}-token`, { token: vault.rootToken });
  await createSecretStore(ns, name, {
    vault: {
      server: vault.addr,
      path: 'secret',
      version: 'v2',
      auth: { tokenSecretRef: { name: `${name}-token`, key: 'token' } },
    },
  });
  await waitForReady(storePath(ns, name), 'True', 'Valid');
}

describe('PushSecret with the vault provider (real Vault dev server)', () => {
  before(async () => {
    vault = await startVault({ kube: kube() });
  });
  after(async () => {
    await vault?.stop();
  });

  test("ESO's documented Vault PushSecret, applied unchanged: pushed, read back, follows its source, kept on deletion", async () => {
    const ns = 'default'; // the example's namespace
    await vaultStore(ns, 'vault-secretstore');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-vault-')), 'vault-pushsecret.yaml');
    fs.writeFileSync(file, ESO_VAULT_PUSHSECRET);
    await kubectl('apply', '-f', file);
    try {
      await waitForReady(psPath(ns, 'pushsecret-example'), 'True', 'Synced');
      const pushed = await kv2('vault/secret');
      assert.deepEqual(pushed?.data, { foo: 'bar' }, 'the JSON value written as the secret');
      assert.equal(pushed?.meta?.['managed-by'], 'external-secrets', 'marked as ESO marks what it pushes');

      // round trip: an ExternalSecret reads the pushed value from the same store
      await createExternalSecret(ns, 'vault-readback', {
        refreshInterval: '1s',
        secretStoreRef: { name: 'vault-secretstore', kind: 'SecretStore' },
        data: [{ secretKey: 'foo', remoteRef: { key: 'vault/secret', property: 'foo' } }],
      });
      await waitForSecretValues(ns, 'vault-readback', { foo: 'bar' }, 'the pushed value read back');

      // the source changes: pushed (the source Secret is watched), and read back again
      await mergePatch(secretPath(ns, 'source-secret'), {
        data: { 'source-key': Buffer.from('{"foo":"baz"}').toString('base64') },
      });
      await waitFor(async () => (await kv2('vault/secret'))?.data.foo === 'baz', {
        timeoutMs: 20_000,
        what: 'the changed source in Vault',
      });
      await waitForSecretValues(ns, 'vault-readback', { foo: 'baz' }, 'the new value read back');

      // deletionPolicy None (the example's default): the value stays when the PushSecret goes
      await remove(psPath(ns, 'pushsecret-example'));
      await waitFor(async () => !(await read(psPath(ns, 'pushsecret-example'))), {
        timeoutMs: 30_000,
        what: 'the PushSecret gone',
      });
      assert.deepEqual((await kv2('vault/secret'))?.data, { foo: 'baz' });
    } finally {
      await remove(psPath(ns, 'pushsecret-example'));
      await remove(esPath(ns, 'vault-readback'));
      await remove(secretPath(ns, 'vault-readback'));
      await remove(secretPath(ns, 'source-secret'));
      await remove(storePath(ns, 'vault-secretstore'));
      await remove(secretPath(ns, 'vault-secretstore-token'));
    }
  });

  test('deletionPolicy Delete with properties: removed property and the deleted PushSecret delete; a foreign secret is refused', async () => {
    const ns = uniqueName('ps-vault');
    await createNamespace(ns);
    await vaultStore(ns, 'vault');
    await createSecret(ns, 'db', { user: 'app', password: 's3cret' });
    const entry = (secretKey: string) => ({
      match: { secretKey, remoteRef: { remoteKey: `${ns}/db`, property: secretKey } },
    });
    await createPushSecret(ns, 'db', {
      refreshInterval: '1h',
      deletionPolicy: 'Delete',
      secretStoreRefs: [{ name: 'vault' }],
      selector: { secret: { name: 'db' } },
      data: [entry('user'), entry('password')],
    });
    await waitForReady(psPath(ns, 'db'), 'True', 'Synced');
    assert.deepEqual((await kv2(`${ns}/db`))?.data, { user: 'app', password: 's3cret' });

    // a property removed from data is deleted from the Vault secret
    await mergePatch(psPath(ns, 'db'), { spec: { data: [entry('user')] } });
    await waitFor(async () => JSON.stringify((await kv2(`${ns}/db`))?.data) === '{"user":"app"}', {
      timeoutMs: 30_000,
      what: 'the password property deleted from Vault',
    });

    // someone else's secret is neither overwritten nor recorded
    await vault.api('POST', `secret/data/${ns}/theirs`, { data: { token: 'keep-me' } });
    await createPushSecret(ns, 'theirs', {
      deletionPolicy: 'Delete',
      secretStoreRefs: [{ name: 'vault' }],
      selector: { secret: { name: 'db' } },
      data: [{ match: { secretKey: 'user', remoteRef: { remoteKey: `${ns}/theirs`, property: 'token' } } }],
    });
    const refused = await waitForReady(psPath(ns, 'theirs'), 'False', 'Errored');
    assert.match(readyOf(refused)?.message ?? '', /not written by a PushSecret/);
    assert.deepEqual((await kv2(`${ns}/theirs`))?.data, { token: 'keep-me' });
    await remove(psPath(ns, 'theirs'));
    await waitFor(async () => !(await read(psPath(ns, 'theirs'))), {
      timeoutMs: 30_000,
      what: 'theirs gone',
    });
    assert.deepEqual((await kv2(`${ns}/theirs`))?.data, { token: 'keep-me' }, 'never deleted');

    // deleting the PushSecret deletes what it pushed (finalizer)
    await remove(psPath(ns, 'db'));
    await waitFor(async () => !(await read(psPath(ns, 'db'))), { timeoutMs: 30_000, what: 'db gone' });
    assert.equal(await kv2(`${ns}/db`), undefined, 'the Vault secret deleted with the PushSecret');
  });
});
