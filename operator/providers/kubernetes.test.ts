import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeClient } from '../kube/client';
import { clearTokenCache, parseKubeconfigCredentials } from './kubernetes-auth';
import {
  findSecrets,
  isReferentSpec,
  kubernetesProvider,
  labelSelector,
  secretMap,
  secretValue,
  validateKubernetesStore,
} from './kubernetes';
import { DEFAULT_PROVIDER_LIMITS, NetworkPolicy, type ProviderLimits } from './netpolicy';
import type { KubeSecret } from './storerefs';
import type { ProviderContext, RemoteRef, StoreKind } from './types';
import { InvalidStoreError, NoSecretError, ProviderError } from './types';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const text = (m: Record<string, Buffer>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]));

const secret: KubeSecret = {
  metadata: {
    name: 'db',
    labels: { app: 'db', dev: '<seb>' },
    annotations: { date: 'today', cfg: '{"a":{"b":"deep"}}' },
  },
  data: {
    token: b64('foobar'),
    'file.png': b64('correct'),
    file: b64('{"png":"wrong"}'),
    foo: b64('{"huga":{"bar":"val"},"n":1}'),
    html: b64('<x>'),
    bin: b64(Buffer.from([0, 255, 172])),
  },
};

describe('secretValue (ESO GetSecret)', () => {
  const cases: Array<[string, RemoteRef, string | Buffer | typeof NoSecretError]> = [
    ['a data key', { key: 'db', property: 'token' }, 'foobar'],
    ['a key with a dot wins over a path', { key: 'db', property: 'file.png' }, 'correct'],
    ['a gjson path into a key', { key: 'db', property: 'foo.huga.bar' }, 'val'],
    ['binary data stays binary', { key: 'db', property: 'bin' }, Buffer.from([0, 255, 172])],
    ['missing property', { key: 'db', property: 'nope' }, NoSecretError],
    [
      'metadata: labels as JSON',
      { key: 'db', property: 'labels', metadataPolicy: 'Fetch' },
      '{"app":"db","dev":"<seb>"}',
    ],
    ['metadata: one label', { key: 'db', property: 'labels.app', metadataPolicy: 'Fetch' }, 'db'],
    [
      'metadata: a path into an annotation',
      { key: 'db', property: 'annotations.cfg.a.b', metadataPolicy: 'Fetch' },
      'deep',
    ],
    ['metadata: missing', { key: 'db', property: 'spec', metadataPolicy: 'Fetch' }, NoSecretError],
  ];
  for (const [name, ref, want] of cases) {
    it(name, () => {
      if (want === NoSecretError)
        assert.throws(() => secretValue(secret, ref, 'Secret "remote/db"'), NoSecretError);
      else assert.deepEqual(secretValue(secret, ref, 'w'), Buffer.from(want as string | Buffer));
    });
  }
  it('without property: the data as JSON, keys sorted, no HTML escaping', () => {
    const s: KubeSecret = { data: { html: b64('<foobar>'), a: b64('1') } };
    assert.equal(secretValue(s, { key: 'db' }, 'w').toString(), '{"a":"1","html":"<foobar>"}');
  });
  it('without property, metadataPolicy Fetch: labels and annotations', () => {
    const s: KubeSecret = { metadata: { labels: { dev: 'seb' } } };
    assert.equal(
      secretValue(s, { key: 'db', metadataPolicy: 'Fetch' }, 'w').toString(),
      '{"annotations":null,"labels":{"dev":"seb"}}',
    );
  });
  it('the error names the property and the Secret', () => {
    assert.throws(
      () => secretValue(secret, { key: 'db', property: 'nope' }, 'Secret "remote/db" of store "k"'),
      {
        message: 'property "nope" does not exist in data of Secret "remote/db" of store "k"',
      },
    );
  });
});

describe('secretMap (ESO GetSecretMap)', () => {
  it('all data keys', () => {
    assert.deepEqual(Object.keys(secretMap(secret, { key: 'db' }, 'w')).sort(), [
      'bin',
      'file',
      'file.png',
      'foo',
      'html',
      'token',
    ]);
  });
  it('property: members of the key JSON, each JSON-encoded as ESO', () => {
    assert.deepEqual(text(secretMap(secret, { key: 'db', property: 'foo' }, 'w')), {
      huga: '{"bar":"val"}',
      n: '1',
    });
  });
  it('metadataPolicy Fetch, with and without property', () => {
    assert.deepEqual(
      text(
        secretMap(
          { metadata: { labels: { dev: 'seb' }, annotations: { date: 'today' } } },
          { key: 'db', metadataPolicy: 'Fetch' },
          'w',
        ),
      ),
      {
        labels: '{"dev":"seb"}',
        annotations: '{"date":"today"}',
      },
    );
    assert.deepEqual(
      text(
        secretMap(
          { metadata: { labels: { dev: 'seb' } } },
          { key: 'db', metadataPolicy: 'Fetch', property: 'labels' },
          'w',
        ),
      ),
      {
        dev: '"seb"',
      },
    );
  });
  it('errors', () => {
    assert.throws(() => secretMap(secret, { key: 'db', property: 'nope' }, 'w'), NoSecretError);
    assert.throws(
      () => secretMap(secret, { key: 'db', property: 'token' }, 'w'),
      (e: unknown) => e instanceof ProviderError && !e.retryable,
    );
  });
});

describe('findSecrets / labelSelector (ESO GetAllSecrets)', () => {
  const list: KubeSecret[] = [
    { metadata: { name: 'db-main', labels: { app: 'db' } }, data: { p: b64('1') } },
    { metadata: { name: 'db-replica', labels: { app: 'db', tier: 'x' } }, data: { p: b64('2') } },
    { metadata: { name: 'web' }, data: { q: b64('3') } },
  ];
  it('name.regexp: keys are Secret names, values the data as JSON', () => {
    assert.deepEqual(text(findSecrets(list, { name: { regexp: '^db-' } })), {
      'db-main': '{"p":"1"}',
      'db-replica': '{"p":"2"}',
    });
  });
  it('tags win over name', () => {
    assert.deepEqual(Object.keys(findSecrets(list, { tags: { tier: 'x' }, name: { regexp: 'web' } })), [
      'db-replica',
    ]);
  });
  it('neither tags nor name', () => assert.throws(() => findSecrets(list, {}), ProviderError));
  it('labelSelector is sorted and validated', () => {
    assert.equal(labelSelector({ z: '1', 'example.com/a': 'b' }), 'example.com/a=b,z=1');
    assert.throws(() => labelSelector({ 'bad key!': 'v' }), /not a valid label/);
  });
});

describe('validateKubernetesStore', () => {
  const ss = { kind: 'SecretStore' as const, name: 'k', namespace: 'app' };
  const css = { kind: 'ClusterSecretStore' as const, name: 'k' };
  const cases: Array<[string, unknown, typeof ss | typeof css, string[]]> = [
    ['empty is valid (this cluster, anonymous)', {}, ss, []],
    [
      'token',
      { auth: { token: { bearerToken: { name: 't', key: 'token' } } }, remoteNamespace: 'remote' },
      ss,
      [],
    ],
    [
      'token without key',
      { auth: { token: { bearerToken: { name: 't' } } } },
      ss,
      ['spec.provider.kubernetes.auth.token.bearerToken.key must be set'],
    ],
    [
      'two auth methods',
      { auth: { token: {}, cert: {} } },
      ss,
      ['spec.provider.kubernetes.auth must set exactly one of cert, token, serviceAccount'],
    ],
    [
      'SecretStore reference to another namespace',
      { auth: { serviceAccount: { name: 'sa', namespace: 'other' } } },
      ss,
      ['spec.provider.kubernetes.auth.serviceAccount.namespace must be empty or "app" in a SecretStore'],
    ],
    [
      'ClusterSecretStore without namespace: referent auth',
      { auth: { serviceAccount: { name: 'sa' } } },
      css,
      [],
    ],
    [
      'caProvider needs a namespace in a ClusterSecretStore',
      { server: { caProvider: { type: 'ConfigMap', name: 'ca', key: 'ca.crt' } } },
      css,
      ['spec.provider.kubernetes.server.caProvider.namespace must be set in a ClusterSecretStore'],
    ],
    [
      'caProvider namespace forbidden in a SecretStore',
      { server: { caProvider: { type: 'Secret', name: 'ca', key: 'k', namespace: 'x' } } },
      ss,
      ['spec.provider.kubernetes.server.caProvider.namespace must be empty in a SecretStore'],
    ],
    [
      'bad caBundle',
      { server: { caBundle: b64('not pem') } },
      ss,
      ['spec.provider.kubernetes.server.caBundle must be base64-encoded PEM certificates'],
    ],
    [
      'bad remoteNamespace',
      { remoteNamespace: 'Bad_NS' },
      ss,
      ['spec.provider.kubernetes.remoteNamespace must be a valid namespace name'],
    ],
    [
      'bad url scheme',
      { server: { url: 'ftp://x' } },
      ss,
      ['spec.provider.kubernetes.server.url must be an http(s) URL'],
    ],
  ];
  for (const [name, cfg, store, want] of cases)
    it(name, () => assert.deepEqual(validateKubernetesStore(cfg, store), want));
  it('isReferentSpec', () => {
    assert.equal(isReferentSpec({ auth: { serviceAccount: { name: 'sa' } } }), true);
    assert.equal(isReferentSpec({ auth: { serviceAccount: { name: 'sa', namespace: 'n' } } }), false);
    assert.equal(isReferentSpec({}), false);
  });
});

describe('parseKubeconfigCredentials (authRef)', () => {
  const kubeconfig = (user: string): string => `
apiVersion: v1
kind: Config
current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: { server: "https://remote:6443", certificate-authority-data: ${b64('-----BEGIN CERTIFICATE-----')} } }]
users: [{ name: u, user: ${user} }]
`;
  it('inline token', () => {
    const { cluster, user } = parseKubeconfigCredentials(kubeconfig('{ token: abc }'));
    assert.equal(cluster.server, 'https://remote:6443');
    assert.equal(user.token, 'abc');
    assert.ok(cluster.caData?.includes('BEGIN'));
  });
  for (const refused of [
    '{ tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token }',
    '{ exec: { command: sh } }',
    '{ auth-provider: { name: gcp } }',
  ]) {
    it(`refuses ${refused}`, () =>
      assert.throws(
        () => parseKubeconfigCredentials(kubeconfig(refused)),
        /capstan accepts token or client-certificate-data/,
      ));
  }
});

/** A fake remote API server: it accepts only `Bearer <token>` and serves Secrets of namespace `remote`. */
function fakeApiServer(token: string, calls: string[]): http.Server {
  const secrets: KubeSecret[] = [
    { metadata: { name: 'db', labels: { app: 'db' } }, data: { password: b64('pw'), user: b64('app') } },
    { metadata: { name: 'web' }, data: { key: b64('k') } },
  ];
  return http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url} ${req.headers.authorization ?? 'anonymous'}`);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(401, { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized' });
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname.endsWith('/selfsubjectrulesreviews')) {
      return send(201, {
        status: { resourceRules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['secrets'] }] },
      });
    }
    const one = /^\/api\/v1\/namespaces\/remote\/secrets\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const s = secrets.find((x) => x.metadata?.name === one[1]);
      return s
        ? send(200, s)
        : send(404, { kind: 'Status', reason: 'NotFound', message: `secrets "${one[1]}" not found` });
    }
    if (url.pathname === '/api/v1/namespaces/remote/secrets') {
      const sel = url.searchParams.get('labelSelector');
      const items = sel
        ? secrets.filter((s) =>
            sel.split(',').every((kv) => s.metadata?.labels?.[kv.split('=')[0]] === kv.split('=')[1]),
          )
        : secrets;
      return send(200, { items, metadata: {} });
    }
    send(404, { kind: 'Status', reason: 'NotFound', message: 'no route' });
  });
}

/** The operator's own client double: serves the credential Secret and TokenRequests, records calls. */
function operatorKube(server: string, calls: string[], token: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'own', server, skipTLSVerify: false }],
    users: [{ name: 'operator', token: 'OPERATOR-IDENTITY' }],
    contexts: [{ name: 'own', cluster: 'own', user: 'operator' }],
    currentContext: 'own',
  });
  const kube = new KubeClient(kc);
  kube.request = (async (
    method: string,
    p: string,
    opts?: { body?: { spec?: { audiences?: string[] } } },
  ) => {
    calls.push(`operator ${method} ${p}`);
    if (p === '/api/v1/namespaces/app/secrets/reader-token') return { data: { token: b64(`${token}\n`) } };
    if (p === '/api/v1/namespaces/app/serviceaccounts/reader/token' && method === 'POST') {
      assert.deepEqual(opts?.body?.spec?.audiences, ['remote']);
      return { status: { token, expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } };
    }
    throw new KubeApiError(404, 'NotFound', 'not found');
  }) as KubeClient['request'];
  return kube;
}

describe('kubernetes client against a fake API server', () => {
  const TOKEN = 'store-token';
  const calls: string[] = [];
  const server = fakeApiServer(TOKEN, calls);
  let url = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const ctx = (kubernetes: unknown, kind: StoreKind = 'SecretStore', namespace = 'app'): ProviderContext => ({
    store: {
      kind,
      name: 'k8s',
      namespace: kind === 'SecretStore' ? 'app' : undefined,
      spec: { provider: { kubernetes } },
    },
    namespace,
    kube: operatorKube(url, calls, TOKEN),
  });

  it('bearer token from a Secret: get, extract, find, validate', async () => {
    calls.length = 0;
    const c = await kubernetesProvider.newClient(
      ctx({
        server: { url },
        remoteNamespace: 'remote',
        auth: { token: { bearerToken: { name: 'reader-token', key: 'token' } } },
      }),
    );
    assert.equal((await c.getSecret({ key: 'db', property: 'password' })).toString(), 'pw');
    assert.equal((await c.getSecret({ key: 'db' })).toString(), '{"password":"pw","user":"app"}');
    assert.deepEqual(text(await c.getSecretMap({ key: 'db' })), { password: 'pw', user: 'app' });
    assert.deepEqual(Object.keys(await c.getAllSecrets({ tags: { app: 'db' } })), ['db']);
    assert.deepEqual(Object.keys(await c.getAllSecrets({ name: { regexp: '^w' } })), ['web']);
    await assert.rejects(
      c.getSecret({ key: 'nope' }),
      (e: unknown) =>
        e instanceof NoSecretError &&
        /Secret "remote\/nope" of store "k8s" not found/.test((e as Error).message),
    );
    assert.deepEqual(await c.validate(), { result: 'Ready' });
    // the remote cluster only ever saw the store's token, never the operator's identity
    const remote = calls.filter((c) => !c.startsWith('operator'));
    assert.ok(remote.length >= 6);
    assert.ok(
      remote.every((c) => c.endsWith(`Bearer ${TOKEN}`)),
      remote.join('\n'),
    );
    assert.ok(!calls.some((c) => c.includes('OPERATOR-IDENTITY')));
  });

  it('service account token from the TokenRequest API, reused from cache', async () => {
    clearTokenCache();
    calls.length = 0;
    const cfg = {
      server: { url },
      remoteNamespace: 'remote',
      auth: { serviceAccount: { name: 'reader', audiences: ['remote'] } },
    };
    for (let i = 0; i < 2; i++) {
      const c = await kubernetesProvider.newClient(ctx(cfg));
      assert.equal((await c.getSecret({ key: 'db', property: 'user' })).toString(), 'app');
    }
    assert.equal(calls.filter((c) => c.includes('/serviceaccounts/reader/token')).length, 1);
  });

  it('without auth the requests are anonymous (and rejected here)', async () => {
    const c = await kubernetesProvider.newClient(ctx({ server: { url }, remoteNamespace: 'remote' }));
    await assert.rejects(
      c.getSecret({ key: 'db' }),
      (e: unknown) =>
        e instanceof ProviderError && !e.retryable && /401 Unauthorized/.test((e as Error).message),
    );
    assert.equal((await c.validate()).result, 'Error');
    assert.ok(calls.at(-1)?.endsWith('anonymous'));
  });

  it('without server.url the operator cluster is used, but not its identity', async () => {
    calls.length = 0;
    const c = await kubernetesProvider.newClient(
      ctx({
        remoteNamespace: 'remote',
        auth: { token: { bearerToken: { name: 'reader-token', key: 'token' } } },
      }),
    );
    assert.equal((await c.getSecret({ key: 'db', property: 'user' })).toString(), 'app');
    assert.ok(calls.some((c) => c.endsWith(`Bearer ${TOKEN}`)));
  });

  it('a referent ClusterSecretStore validated on its own is Unknown', async () => {
    const c = await kubernetesProvider.newClient(
      ctx({ server: { url }, auth: { serviceAccount: { name: 'reader' } } }, 'ClusterSecretStore', ''),
    );
    assert.equal((await c.validate()).result, 'Unknown');
    await assert.rejects(c.getSecret({ key: 'db' }), /referent auth/);
  });

  it('a missing credential Secret is a ProviderError naming it', async () => {
    await assert.rejects(
      kubernetesProvider.newClient(
        ctx({ server: { url }, auth: { token: { bearerToken: { name: 'nope', key: 'token' } } } }),
      ),
      (e: unknown) =>
        e instanceof ProviderError &&
        /Secret "app\/nope" referenced by store "k8s": not found/.test((e as Error).message),
    );
  });

  it('an invalid store is an InvalidStoreError', async () => {
    await assert.rejects(
      kubernetesProvider.newClient(ctx({ auth: { token: {}, cert: {} } })),
      InvalidStoreError,
    );
  });
});

describe('kubernetes provider bounds: deadline, response cap, network policy', () => {
  const TOKEN = 'store-token';
  let written = 0;
  let hungUp = false;
  let connections = 0;
  const server = http.createServer((req, res) => {
    const name = /\/secrets\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    if (name === 'drip') {
      // a "slow-drip API server": valid headers at once, then a byte every 50 ms for ever
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"metadata":{"name":"drip"},"data":{');
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (name === 'huge') {
      // an endless JSON string, no Content-Length; counts what was written until the client hung up
      written = 0;
      hungUp = false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"metadata":{"name":"huge"},"data":{"k":"');
      const chunk = Buffer.alloc(64 * 1024, 65);
      const pump = (): void => {
        while (!hungUp && written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!hungUp) res.end('"}}');
      };
      res.on('close', () => (hungUp = true));
      return pump();
    }
    if (name === 'teapot') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end('INTERNAL-BODY-S3CRET');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ metadata: { name }, data: { password: b64('pw') } }));
  });
  server.on('connection', () => connections++);
  let url = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const ctx = (kubernetes: unknown, limits: Partial<ProviderLimits> = {}): ProviderContext => ({
    store: { kind: 'SecretStore', name: 'k8s', namespace: 'app', spec: { provider: { kubernetes } } },
    namespace: 'app',
    kube: operatorKube(url, [], TOKEN),
    limits: { ...DEFAULT_PROVIDER_LIMITS, ...limits },
  });
  const store = (extra: object = {}) => ({
    server: { url },
    remoteNamespace: 'remote',
    auth: { token: { bearerToken: { name: 'reader-token', key: 'token' } } },
    ...extra,
  });

  it('a slow-drip server fails at --provider-timeout with a retryable error', async () => {
    const c = await kubernetesProvider.newClient(ctx(store(), { kubernetesTimeoutMs: 500 }));
    const start = Date.now();
    await assert.rejects(c.getSecret({ key: 'drip' }), (e: unknown) => {
      assert.ok(e instanceof ProviderError && e.retryable, String(e));
      assert.equal(
        (e as Error).message,
        `reading Secret "remote/drip" of store "k8s" failed: the API server ${url}: no answer within 0.5s`,
      );
      return true;
    });
    const took = Date.now() - start;
    assert.ok(took >= 490 && took < 2500, `took ${took} ms`);
  });

  it('an oversized answer fails at --provider-max-response-bytes, and the body is not accumulated', async () => {
    const c = await kubernetesProvider.newClient(ctx(store(), { maxResponseBytes: 256 * 1024 }));
    const rss = process.memoryUsage().rss;
    await assert.rejects(c.getSecret({ key: 'huge' }), (e: unknown) => {
      assert.ok(e instanceof ProviderError && e.retryable, String(e));
      assert.match(
        (e as Error).message,
        /failed: the API server .*: the response is larger than 262144 bytes \(--provider-max-response-bytes\)$/,
      );
      return true;
    });
    await new Promise<void>((r) => {
      const t = setInterval(() => hungUp && (clearInterval(t), r()), 10);
    });
    assert.ok(written < 64 * 1024 * 1024, `the server wrote ${written} bytes before capstan hung up`);
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'memory stayed bounded');
  });

  it('a non-Status error body is never echoed into the message', async () => {
    const c = await kubernetesProvider.newClient(ctx(store()));
    await assert.rejects(c.getSecret({ key: 'teapot' }), (e: unknown) => {
      assert.ok(e instanceof ProviderError && e.retryable);
      assert.ok(!(e as Error).message.includes('S3CRET'), (e as Error).message);
      assert.match((e as Error).message, /failed: 500 Unknown: HTTP 500$/);
      return true;
    });
  });

  it('a server.url in a denied range is refused before connecting; the operator cluster is not held to it', async () => {
    const network = new NetworkPolicy({ denyCidrs: ['127.0.0.0/8'] });
    const before = connections;
    const tenant = await kubernetesProvider.newClient(ctx(store(), { network }));
    await assert.rejects(tenant.getSecret({ key: 'db' }), (e: unknown) => {
      assert.ok(e instanceof ProviderError && !e.retryable, String(e));
      assert.match(
        (e as Error).message,
        /the address 127\.0\.0\.1 is in a range the operator denies \(--webhook-deny-cidrs\)/,
      );
      return true;
    });
    const meta = await kubernetesProvider.newClient(
      ctx(store({ server: { url: 'http://169.254.169.254' } })),
    );
    await assert.rejects(
      meta.getSecret({ key: 'db' }),
      /169\.254\.169\.254 is in a range the operator denies/,
    );
    assert.equal(connections, before, 'no connection was made');
    // without server.url the operator's own cluster (here the same server) is used, unchecked
    const own = await kubernetesProvider.newClient(ctx(store({ server: undefined }), { network }));
    assert.equal((await own.getSecret({ key: 'db', property: 'password' })).toString(), 'pw');
  });
});
