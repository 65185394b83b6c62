import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../kube/client';
import type { ProviderContext } from './types';
import { NoSecretError, ProviderError } from './types';
import {
  buildDataPath,
  buildMetadataPath,
  byteValue,
  mergePushData,
  pushCustomMetadata,
  secretMap,
  secretValue,
  validateVaultStore,
  vaultProvider,
  type KvLayout,
} from './vault';
import { dropVaultToken, isReferentVaultAuth, validateVaultAuth } from './vault-auth';

const v2 = (mount?: string): KvLayout => ({ mount, version: 'v2' });
const v1 = (mount?: string): KvLayout => ({ mount, version: 'v1' });

describe('vault paths (ESO buildPath / buildMetadataPath examples)', () => {
  test('data paths', () => {
    const cases: Array<[KvLayout, string, string]> = [
      [v2('secret/path'), 'foo', 'secret/path/data/foo'],
      [v1('secret/path'), 'foo', 'secret/path/foo'],
      [v2('secret/path'), 'secret/path/foo', 'secret/path/data/foo'],
      [v2('secret/path'), 'secret/path/data/foo', 'secret/path/data/foo'],
      [v1('secret/path'), 'secret/path/foo', 'secret/path/foo'],
      [v2(), 'secret/path/foo', 'secret/data/path/foo'],
      [v2(), 'secret/path/data/foo', 'secret/path/data/foo'],
      [v1(), 'secret/path/foo', 'secret/path/foo'],
    ];
    for (const [layout, key, want] of cases) assert.equal(buildDataPath(layout, key), want, `${key}`);
  });
  test('metadata paths', () => {
    assert.equal(buildMetadataPath(v2('secret'), 'a/b'), 'secret/metadata/a/b');
    assert.equal(buildMetadataPath(v2('secret'), 'secret/data/a'), 'secret/metadata/a');
    assert.equal(buildMetadataPath(v2('secret'), ''), 'secret/metadata/');
    assert.equal(buildMetadataPath(v2(), 'secret/data/a'), 'secret/metadata/a');
    assert.equal(buildMetadataPath(v1('kv'), 'a'), 'kv/a');
    assert.throws(() => buildMetadataPath(v2(), 'secret/a'), ProviderError);
  });
});

describe('vault values (ESO getSecretValue / GetSecretMap)', () => {
  const data = {
    'my-value': 's3cr3t',
    n: 5,
    f: 1.5,
    b: true,
    nil: null,
    obj: { z: 1, a: '<x>' },
    'dot.key': 'd',
  };
  test('no property: the whole data as Go JSON (sorted, HTML escaped)', () => {
    assert.equal(secretValue({ b: '<', a: 1 }, undefined, 'k').toString(), '{"a":1,"b":"\\u003c"}');
  });
  test('a top-level key wins over a gjson path; values as ESO GetByteValue', () => {
    assert.equal(secretValue(data, 'my-value', 'k').toString(), 's3cr3t');
    assert.equal(secretValue(data, 'n', 'k').toString(), '5');
    assert.equal(secretValue(data, 'b', 'k').toString(), 'true');
    assert.equal(secretValue(data, 'nil', 'k').toString(), '');
    assert.equal(secretValue(data, 'obj', 'k').toString(), '{"a":"\\u003cx\\u003e","z":1}');
    assert.equal(secretValue(data, 'dot.key', 'k').toString(), 'd');
    assert.equal(secretValue(data, 'obj.a', 'k').toString(), '<x>');
  });
  test('a missing property names it, never a value', () => {
    assert.throws(
      () => secretValue(data, 'nope', 'key "db" of store "s"'),
      (e: Error) =>
        e instanceof ProviderError &&
        /property "nope" does not exist in key "db" of store "s"/.test(e.message) &&
        !e.message.includes('s3cr3t'),
    );
  });
  test('extract: members, strings raw, objects as JSON; a non-object refuses', () => {
    const m = secretMap(Buffer.from('{"a":"x","o":{"k":"v"},"n":2}'), 'k');
    assert.deepEqual(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()])), {
      a: 'x',
      o: '{"k":"v"}',
      n: '2',
    });
    assert.throws(() => secretMap(Buffer.from('"str"'), 'k'), ProviderError);
    assert.equal(byteValue(1e21).toString(), '1000000000000000000000');
  });
});

describe('vault push data (ESO reconcileData)', () => {
  test('whole secret from a JSON object; unchanged is detected', () => {
    assert.deepEqual(mergePushData(undefined, Buffer.from('{"a":"1"}'), undefined), {
      data: { a: '1' },
      changed: true,
    });
    assert.equal(mergePushData({ a: '1' }, Buffer.from('{"a":"1"}'), undefined).changed, false);
    assert.throws(() => mergePushData(undefined, Buffer.from('plain'), undefined), ProviderError);
  });
  test('a property keeps the other keys', () => {
    assert.deepEqual(mergePushData({ a: '1' }, Buffer.from('2'), 'b'), {
      data: { a: '1', b: '2' },
      changed: true,
    });
    assert.equal(mergePushData({ a: '1' }, Buffer.from('1'), 'a').changed, false);
  });
});

describe('vault push metadata (ESO reconcileKV2Metadata)', () => {
  test('the mark, merged or replacing remote custom metadata; system keys ignored', () => {
    assert.deepEqual(pushCustomMetadata(undefined, undefined), {
      custom: { 'managed-by': 'external-secrets' },
      changed: true,
    });
    const remote = { 'managed-by': 'external-secrets', team: 'a', current_version: '3' };
    assert.deepEqual(pushCustomMetadata(remote, undefined), {
      custom: { 'managed-by': 'external-secrets', team: 'a' },
      changed: false,
    });
    const spec = (mergePolicy: string) => ({
      spec: { mergePolicy, customMetadata: { owner: 'b', 'managed-by': 'me' } },
    });
    assert.deepEqual(pushCustomMetadata(remote, spec('Merge')).custom, {
      'managed-by': 'external-secrets',
      team: 'a',
      owner: 'b',
    });
    assert.deepEqual(pushCustomMetadata(remote, spec('Replace')).custom, {
      'managed-by': 'external-secrets',
      owner: 'b',
    });
    assert.throws(() => pushCustomMetadata(remote, spec('Other')), /must be Merge or Replace/);
  });
});

describe('vault store validation', () => {
  const store = { kind: 'SecretStore' as const, name: 's', namespace: 'ns' };
  test('a valid ESO store', () => {
    assert.deepEqual(
      validateVaultStore(
        {
          server: 'http://vault:8200',
          path: 'secret',
          version: 'v2',
          auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
        },
        store,
      ),
      [],
    );
  });
  test('problems name fields', () => {
    const p = validateVaultStore({ server: 'vault:8200', version: 'v3', path: '../sys' }, store);
    assert.ok(p.some((x) => x.includes('spec.provider.vault.server')));
    assert.ok(p.some((x) => x.includes('spec.provider.vault.version')));
    assert.ok(p.some((x) => x.includes('spec.provider.vault.path')));
  });
  test('auth: one method; cert/iam/gcp refused; kubernetes needs an account', () => {
    assert.match(validateVaultAuth({ cert: {} }, store)[0], /cert is not supported by capstan/);
    assert.match(
      validateVaultAuth({ tokenSecretRef: { name: 'a', key: 'b' }, appRole: {} }, store)[0],
      /exactly one/,
    );
    assert.ok(
      validateVaultAuth({ kubernetes: { role: 'r' } }, store).some((x) =>
        /never logs in with its own/.test(x),
      ),
    );
    assert.deepEqual(
      validateVaultAuth({ kubernetes: { role: 'r', serviceAccountRef: { name: 'app' } } }, store),
      [],
    );
    assert.deepEqual(
      validateVaultAuth({ kubernetes: { role: 'r', secretRef: { name: 'sa-token' } } }, store),
      [],
    );
    assert.ok(
      validateVaultAuth({ appRole: { secretRef: { name: 'a', key: 'b' } } }, store).some((x) =>
        /roleId or roleRef/.test(x),
      ),
    );
    assert.ok(
      validateVaultAuth({ tokenSecretRef: { name: 'a', key: 'b', namespace: 'other' } }, store).some((x) =>
        /namespace must be empty or "ns"/.test(x),
      ),
    );
  });
  test('referent auth: a reference without namespace', () => {
    assert.equal(isReferentVaultAuth({ tokenSecretRef: { name: 'a', key: 'b' } }), true);
    assert.equal(isReferentVaultAuth({ tokenSecretRef: { name: 'a', key: 'b', namespace: 'x' } }), false);
  });
});

/**
 * The HTTP contract of the client with a recording server on loopback: headers (namespace, token,
 * custom), login once per store while the token lives, one re-login after a 403. The behaviour against
 * a real Vault is in e2e/suites/externalsecret-vault.e2e.ts.
 */
describe('vault client HTTP contract', () => {
  let server: http.Server;
  let base = '';
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let validToken = 'tok-1';
  let logins = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.setHeader('Content-Type', 'application/json');
        if (req.url === '/v1/auth/approle/login') {
          logins++;
          return res.end(JSON.stringify({ auth: { client_token: validToken, lease_duration: 3600 } }));
        }
        if (req.headers['x-vault-token'] !== validToken) {
          res.statusCode = 403;
          return res.end('{"errors":["permission denied"]}');
        }
        if (req.url === '/v1/auth/token/lookup-self') return res.end('{"data":{}}');
        if (req.url?.startsWith('/v1/secret/data/app/db'))
          return res.end(JSON.stringify({ data: { data: { password: 'pw' }, metadata: { version: 1 } } }));
        res.statusCode = 404;
        res.end('{"errors":[]}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  beforeEach(() => {
    seen.length = 0;
    logins = 0;
    validToken = 'tok-1';
    dropVaultToken();
  });

  const kube = {
    request: async (_m: string, path: string) => {
      if (path.endsWith('/secrets/approle'))
        return { data: { 'secret-id': Buffer.from('sid').toString('base64') } };
      if (path.endsWith('/secrets/bad')) return { data: { token: Buffer.from('bad\n').toString('base64') } };
      throw new Error(`unexpected ${path}`);
    },
  } as unknown as KubeClient;
  const ctx = (): ProviderContext => ({
    store: {
      kind: 'SecretStore',
      name: 'vs',
      namespace: 'ns',
      spec: {
        provider: {
          vault: {
            server: base,
            path: 'secret',
            namespace: 'team-a',
            headers: { 'X-Extra': 'yes' },
            auth: {
              namespace: 'login-ns',
              appRole: { roleId: 'rid', secretRef: { name: 'approle', key: 'secret-id' } },
            },
          },
        },
      },
    },
    namespace: 'ns',
    kube,
  });

  test('namespace headers, one login per store while the token lives, reads', async () => {
    const c1 = await vaultProvider.newClient(ctx());
    assert.equal(
      (await c1.getSecret({ key: 'app/db', property: 'password', version: '1' })).toString(),
      'pw',
    );
    const c2 = await vaultProvider.newClient(ctx());
    await c2.getSecret({ key: 'app/db' });
    assert.equal(logins, 1, 'the login token is cached for the store');
    const login = seen.find((s) => s.url === '/v1/auth/approle/login')!;
    assert.equal(login.headers['x-vault-namespace'], 'login-ns');
    assert.deepEqual(JSON.parse(login.body), { role_id: 'rid', secret_id: 'sid' });
    const read = seen.find((s) => s.url === '/v1/secret/data/app/db?version=1')!;
    assert.equal(read.headers['x-vault-namespace'], 'team-a');
    assert.equal(read.headers['x-vault-token'], 'tok-1');
    assert.equal(read.headers['x-extra'], 'yes');
  });

  test('a 403 on a cached token logs in again once; a missing key is NoSecretError', async () => {
    await vaultProvider.newClient(ctx());
    validToken = 'tok-2'; // Vault revoked tok-1
    const c = await vaultProvider.newClient(ctx());
    assert.equal((await c.getSecret({ key: 'app/db', property: 'password' })).toString(), 'pw');
    assert.equal(logins, 2);
    await assert.rejects(c.getSecret({ key: 'app/none' }), NoSecretError);
    await assert.rejects(c.getSecret({ key: 'app/../../sys/x' }), /not a valid Vault path/);
  });

  test("validate: Ready with a good token; a refused token -> Error naming Vault's sentence, not the token", async () => {
    assert.deepEqual(await (await vaultProvider.newClient(ctx())).validate(), { result: 'Ready' });
    const bad = ctx();
    const spec = bad.store.spec as { provider: { vault: Record<string, unknown> } };
    spec.provider.vault.auth = { tokenSecretRef: { name: 'bad', key: 'token' } };
    const r = await (await vaultProvider.newClient(bad)).validate();
    assert.equal(r.result, 'Error');
    assert.match(r.message ?? '', /403: permission denied/);
    assert.ok(!(r.message ?? '').includes('bad'));
    assert.equal(seen.at(-1)?.headers['x-vault-token'], 'bad', 'the token is trimmed');
  });
});
