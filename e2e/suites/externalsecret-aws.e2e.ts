/**
 * The `aws` provider against a real AWS API emulator: moto in server mode (started once by
 * `e2e/run.ts`, capstan pointed at it with `--aws-endpoint-url`), with IAM enforced so that wrong keys
 * and missing permissions are refused as AWS refuses them. ESO's documented AWS manifests are used as
 * they are written (store `secretstore-sample`, credentials Secret `awssm-secret`, the `friendslist`
 * and `database-credentials` examples, the PushSecret `pushsecret-example`); values are compared by
 * equality and never printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  GetParameterCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { waitFor } from '../harness/wait';
import { awsProvider } from '../../operator/providers/aws';
import { DEFAULT_PROVIDER_LIMITS } from '../../operator/providers/netpolicy';
import type { SecretsClient } from '../../operator/providers/types';
import { enableMotoAuth, type MotoIdentity } from '../harness/moto';
import { createNamespace, kube, uniqueName } from './lib';
import {
  assertSecretValues,
  clusterStorePath,
  createClusterSecretStore,
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
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

const REGION = 'eu-central-1';

/** ESO's documented JSON example (provider-aws-secrets-manager, "JSON Secret Values"). */
const FRIENDSLIST = JSON.stringify({
  name: { first: 'Tom', last: 'Anderson' },
  friends: [
    { first: 'Dale', last: 'Murphy' },
    { first: 'Roger', last: 'Craig' },
    { first: 'Jane', last: 'Murphy' },
  ],
});

/** ESO's documented SecretStore for a service, with the `role` line left out as its comment allows. */
function esoStore(service: 'SecretsManager' | 'ParameterStore', extra: Record<string, unknown> = {}) {
  return {
    aws: {
      service,
      region: REGION,
      ...extra,
      auth: {
        secretRef: {
          accessKeyIDSecretRef: { name: 'awssm-secret', key: 'access-key' },
          secretAccessKeySecretRef: { name: 'awssm-secret', key: 'secret-access-key' },
        },
      },
    },
  };
}

describe('ExternalSecret with the aws provider (moto)', () => {
  const endpoint = process.env.CAPSTAN_E2E_AWS_ENDPOINT ?? '';
  let id: MotoIdentity;
  let sm: SecretsManagerClient;
  let ssm: SSMClient;
  /** The version id of the first value of `database-credentials`. */
  let firstVersion = '';
  const suffix = uniqueName('x').slice(2); // remote names are unique per run, like namespaces

  before(async () => {
    assert.ok(endpoint, 'CAPSTAN_E2E_AWS_ENDPOINT is not set: moto is not installed (run make setup)');
    id = await enableMotoAuth(endpoint);
    const credentials = { accessKeyId: id.accessKeyId, secretAccessKey: id.secretAccessKey };
    sm = new SecretsManagerClient({ region: REGION, endpoint, credentials });
    ssm = new SSMClient({ region: REGION, endpoint, credentials });
    await sm.send(new CreateSecretCommand({ Name: 'friendslist', SecretString: FRIENDSLIST }));
    const first = await sm.send(
      new CreateSecretCommand({
        Name: 'database-credentials',
        SecretString: JSON.stringify({ username: 'app', password: 'first' }),
        Tags: [
          { Key: 'dev', Value: 'seb' },
          { Key: 'team', Value: 'payments' },
        ],
      }),
    );
    firstVersion = first.VersionId ?? '';
    await sm.send(
      new PutSecretValueCommand({
        SecretId: 'database-credentials',
        SecretString: JSON.stringify({ username: 'app', password: 'second' }),
      }),
    );
    await sm.send(
      new CreateSecretCommand({
        Name: `find-${suffix}/a`,
        SecretString: 'A',
        Tags: [{ Key: 'find', Value: suffix }],
      }),
    );
    await sm.send(
      new CreateSecretCommand({
        Name: `find-${suffix}/b`,
        SecretString: 'B',
        Tags: [{ Key: 'find', Value: 'other' }],
      }),
    );
    await sm.send(
      new CreateSecretCommand({
        Name: `b64-${suffix}`,
        SecretString: Buffer.from('decoded').toString('base64'),
      }),
    );
    await sm.send(new CreateSecretCommand({ Name: `bin-${suffix}`, SecretBinary: Buffer.from('binary') }));
    await ssm.send(new PutParameterCommand({ Name: 'friendslist', Value: FRIENDSLIST, Type: 'String' }));
    await ssm.send(
      new PutParameterCommand({
        Name: `/${suffix}/db/password`,
        Value: 'p1',
        Type: 'SecureString',
        Tags: [{ Key: 'team', Value: 'payments' }],
      }),
    );
    await ssm.send(
      new PutParameterCommand({
        Name: `/${suffix}/db/password`,
        Value: 'p2',
        Type: 'SecureString',
        Overwrite: true,
      }),
    );
    await ssm.send(new PutParameterCommand({ Name: `/${suffix}/db/user`, Value: 'app', Type: 'String' }));
  });

  after(() => {
    sm?.destroy();
    ssm?.destroy();
  });

  /** A namespace with ESO's credentials Secret `awssm-secret`. */
  async function namespaceWithKeys(prefix: string, keys = id): Promise<string> {
    const ns = uniqueName(prefix);
    await createNamespace(ns);
    await createSecret(ns, 'awssm-secret', {
      'access-key': keys.accessKeyId,
      'secret-access-key': keys.secretAccessKey,
    });
    return ns;
  }

  test('Secrets Manager: ESO example with property paths, versions, tags (metadataPolicy Fetch), extract, Base64 and SecretBinary', async () => {
    const ns = await namespaceWithKeys('es-aws-sm');
    await createSecretStore(ns, 'secretstore-sample', esoStore('SecretsManager'));
    await waitForReady(storePath(ns, 'secretstore-sample'), 'True', 'Valid');
    await createExternalSecret(ns, 'example', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'secretstore-sample', kind: 'SecretStore' },
      target: { name: 'secret-to-be-created', creationPolicy: 'Owner' },
      data: [
        { secretKey: 'firstname', remoteRef: { key: 'friendslist', property: 'name.first' } },
        { secretKey: 'first_friend', remoteRef: { key: 'friendslist', property: 'friends.1.first' } },
        { secretKey: 'tags', remoteRef: { metadataPolicy: 'Fetch', key: 'database-credentials' } },
        {
          secretKey: 'developer',
          remoteRef: { metadataPolicy: 'Fetch', key: 'database-credentials', property: 'dev' },
        },
        {
          secretKey: 'current',
          remoteRef: { key: 'database-credentials', property: 'password', version: 'AWSCURRENT' },
        },
        {
          secretKey: 'previous',
          remoteRef: { key: 'database-credentials', property: 'password', version: 'AWSPREVIOUS' },
        },
        {
          secretKey: 'first',
          remoteRef: { key: 'database-credentials', property: 'password', version: `uuid/${firstVersion}` },
        },
      ],
      dataFrom: [{ extract: { key: 'database-credentials' } }],
    });
    await createExternalSecret(ns, 'encodings', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'secretstore-sample', kind: 'SecretStore' },
      data: [
        { secretKey: 'decoded', remoteRef: { key: `b64-${suffix}`, decodingStrategy: 'Base64' } },
        { secretKey: 'binary', remoteRef: { key: `bin-${suffix}` } },
      ],
    });
    await waitForReady(esPath(ns, 'encodings'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'encodings', { decoded: 'decoded', binary: 'binary' });
    await waitForReady(esPath(ns, 'example'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'secret-to-be-created', {
      firstname: 'Tom',
      first_friend: 'Roger',
      tags: '{"dev":"seb","team":"payments"}',
      developer: 'seb',
      current: 'second',
      previous: 'first',
      first: 'first',
      username: 'app',
      password: 'second',
    });
  });

  test('Secrets Manager: find by name regexp and by tags, keys converted', async () => {
    const ns = await namespaceWithKeys('es-aws-find');
    await createSecretStore(ns, 'sm', esoStore('SecretsManager'));
    await createExternalSecret(ns, 'found', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'sm' },
      dataFrom: [{ find: { name: { regexp: `^find-${suffix}/` } } }],
    });
    await createExternalSecret(ns, 'tagged', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'sm' },
      dataFrom: [{ find: { tags: { find: suffix } } }],
    });
    await waitForReady(esPath(ns, 'found'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'found', { [`find-${suffix}_a`]: 'A', [`find-${suffix}_b`]: 'B' });
    await waitForReady(esPath(ns, 'tagged'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'tagged', { [`find-${suffix}_a`]: 'A' });
  });

  test('Parameter Store: ESO example, SecureString, name:version, tags, find by path and by tags', async () => {
    const ns = await namespaceWithKeys('es-aws-ps');
    await createSecretStore(ns, 'secretstore-sample', esoStore('ParameterStore'));
    await waitForReady(storePath(ns, 'secretstore-sample'), 'True', 'Valid');
    const key = `/${suffix}/db/password`;
    await createExternalSecret(ns, 'example', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'secretstore-sample', kind: 'SecretStore' },
      target: { name: 'secret-to-be-created', creationPolicy: 'Owner' },
      data: [
        { secretKey: 'firstname', remoteRef: { key: 'friendslist', property: 'name.first' } },
        { secretKey: 'first_friend', remoteRef: { key: 'friendslist', property: 'friends.1.first' } },
        { secretKey: 'password', remoteRef: { key } },
        { secretKey: 'password_v1', remoteRef: { key, version: '1' } },
        { secretKey: 'team', remoteRef: { key, metadataPolicy: 'Fetch', property: 'team' } },
      ],
      dataFrom: [{ find: { path: `/${suffix}/db` } }],
    });
    await createExternalSecret(ns, 'tagged', {
      refreshInterval: '1h',
      secretStoreRef: { name: 'secretstore-sample' },
      dataFrom: [{ find: { tags: { team: 'payments' }, path: `/${suffix}` } }],
    });
    await waitForReady(esPath(ns, 'example'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'secret-to-be-created', {
      firstname: 'Tom',
      first_friend: 'Roger',
      password: 'p2',
      password_v1: 'p1',
      team: 'payments',
      [`_${suffix}_db_password`]: 'p2',
      [`_${suffix}_db_user`]: 'app',
    });
    await waitForReady(esPath(ns, 'tagged'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'tagged', { [`_${suffix}_db_password`]: 'p2' });
  });

  test('ClusterSecretStore: keys from a named namespace, or (referent) from each ExternalSecret namespace', async () => {
    const creds = await namespaceWithKeys('es-aws-creds');
    const named = `aws-named-${suffix}`;
    const referent = `aws-referent-${suffix}`;
    const ref = (namespace?: string) => ({
      accessKeyIDSecretRef: { name: 'awssm-secret', key: 'access-key', ...(namespace ? { namespace } : {}) },
      secretAccessKeySecretRef: {
        name: 'awssm-secret',
        key: 'secret-access-key',
        ...(namespace ? { namespace } : {}),
      },
    });
    const spec = (namespace?: string) => ({
      provider: { aws: { service: 'SecretsManager', region: REGION, auth: { secretRef: ref(namespace) } } },
    });
    await createClusterSecretStore(named, spec(creds));
    await createClusterSecretStore(referent, spec());
    try {
      await waitForReady(clusterStorePath(named), 'True', 'Valid');
      const referentStore = await waitForReady(clusterStorePath(referent), 'True', 'Valid');
      assert.match(
        readyOf(referentStore)?.message ?? '',
        /credentials are read in each ExternalSecret namespace/,
      );
      const es = (store: string) => ({
        refreshInterval: '1h',
        secretStoreRef: { name: store, kind: 'ClusterSecretStore' },
        data: [{ secretKey: 'firstname', remoteRef: { key: 'friendslist', property: 'name.first' } }],
      });
      const reader = uniqueName('es-aws-reader');
      await createNamespace(reader); // no keys of its own
      await createExternalSecret(reader, 'named', es(named));
      await createExternalSecret(reader, 'referent', es(referent));
      const withKeys = await namespaceWithKeys('es-aws-referent');
      await createExternalSecret(withKeys, 'referent', es(referent));
      await waitForReady(esPath(reader, 'named'), 'True', 'SecretSynced');
      await assertSecretValues(reader, 'named', { firstname: 'Tom' });
      await waitForReady(esPath(withKeys, 'referent'), 'True', 'SecretSynced');
      await assertSecretValues(withKeys, 'referent', { firstname: 'Tom' });
      const missing = await waitForReady(esPath(reader, 'referent'), 'False');
      assert.match(
        readyOf(missing)?.message ?? '',
        new RegExp(`Secret "${reader}/awssm-secret" referenced by store "${referent}": not found`),
      );
    } finally {
      await remove(clusterStorePath(named));
      await remove(clusterStorePath(referent));
    }
  });

  test('role: reads with the assumed role, whose permissions apply (a role without read access is refused)', async () => {
    const ns = await namespaceWithKeys('es-aws-role');
    await createSecretStore(ns, 'reader', esoStore('SecretsManager', { role: id.roleArn }));
    await createSecretStore(ns, 'denied', esoStore('SecretsManager', { role: id.deniedRoleArn }));
    const spec = (store: string) => ({
      refreshInterval: '1h',
      secretStoreRef: { name: store },
      data: [{ secretKey: 'firstname', remoteRef: { key: 'friendslist', property: 'name.first' } }],
    });
    await createExternalSecret(ns, 'reader', spec('reader'));
    await createExternalSecret(ns, 'denied', spec('denied'));
    await waitForReady(esPath(ns, 'reader'), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'reader', { firstname: 'Tom' });
    // the user's own keys may read everything: only the role's policy can refuse this
    const denied = await waitForObject(
      esPath(ns, 'denied'),
      (o) => readyOf(o)?.status === 'False' && /access denied/.test(readyOf(o)?.message ?? ''),
      'the denied role to be refused',
    );
    const message = readyOf(denied)?.message ?? '';
    assert.match(message, /key "friendslist" of store "denied"/);
    assert.equal(await read(secretPath(ns, 'denied')), undefined, 'no Secret for the refused role');
  });

  test('writes (the PushSecret interface): create, merge a property, refuse unmanaged, delete; read back by an ExternalSecret', async () => {
    const ns = await namespaceWithKeys('es-aws-push');
    const clientFor = (service: 'SecretsManager' | 'ParameterStore'): Promise<SecretsClient> =>
      awsProvider.newClient({
        store: { kind: 'SecretStore', name: 'push', namespace: ns, spec: { provider: esoStore(service) } },
        namespace: ns,
        kube: kube(),
        limits: { ...DEFAULT_PROVIDER_LIMITS, awsEndpointUrl: endpoint },
      });
    const local = { data: { user: Buffer.from('pushed-user'), pass: Buffer.from('pushed-pass') } };
    const smKey = `pushed-${suffix}`;
    const psKey = `/${suffix}/pushed`;
    const smClient = await clientFor('SecretsManager');
    const psClient = await clientFor('ParameterStore');
    try {
      for (const [client, key] of [
        [smClient, smKey],
        [psClient, psKey],
      ] as const) {
        assert.equal(await client.secretExists?.({ remoteKey: key }), false);
        await client.pushSecret?.(local, { remoteKey: key, secretKey: 'user', property: 'username' });
        await client.pushSecret?.(local, { remoteKey: key, secretKey: 'pass', property: 'password' });
        assert.equal(await client.secretExists?.({ remoteKey: key, property: 'password' }), true);
        // ESO's rule: a remote secret capstan (or ESO) did not create is never overwritten
        await assert.rejects(
          client.pushSecret!(local, { remoteKey: 'friendslist', secretKey: 'user' }),
          /key "friendslist" of store "push" exists and is not managed by external-secrets/,
        );
      }
      await createSecretStore(ns, 'sm', esoStore('SecretsManager'));
      await createSecretStore(ns, 'ps', esoStore('ParameterStore'));
      await createExternalSecret(ns, 'read-back', {
        refreshInterval: '1s',
        secretStoreRef: { name: 'sm' },
        data: [
          {
            secretKey: 'ps_user',
            remoteRef: { key: psKey, property: 'username' },
            sourceRef: { storeRef: { name: 'ps' } },
          },
        ],
        dataFrom: [{ extract: { key: smKey } }],
      });
      await waitForSecretValues(
        ns,
        'read-back',
        { username: 'pushed-user', password: 'pushed-pass', ps_user: 'pushed-user' },
        'the pushed values',
      );
      // delete one property, then the rest: the remote secret is gone; an unmanaged one is left alone
      for (const [client, key] of [
        [smClient, smKey],
        [psClient, psKey],
      ] as const) {
        await client.deleteSecret?.({ remoteKey: key, property: 'password' });
        assert.equal(await client.secretExists?.({ remoteKey: key, property: 'password' }), false);
        assert.equal(await client.secretExists?.({ remoteKey: key, property: 'username' }), true);
        await client.deleteSecret?.({ remoteKey: key, property: 'username' });
        assert.equal(await client.secretExists?.({ remoteKey: key }), false);
        await client.deleteSecret?.({ remoteKey: key }); // idempotent
        await client.deleteSecret?.({ remoteKey: 'friendslist' });
        assert.equal(await client.secretExists?.({ remoteKey: 'friendslist' }), true);
      }
    } finally {
      await smClient.close();
      await psClient.close();
    }
  });

  test("a SecretStore without auth is refused (it would read as capstan's own AWS identity)", async () => {
    const ns = await namespaceWithKeys('es-aws-ambient');
    await createSecretStore(ns, 'ambient', { aws: { service: 'SecretsManager', region: REGION } });
    const store = await waitForReady(storePath(ns, 'ambient'), 'False', 'InvalidProviderConfig');
    assert.match(readyOf(store)?.message ?? '', /auth\.secretRef must be set in a SecretStore/);
  });

  test("PushSecret: ESO's documented Parameter Store example and a Secrets Manager property, removed with the PushSecret", async () => {
    const ns = await namespaceWithKeys('es-aws-pushsecret');
    await createSecretStore(ns, 'aws-parameterstore', esoStore('ParameterStore'));
    await createSecretStore(
      ns,
      'aws-secretsmanager',
      esoStore('SecretsManager', { secretsManager: { forceDeleteWithoutRecovery: true } }),
    );
    await createSecret(ns, 'pokedex-credentials', { 'best-pokemon': 'Pikachu' });
    const smKey = `pokedex-${suffix}`;
    await kube().request('POST', `/apis/external-secrets.io/v1alpha1/namespaces/${ns}/pushsecrets`, {
      body: {
        apiVersion: 'external-secrets.io/v1alpha1',
        kind: 'PushSecret',
        metadata: { name: 'pushsecret-example', namespace: ns },
        spec: {
          refreshInterval: '1h',
          updatePolicy: 'Replace',
          deletionPolicy: 'Delete',
          secretStoreRefs: [
            { name: 'aws-parameterstore', kind: 'SecretStore' },
            { name: 'aws-secretsmanager', kind: 'SecretStore' },
          ],
          selector: { secret: { name: 'pokedex-credentials' } },
          data: [
            {
              match: { secretKey: 'best-pokemon', remoteRef: { remoteKey: `my-first-parameter-${suffix}` } },
            },
            { match: { secretKey: 'best-pokemon', remoteRef: { remoteKey: smKey, property: 'best' } } },
          ],
        },
      },
    });
    const paramName = `my-first-parameter-${suffix}`;
    const pushed = await waitFor(
      async () => {
        try {
          const p = await ssm.send(new GetParameterCommand({ Name: paramName }));
          const s = await sm.send(new GetSecretValueCommand({ SecretId: smKey }));
          return { param: p.Parameter?.Value, secret: Buffer.from(s.SecretBinary ?? []).toString() };
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 60_000, what: 'the PushSecret to write both stores' },
    );
    assert.equal(pushed.param, 'Pikachu', 'the parameter holds the pushed key');
    assert.equal(
      pushed.secret,
      '{"best":"Pikachu"}',
      'the secret holds the pushed property (SecretBinary, ESO default)',
    );
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: paramName }),
    );
    assert.ok(tags.TagList?.some((t) => t.Key === 'managed-by' && t.Value === 'external-secrets'));
    // deletionPolicy Delete: removing the PushSecret removes what it wrote (forced: no recovery window)
    await remove(`/apis/external-secrets.io/v1alpha1/namespaces/${ns}/pushsecrets/pushsecret-example`);
    await waitFor(
      async () => {
        const gone = async (f: () => Promise<unknown>) =>
          f().then(
            () => false,
            (e: { name?: string }) =>
              e.name === 'ParameterNotFound' || e.name === 'ResourceNotFoundException',
          );
        return (
          (await gone(() => ssm.send(new GetParameterCommand({ Name: paramName })))) &&
          (await gone(() => sm.send(new DescribeSecretCommand({ SecretId: smKey }))))
        );
      },
      { timeoutMs: 60_000, what: 'the pushed parameter and secret to be deleted' },
    );
  });

  test('wrong keys: the store is not Ready with a clear message and the synced Secret stays', async () => {
    const ns = await namespaceWithKeys('es-aws-badkeys');
    await createSecretStore(ns, 'sm', esoStore('SecretsManager'), { refreshInterval: 1 });
    await createExternalSecret(ns, 'db', {
      refreshInterval: '1s',
      secretStoreRef: { name: 'sm' },
      dataFrom: [{ extract: { key: 'database-credentials' } }],
    });
    await waitForSecretValues(ns, 'db', { username: 'app', password: 'second' }, 'the first sync');
    const wrongSecret = 'not-the-secret-access-key';
    await mergePatch(secretPath(ns, 'awssm-secret'), {
      stringData: { 'access-key': 'AKIAWRONGWRONGWRONG1', 'secret-access-key': wrongSecret },
    });
    const store = await waitForReady(storePath(ns, 'sm'), 'False');
    const message = readyOf(store)?.message ?? '';
    assert.match(message, /credentials were refused/);
    assert.match(message, /store "sm"/);
    assert.ok(
      !message.includes(wrongSecret) && !message.includes(id.secretAccessKey),
      'no key in the message',
    );
    const es = await waitForReady(esPath(ns, 'db'), 'False');
    assert.ok(!(readyOf(es)?.message ?? '').includes(wrongSecret));
    assert.deepEqual(await secretValues(ns, 'db'), { username: 'app', password: 'second' }, 'Secret kept');
    // the right keys again: Ready again
    await mergePatch(secretPath(ns, 'awssm-secret'), {
      stringData: { 'access-key': id.accessKeyId, 'secret-access-key': id.secretAccessKey },
    });
    await waitForReady(storePath(ns, 'sm'), 'True', 'Valid');
  });
});
