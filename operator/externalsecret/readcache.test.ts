import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderReadCache, readKey, usesReferentAuth, type StoreIdentity } from './readcache';

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

test('concurrent reads of one key share one call; other keys call on their own', async () => {
  const cache = new ProviderReadCache({ ttlMs: 1000 });
  const d = deferred<string>();
  let calls = 0;
  const fetch = () => (calls++, d.promise);
  const reads = Array.from({ length: 100 }, () => cache.read('a', fetch));
  const other = cache.read('b', async () => 'B');
  d.resolve('A');
  assert.deepEqual(new Set(await Promise.all(reads)), new Set(['A']));
  assert.equal(await other, 'B');
  assert.equal(calls, 1);
  assert.equal(cache.calls, 2);
  assert.equal(cache.shared, 99);
});

test('a settled read is shared for ttlMs, then read again', async () => {
  const clock = { t: 0 };
  const cache = new ProviderReadCache({ ttlMs: 2000, now: () => clock.t });
  let n = 0;
  const fetch = async () => ++n;
  assert.equal(await cache.read('k', fetch), 1);
  clock.t = 1999;
  assert.equal(await cache.read('k', fetch), 1);
  clock.t = 2000;
  assert.equal(await cache.read('k', fetch), 2, 'expired: a new call');
});

test('a failed read is passed to every caller that joined it and never cached', async () => {
  const cache = new ProviderReadCache({ ttlMs: 60_000 });
  const d = deferred<string>();
  const a = cache.read('k', () => d.promise);
  const b = cache.read('k', async () => 'never');
  d.reject(new Error('outage'));
  await assert.rejects(a, /outage/);
  await assert.rejects(b, /outage/);
  assert.equal(await cache.read('k', async () => 'after'), 'after', 'the next read calls again');
  assert.equal(cache.size, 1);
});

test('ttlMs 0 joins calls in flight only', async () => {
  const cache = new ProviderReadCache({ ttlMs: 0 });
  let n = 0;
  const fetch = async () => ++n;
  const [x, y] = await Promise.all([cache.read('k', fetch), cache.read('k', fetch)]);
  assert.deepEqual([x, y], [1, 1]);
  assert.equal(await cache.read('k', fetch), 2);
  assert.equal(cache.size, 0, 'nothing kept once settled');
});

test('the cache holds at most maxEntries, oldest first out', async () => {
  const cache = new ProviderReadCache({ ttlMs: 60_000, maxEntries: 3 });
  for (const k of ['a', 'b', 'c', 'd']) await cache.read(k, async () => k);
  assert.equal(cache.size, 3);
  let called = false;
  await cache.read('a', async () => ((called = true), 'a2'));
  assert.ok(called, 'a was evicted');
});

test('readKey: same store, request and reader scope share; a changed store or request does not', () => {
  const store: StoreIdentity = {
    kind: 'ClusterSecretStore',
    name: 'vault',
    resourceVersion: '7',
    provider: { vault: { auth: { tokenSecretRef: { name: 't', key: 'token', namespace: 'vault' } } } },
  };
  const ref = { key: 'db', property: 'password', version: undefined };
  assert.equal(
    readKey(store, 'team-a', 'get', ref),
    readKey(store, 'team-b', 'get', { property: 'password', key: 'db' }),
    'fixed credentials: shared across reader namespaces, key order and undefined fields do not matter',
  );
  assert.notEqual(
    readKey(store, 'a', 'get', ref),
    readKey({ ...store, resourceVersion: '8' }, 'a', 'get', ref),
  );
  assert.notEqual(readKey(store, 'a', 'get', ref), readKey(store, 'a', 'map', ref));
  assert.notEqual(readKey(store, 'a', 'get', ref), readKey(store, 'a', 'get', { ...ref, version: '2' }));
  const referent = {
    ...store,
    provider: { vault: { auth: { tokenSecretRef: { name: 't', key: 'token' } } } },
  };
  assert.notEqual(readKey(referent, 'team-a', 'get', ref), readKey(referent, 'team-b', 'get', ref));
});

test('usesReferentAuth: a reference under auth without a namespace', () => {
  assert.equal(usesReferentAuth({ fake: { data: [{ key: 'a', value: 'b' }] } }), false);
  assert.equal(
    usesReferentAuth({ aws: { auth: { secretRef: { accessKeyIDSecretRef: { name: 'x', key: 'id' } } } } }),
    true,
  );
  assert.equal(
    usesReferentAuth({
      kubernetes: { auth: { serviceAccount: { name: 'reader', namespace: 'ops' } }, remoteNamespace: 'x' },
    }),
    false,
  );
  assert.equal(usesReferentAuth(undefined), true, 'unknown: not shared');
});
