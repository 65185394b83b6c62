import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeClient } from '../kube/client';
import { FakeSecretsClient, fakeProvider, type FakeProviderConfig } from './fake';
import type { FindRef, RemoteRef } from './types';
import { InvalidStoreError, NoSecretError, ProviderError } from './types';

const config: FakeProviderConfig = {
  data: [
    {
      key: '/db',
      value:
        '{"user":"app","password":"s3cret","port":5432,"big":12345678901234567890,"nested":{"a": [1, 2]},"none":null}',
    },
    { key: '/db', version: 'v1', value: '{"user":"old"}' },
    { key: '/db', version: 'v2', value: '{"user":"older-by-name"}' },
    { key: '/plain', value: 'just text' },
    { key: '/dotted', value: '{"tls.crt":"C","a":{"b":{"c":"deep"}},"list":["x","y"],"f":1.50}' },
    { key: 'app/one', value: '1' },
    { key: 'app/two', value: '2' },
    { key: 'other', value: '3' },
  ],
};
const client = new FakeSecretsClient(config, 'fake-store');

function text(m: Record<string, Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString('utf8')]));
}

describe('fake getSecret', () => {
  const cases: Array<[string, RemoteRef, string | typeof NoSecretError]> = [
    ['whole value', { key: '/plain' }, 'just text'],
    ['unset version matches the entry without version', { key: '/db', property: 'user' }, 'app'],
    ['version must match', { key: '/db', version: 'v1', property: 'user' }, 'old'],
    ['unknown version', { key: '/db', version: 'v9' }, NoSecretError],
    ['unknown key', { key: '/nope' }, NoSecretError],
    ['key is exact, not a prefix', { key: '/d' }, NoSecretError],
    ['property: number keeps its digits', { key: '/db', property: 'big' }, '12345678901234567890'],
    ['property: object as raw JSON', { key: '/db', property: 'nested' }, '{"a": [1, 2]}'],
    ['property: null is empty', { key: '/db', property: 'none' }, ''],
    ['property: dotted path', { key: '/dotted', property: 'a.b.c' }, 'deep'],
    ['property: escaped dot', { key: '/dotted', property: 'tls\\.crt' }, 'C'],
    ['property: array index', { key: '/dotted', property: 'list.1' }, 'y'],
    ['property: float in Go form', { key: '/dotted', property: 'f' }, '1.5'],
    ['property: missing', { key: '/db', property: 'nope' }, NoSecretError],
    ['property of a non-JSON value', { key: '/plain', property: 'x' }, NoSecretError],
  ];
  for (const [name, ref, want] of cases) {
    it(name, async () => {
      if (typeof want === 'string') assert.equal((await client.getSecret(ref)).toString(), want);
      else await assert.rejects(client.getSecret(ref), want);
    });
  }
  it('messages name key and store only', async () => {
    await assert.rejects(client.getSecret({ key: '/db', version: 'v9' }), {
      message: 'key "/db" version "v9" not found in store "fake-store"',
    });
  });
});

describe('fake getSecretMap', () => {
  it('strings become text, others raw JSON, null empty', async () => {
    assert.deepEqual(text(await client.getSecretMap({ key: '/db' })), {
      user: 'app',
      password: 's3cret',
      port: '5432',
      big: '12345678901234567890',
      nested: '{"a": [1, 2]}',
      none: '',
    });
  });
  it('property selects the object to extract', async () => {
    assert.deepEqual(text(await client.getSecretMap({ key: '/dotted', property: 'a' })), {
      b: '{"c":"deep"}',
    });
  });
  it('a value that is not a JSON object cannot be extracted', async () => {
    await assert.rejects(
      client.getSecretMap({ key: '/plain' }),
      (e: unknown) => e instanceof ProviderError && !e.retryable,
    );
  });
  it('unknown key', async () => {
    await assert.rejects(client.getSecretMap({ key: '/nope' }), NoSecretError);
  });
});

describe('fake getAllSecrets', () => {
  const cases: Array<[string, FindRef, Record<string, string>]> = [
    ['regexp is unanchored', { name: { regexp: 'app/' } }, { app_one: '1', app_two: '2' }],
    ['anchored regexp', { name: { regexp: '^other$' } }, { other: '3' }],
    ['latest version wins', { name: { regexp: '^/db$' } }, { _db: '{"user":"older-by-name"}' }],
    [
      'Unicode conversion',
      { name: { regexp: '^app/one' }, conversionStrategy: 'Unicode' },
      { app_U002f_one: '1' },
    ],
  ];
  for (const [name, find, want] of cases) {
    it(name, async () => assert.deepEqual(text(await client.getAllSecrets(find)), want));
  }
  it('tags are not supported', async () => {
    await assert.rejects(client.getAllSecrets({ tags: { a: 'b' } }), ProviderError);
  });
  it('an invalid regexp is a ProviderError', async () => {
    await assert.rejects(client.getAllSecrets({ name: { regexp: '(' } }), /not a valid RE2/);
  });
  it('RE2 has no backtracking blow-up', async () => {
    const c = new FakeSecretsClient({ data: [{ key: 'a'.repeat(5000) + 'b', value: 'v' }] });
    const start = Date.now();
    assert.deepEqual(await c.getAllSecrets({ name: { regexp: '^(a+)+$' } }), {});
    assert.ok(Date.now() - start < 2000);
  });
});

describe('fake provider', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['valid', { data: [{ key: 'k', value: 'v' }] }, []],
    ['empty data', { data: [] }, []],
    [
      'missing key and value',
      { data: [{}] },
      ['spec.provider.fake.data[0].key must be set', 'spec.provider.fake.data[0].value must be set'],
    ],
    [
      'bad validationResult',
      { data: [], validationResult: 7 },
      ['spec.provider.fake.validationResult must be 0 (Ready), 1 (Unknown) or 2 (Error)'],
    ],
    ['not an object', 'x', ['spec.provider.fake must be an object']],
  ];
  for (const [name, cfg, want] of cases)
    it(`validateStore: ${name}`, () => assert.deepEqual(fakeProvider.validateStore(cfg), want));

  const ctx = (fake: unknown) => ({
    store: { kind: 'SecretStore' as const, name: 's', namespace: 'ns', spec: { provider: { fake } } },
    namespace: 'ns',
    kube: {} as KubeClient,
  });
  it('newClient rejects an invalid store', async () => {
    await assert.rejects(fakeProvider.newClient(ctx({ data: [{ key: '' }] })), InvalidStoreError);
  });
  it('validate follows validationResult', async () => {
    assert.deepEqual(await (await fakeProvider.newClient(ctx({ data: [] }))).validate(), { result: 'Ready' });
    const failing = await fakeProvider.newClient(ctx({ data: [], validationResult: 2 }));
    assert.equal((await failing.validate()).result, 'Error');
    assert.equal(fakeProvider.capabilities, 'ReadWrite');
  });
});
