/**
 * ExternalSecrets with the fake provider on a real control plane: the Secret has the right keys,
 * follows a change of the store on the next refresh, and a Handlebars template (with templateFrom a
 * ConfigMap) renders dataFrom extract and find (with rewrite) results.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNamespace, kube, uniqueName } from './lib';
import {
  assertSecretValues,
  createExternalSecret,
  createSecretStore,
  esPath,
  waitForEvent,
  mergePatch,
  read,
  readyOf,
  secretPath,
  storePath,
  waitForReady,
  waitForSecretValues,
  type SecretObj,
} from './externalsecret-lib';

/** The target Secret carries ESO's and capstan's marks and a controller ownerReference to the ExternalSecret. */
async function assertManagedByOwner(ns: string, name: string, uid: string | undefined): Promise<void> {
  const secret = await read<SecretObj>(secretPath(ns, name));
  const meta = secret?.metadata;
  assert.equal(meta?.labels?.['reconcile.external-secrets.io/managed'], 'true');
  assert.ok(meta?.annotations?.['reconcile.external-secrets.io/data-hash'], 'data hash annotation');
  assert.equal(meta?.annotations?.['capstan.dev/external-secret'], name);
  const owner = meta?.ownerReferences?.find((r) => r.controller);
  assert.equal(owner?.kind, 'ExternalSecret');
  assert.equal(owner?.uid, uid);
}

const DB = JSON.stringify({ username: 'app', password: 's3cret' });

describe('ExternalSecret with the fake provider', () => {
  test('fake store -> ExternalSecret -> Secret with the right keys; a store change reaches it on refresh', async () => {
    const ns = uniqueName('es-fake');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', {
      fake: {
        data: [
          { key: '/db', value: DB },
          { key: 'api-key', value: 'k-1' },
        ],
      },
    });
    const store = await waitForReady(storePath(ns, 'fake'), 'True', 'Valid');
    assert.equal(store.status?.capabilities, 'ReadWrite');

    await createExternalSecret(ns, 'db', {
      refreshInterval: '2s',
      secretStoreRef: { name: 'fake', kind: 'SecretStore' },
      data: [
        { secretKey: 'user', remoteRef: { key: '/db', property: 'username' } },
        { secretKey: 'password', remoteRef: { key: '/db', property: 'password' } },
        { secretKey: 'api', remoteRef: { key: 'api-key' } },
      ],
    });
    const es = await waitForReady(esPath(ns, 'db'), 'True', 'SecretSynced');
    assert.equal(es.status?.binding?.name, 'db');
    assert.ok(es.status?.refreshTime, 'refreshTime is set');
    assert.match(es.status?.syncedResourceVersion ?? '', /^1-/);
    await assertSecretValues(ns, 'db', { user: 'app', password: 's3cret', api: 'k-1' });

    await assertManagedByOwner(ns, 'db', es.metadata.uid);
    await waitForEvent(ns, 'db', 'Created', 'a Created event on the ExternalSecret');

    // the store's data changes: the next periodic refresh (2 s + jitter) writes the new value
    await mergePatch(storePath(ns, 'fake'), {
      spec: {
        provider: {
          fake: {
            data: [
              { key: '/db', value: JSON.stringify({ username: 'app', password: 's3cret-2' }) },
              { key: 'api-key', value: 'k-1' },
            ],
          },
        },
      },
    });
    await waitForSecretValues(
      ns,
      'db',
      { user: 'app', password: 's3cret-2', api: 'k-1' },
      'the refreshed value',
      30_000,
    );
    await waitForEvent(ns, 'db', 'Updated', 'an Updated event on the ExternalSecret');
    assert.equal(readyOf(await read(esPath(ns, 'db')))?.status, 'True');
  });

  test('Handlebars template with templateFrom a ConfigMap; dataFrom extract and find with rewrite', async () => {
    const ns = uniqueName('es-tpl');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', {
      fake: {
        data: [
          { key: '/app/config', value: JSON.stringify({ host: 'db.local', port: '5432', user: 'app' }) },
          { key: 'db-user', value: 'u1' },
          { key: 'db-pass', value: 'p1' },
          { key: 'other', value: 'x' },
        ],
      },
    });
    await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'tpl', namespace: ns },
        data: { 'config.yaml': 'url: postgres://{{ user }}@{{ host }}:{{ default "5432" port }}' },
      },
    });
    await createExternalSecret(ns, 'app', {
      secretStoreRef: { name: 'fake' },
      target: {
        name: 'app-secret',
        template: {
          engineVersion: 'handlebars', // capstan's Handlebars engine (the default is Go, as ESO)
          mergePolicy: 'Merge',
          metadata: { labels: { 'db-host': '{{ host }}' } },
          data: {
            dsn: 'postgres://{{ user }}:{{ DB_pass }}@{{ host }}:{{ port }}/app',
            'user.b64': '{{ b64enc DB_user }}',
            shout: '{{ upper user }}',
          },
          templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'config.yaml' }] } }],
        },
      },
      dataFrom: [
        { extract: { key: '/app/config' } },
        {
          find: { name: { regexp: '^db-' } },
          rewrite: [{ regexp: { source: '^db-(.*)', target: 'DB_${1}' } }],
        },
      ],
    });
    await waitForReady(esPath(ns, 'app'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'app-secret', {
      host: 'db.local',
      port: '5432',
      user: 'app',
      DB_user: 'u1',
      DB_pass: 'p1',
      dsn: 'postgres://app:p1@db.local:5432/app',
      'user.b64': Buffer.from('u1').toString('base64'),
      shout: 'APP',
      'config.yaml': 'url: postgres://app@db.local:5432',
    });
    const secret = await read<SecretObj>(secretPath(ns, 'app-secret'));
    assert.equal(secret?.metadata.labels?.['db-host'], 'db.local', 'templated label');
  });

  test('a template referring to a missing key fails with a condition naming the template, not a value', async () => {
    const ns = uniqueName('es-tplerr');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', { fake: { data: [{ key: 'k', value: 'v' }] } });
    await createExternalSecret(ns, 'broken', {
      secretStoreRef: { name: 'fake' },
      target: { template: { data: { out: '{{ .nope }}' } } },
      data: [{ secretKey: 'k', remoteRef: { key: 'k' } }],
    });
    const es = await waitForReady(esPath(ns, 'broken'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /could not apply template: template data\.out/);
    assert.equal(await read(secretPath(ns, 'broken')), undefined, 'nothing written');
  });
});
