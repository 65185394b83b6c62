import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeClient } from '../kube/client';
import { FakeSecretsClient, fakeProvider, resetFakePushed } from './fake';
import { KubeApiError } from '../kube/client';
import { KubernetesSecretsClient, mergePushMetadata, pushedSecret } from './kubernetes';
import type { RemoteApi } from './kubernetes-auth';
import type { KubeSecret } from './storerefs';
import { NoSecretError, ProviderError, pushValue, type PushSourceSecret } from './types';

const local: PushSourceSecret = {
  data: { user: Buffer.from('app'), password: Buffer.from('s3cret<>') },
  type: 'Opaque',
  labels: { team: 'a' },
};

describe('pushValue (ESO: the key, or the whole Secret as JSON)', () => {
  it('returns the secretKey value', () => {
    assert.equal(pushValue(local, { remoteKey: 'r', secretKey: 'user' }).toString(), 'app');
  });
  it('marshals the whole Secret sorted, without HTML escaping', () => {
    assert.equal(pushValue(local, { remoteKey: 'r' }).toString(), '{"password":"s3cret<>","user":"app"}');
  });
  it('a missing key is a NoSecretError', () => {
    assert.throws(() => pushValue(local, { remoteKey: 'r', secretKey: 'nope' }), NoSecretError);
  });
});

describe('fake provider writes', () => {
  it('push, read back, exists, delete (round trip)', async () => {
    const c = new FakeSecretsClient({ data: [{ key: 'spec-key', value: 'v' }] }, 'f');
    assert.equal(await c.secretExists({ remoteKey: 'pushed' }), false);
    await c.pushSecret(local, { remoteKey: 'pushed', secretKey: 'user' });
    assert.equal((await c.getSecret({ key: 'pushed' })).toString(), 'app');
    assert.equal(await c.secretExists({ remoteKey: 'pushed' }), true);
    await c.pushSecret(local, { remoteKey: 'pushed', secretKey: 'password' });
    assert.equal((await c.getSecret({ key: 'pushed' })).toString(), 's3cret<>');
    assert.deepEqual(Object.keys(await c.getAllSecrets({ name: { regexp: '.*' } })).sort(), [
      'pushed',
      'spec-key',
    ]);
    await c.deleteSecret({ remoteKey: 'pushed' });
    await assert.rejects(c.getSecret({ key: 'pushed' }), NoSecretError);
    await c.deleteSecret({ remoteKey: 'pushed' }); // idempotent
  });
  it('refuses to overwrite a key the spec lists', async () => {
    const c = new FakeSecretsClient({ data: [{ key: 'spec-key', value: 'v' }] }, 'f');
    await assert.rejects(c.pushSecret(local, { remoteKey: 'spec-key', secretKey: 'user' }), ProviderError);
    await c.deleteSecret({ remoteKey: 'spec-key' });
    assert.equal((await c.getSecret({ key: 'spec-key' })).toString(), 'v');
  });
  it('property writes and deletes one JSON member', async () => {
    const c = new FakeSecretsClient({ data: [] }, 'f');
    await c.pushSecret(local, { remoteKey: 'obj', secretKey: 'user', property: 'u' });
    await c.pushSecret(local, { remoteKey: 'obj', secretKey: 'password', property: 'p' });
    assert.equal((await c.getSecret({ key: 'obj', property: 'u' })).toString(), 'app');
    assert.equal(await c.secretExists({ remoteKey: 'obj', property: 'p' }), true);
    await c.deleteSecret({ remoteKey: 'obj', property: 'p' });
    assert.equal(await c.secretExists({ remoteKey: 'obj', property: 'p' }), false);
    assert.equal(await c.secretExists({ remoteKey: 'obj' }), true);
    await c.deleteSecret({ remoteKey: 'obj', property: 'u' });
    assert.equal(await c.secretExists({ remoteKey: 'obj' }), false);
  });
  it('pushed values persist per store across clients, not across stores', async () => {
    resetFakePushed();
    const kube = {} as KubeClient;
    const spec = { provider: { fake: { data: [] } } };
    const a1 = await fakeProvider.newClient({
      store: { kind: 'SecretStore', name: 's', namespace: 'a', spec },
      namespace: 'a',
      kube,
    });
    await a1.pushSecret!(local, { remoteKey: 'k', secretKey: 'user' });
    const a2 = await fakeProvider.newClient({
      store: { kind: 'SecretStore', name: 's', namespace: 'a', spec },
      namespace: 'a',
      kube,
    });
    assert.equal((await a2.getSecret({ key: 'k' })).toString(), 'app');
    const b = await fakeProvider.newClient({
      store: { kind: 'SecretStore', name: 's', namespace: 'b', spec },
      namespace: 'b',
      kube,
    });
    await assert.rejects(b.getSecret({ key: 'k' }), NoSecretError);
    resetFakePushed();
  });
});

describe('kubernetes provider writes (pure parts, ESO mergePushSecretData)', () => {
  const current: KubeSecret = {
    metadata: { name: 'r', namespace: 'ns', labels: { keep: 'x' } },
    data: { other: Buffer.from('o').toString('base64') },
    type: 'Opaque',
  };
  it('without property the local data replaces the remote data', () => {
    const s = pushedSecret(local, { remoteKey: 'r' }, current, undefined);
    assert.deepEqual(Object.keys(s.data ?? {}).sort(), ['password', 'user']);
    assert.deepEqual(s.metadata?.labels, { keep: 'x', team: 'a' });
  });
  it('with property one key is written and others kept', () => {
    const s = pushedSecret(local, { remoteKey: 'r', secretKey: 'user', property: 'u' }, current, undefined);
    assert.deepEqual(Object.keys(s.data ?? {}).sort(), ['other', 'u']);
    assert.equal(Buffer.from(s.data!.u, 'base64').toString(), 'app');
  });
  it('property without secretKey holds the whole Secret as JSON', () => {
    const s = pushedSecret(local, { remoteKey: 'r', property: 'all' }, undefined, undefined);
    assert.equal(Buffer.from(s.data!.all, 'base64').toString(), '{"password":"s3cret<>","user":"app"}');
  });
  it('metadata merge policies', () => {
    const meta = { labels: { m: '1' } };
    assert.deepEqual(mergePushMetadata(local, current.metadata, meta).labels, {
      keep: 'x',
      team: 'a',
      m: '1',
    });
    assert.deepEqual(
      mergePushMetadata(local, current.metadata, { ...meta, sourceMergePolicy: 'Replace' }).labels,
      { keep: 'x', m: '1' },
    );
    assert.deepEqual(
      mergePushMetadata(local, current.metadata, { ...meta, targetMergePolicy: 'Replace' }).labels,
      { team: 'a', m: '1' },
    );
    assert.deepEqual(
      mergePushMetadata(local, current.metadata, { ...meta, targetMergePolicy: 'Ignore' }).labels,
      { keep: 'x' },
    );
  });
});

/** An in-memory API double for the remote Secrets (unit level only; e2e uses a real API server). */
function memoryApi(): { api: RemoteApi; store: Map<string, KubeSecret>; calls: string[] } {
  const store = new Map<string, KubeSecret>();
  const calls: string[] = [];
  const api: RemoteApi = {
    async request<T>(method: string, path: string, opts?: { body?: unknown }): Promise<T> {
      calls.push(method);
      const name = decodeURIComponent(path.split('/secrets/')[1] ?? '');
      const notFound = new KubeApiError(404, 'NotFound', 'not found');
      if (method === 'GET') {
        const s = store.get(name);
        if (!s) throw notFound;
        return structuredClone(s) as T;
      }
      if (method === 'POST' || method === 'PUT') {
        const body = opts?.body as KubeSecret;
        store.set(body.metadata!.name!, structuredClone(body));
        return body as T;
      }
      if (method === 'DELETE') {
        if (!store.delete(name)) throw notFound;
        return {} as T;
      }
      throw new Error(method);
    },
  };
  return { api, store, calls };
}

describe('kubernetes provider writes (client)', () => {
  it('secretKey without property is refused as in ESO', async () => {
    const { api } = memoryApi();
    const c = new KubernetesSecretsClient(api, 'ns', 's');
    await assert.rejects(c.pushSecret(local, { remoteKey: 'r', secretKey: 'user' }), /requires property/);
  });
  it('creates, skips an unchanged update, removes properties then the Secret', async () => {
    const { api, store, calls } = memoryApi();
    const c = new KubernetesSecretsClient(api, 'ns', 's');
    await c.pushSecret(local, { remoteKey: 'r', secretKey: 'user', property: 'u' });
    await c.pushSecret(local, { remoteKey: 'r', secretKey: 'password', property: 'p' });
    assert.deepEqual(Object.keys(store.get('r')!.data!).sort(), ['p', 'u']);
    const before = calls.length;
    await c.pushSecret(local, { remoteKey: 'r', secretKey: 'password', property: 'p' });
    assert.deepEqual(calls.slice(before), ['GET'], 'no write when nothing changes');
    assert.equal(await c.secretExists({ remoteKey: 'r', property: 'u' }), true);
    await c.deleteSecret({ remoteKey: 'r', property: 'u' });
    assert.deepEqual(Object.keys(store.get('r')!.data!), ['p']);
    await c.deleteSecret({ remoteKey: 'r', property: 'p' });
    assert.equal(store.has('r'), false);
    assert.equal(await c.secretExists({ remoteKey: 'r' }), false);
    await c.deleteSecret({ remoteKey: 'r' });
  });
  it('remoteNamespace in metadata needs a ClusterSecretStore', async () => {
    const { api } = memoryApi();
    const c = new KubernetesSecretsClient(api, 'ns', 's', 'SecretStore');
    const metadata = { kind: 'PushSecretMetadata', spec: { remoteNamespace: 'other' } };
    await assert.rejects(c.pushSecret(local, { remoteKey: 'r', metadata }), /ClusterSecretStore/);
  });
});
