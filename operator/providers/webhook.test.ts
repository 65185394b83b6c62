import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, type KubeClient } from '../kube/client';
import type { KubeSecret } from './storerefs';
import { DEFAULT_PROVIDER_LIMITS, NetworkPolicy, type ProviderLimits, type Resolver } from './netpolicy';
import type { ProviderContext, SecretsClient, StoreKind } from './types';
import { InvalidStoreError, NoSecretError, ProviderError } from './types';
import { validateWebhookStore, webhookProvider, webhookTimeout, type WebhookProviderConfig } from './webhook';

const TOKEN = 'tok-S3CRET';
const BODY_SECRET = 'response-body-S3CRET';

/** A KubeClient double serving Secrets by `namespace/name`. */
function kubeWith(secrets: Record<string, KubeSecret>): KubeClient {
  return {
    request: async (_method: string, p: string) => {
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(p);
      const s = m ? secrets[`${m[1]}/${m[2]}`] : undefined;
      if (!s) throw new KubeApiError(404, 'NotFound', 'not found');
      return s;
    },
  } as unknown as KubeClient;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const credentials: KubeSecret = {
  metadata: { name: 'creds', labels: { 'external-secrets.io/type': 'webhook' } },
  data: { token: b64(TOKEN), 'api-key': b64('K1') },
};
const unlabelled: KubeSecret = { metadata: { name: 'plain' }, data: { token: b64(TOKEN) } };

interface Seen {
  method?: string;
  url?: string;
  headers?: http.IncomingHttpHeaders;
  body?: string;
}

/** Routes of the test server: path prefix -> [status, body]. */
function handler(seen: Seen): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Object.assign(seen, {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const url = req.url ?? '';
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (url.startsWith('/secrets/')) {
        return json(200, {
          data: {
            value: 'v1',
            num: 3.25,
            list: ['first', 'second'],
            obj: { b: 2, a: '<1>' },
            json: '{"x":"y"}',
          },
          items: [{ name: 'n1', value: 'i1' }],
        });
      }
      if (url.startsWith('/text')) return json(200, 'plain text answer');
      if (url.startsWith('/missing')) return json(404, { error: BODY_SECRET });
      if (url.startsWith('/boom')) return json(500, { error: BODY_SECRET });
      if (url.startsWith('/bad')) return json(400, { error: BODY_SECRET });
      if (url.startsWith('/moved')) {
        res.writeHead(302, { location: '/secrets/x' });
        return res.end();
      }
      if (url.startsWith('/slow')) return; // never answers
      json(200, { echo: true });
    });
  };
}

function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function ctxFor(
  webhook: unknown,
  opts: { kind?: StoreKind; secrets?: Record<string, KubeSecret>; limits?: Partial<ProviderLimits> } = {},
): ProviderContext {
  const kind = opts.kind ?? 'SecretStore';
  return {
    store: {
      kind,
      name: 'hook',
      namespace: kind === 'SecretStore' ? 'app' : undefined,
      spec: { provider: { webhook } },
    },
    namespace: 'app',
    kube: kubeWith(opts.secrets ?? { 'app/creds': credentials, 'app/plain': unlabelled }),
    ...(opts.limits ? { limits: { ...DEFAULT_PROVIDER_LIMITS, ...opts.limits } } : {}),
  };
}

describe('webhook provider against a real HTTP server', () => {
  const seen: Seen = {};
  const server = http.createServer(handler(seen));
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const client = (cfg: Partial<WebhookProviderConfig>, kind?: StoreKind): Promise<SecretsClient> =>
    webhookProvider.newClient(ctxFor({ url: `${base}/secrets/{{ .remoteRef.key }}`, ...cfg }, { kind }));

  it('templates url (query-escaped remoteRef), headers and body; whole body without jsonPath', async () => {
    const c = await client({
      url: `${base}/echo/{{ .remoteRef.key }}?v={{ .remoteRef.version }}&ns={{ .remoteRef.namespace }}`,
      method: 'POST',
      headers: {
        Authorization: 'Bearer {{ .auth.token }}',
        'X-Key': '{{ index .auth "api-key" }}',
        'X-Raw': '{{ .remoteRef.key }}',
      },
      body: '{"key":"{{ .remoteRef.key }}"}',
      secrets: [{ name: 'auth', secretRef: { name: 'creds' } }],
    });
    const value = await c.getSecret({ key: 'a/b c', version: 'v&1' });
    assert.equal(value.toString(), '{"echo":true}');
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/echo/a%2Fb+c?v=v%261&ns=app');
    assert.equal(seen.headers?.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen.headers?.['x-key'], 'K1');
    assert.equal(seen.headers?.['x-raw'], 'a/b c');
    assert.equal(seen.body, '{"key":"a/b c"}');
  });

  const jsonPathCases: Array<[string, string]> = [
    ['$.data.value', 'v1'],
    ['$.data.num', '3.25'],
    ['$.data.list', 'first'],
    ['$.data.list[1]', 'second'],
    ['$.data.obj', '{"a":"\\u003c1\\u003e","b":2}'],
    ['$.items[*].value', 'i1'],
    ['$.data.{{ .remoteRef.property }}', 'v1'],
  ];
  for (const [jsonPath, want] of jsonPathCases) {
    it(`getSecret with jsonPath ${jsonPath}`, async () => {
      const c = await client({ result: { jsonPath } });
      assert.equal((await c.getSecret({ key: 'k', property: 'value' })).toString(), want);
    });
  }

  it('getSecretMap: the selected object, or a selected JSON string', async () => {
    const c = await client({ result: { jsonPath: '$.data' } });
    const m = await c.getSecretMap({ key: 'k' });
    assert.deepEqual(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()])), {
      value: 'v1',
      num: '3.25',
      list: '["first","second"]',
      obj: '{"a":"\\u003c1\\u003e","b":2}',
      json: '{"x":"y"}',
    });
    const c2 = await client({ result: { jsonPath: '$.data.json' } });
    assert.equal((await c2.getSecretMap({ key: 'k' })).x.toString(), 'y');
    const c3 = await client({ result: { jsonPath: '$.data.value' } });
    await assert.rejects(c3.getSecretMap({ key: 'k' }), /not a JSON object/);
  });

  it('a jsonPath that matches nothing is a non-retryable ProviderError', async () => {
    const c = await client({ result: { jsonPath: '$.data.nope' } });
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      (e: unknown) => e instanceof ProviderError && !e.retryable && /matched nothing/.test(e.message),
    );
  });

  it('a jsonPath on a non-JSON answer', async () => {
    const c = await client({ url: `${base}/text/{{ .remoteRef.key }}`, result: { jsonPath: '$.x' } });
    await assert.rejects(c.getSecret({ key: 'k' }), /the response is not JSON/);
  });

  const statusCases: Array<[string, (e: unknown) => boolean]> = [
    ['missing', (e) => e instanceof NoSecretError && /key "k" not found: .* answered 404/.test(e.message)],
    ['boom', (e) => e instanceof ProviderError && e.retryable && /answered 500/.test(e.message)],
    ['bad', (e) => e instanceof ProviderError && !e.retryable && /answered 400/.test(e.message)],
    [
      'moved',
      (e) =>
        e instanceof ProviderError &&
        !e.retryable &&
        /302 \(capstan does not follow redirects\)/.test(e.message),
    ],
  ];
  for (const [route, check] of statusCases) {
    it(`status: ${route}`, async () => {
      const c = await client({
        url: `${base}/${route}/{{ .auth.token }}`,
        secrets: [{ name: 'auth', secretRef: { name: 'creds' } }],
      });
      await assert.rejects(c.getSecret({ key: 'k' }), (e: unknown) => {
        assert.ok(check(e), String(e));
        const msg = (e as Error).message;
        assert.ok(!msg.includes(BODY_SECRET) && !msg.includes(TOKEN), `message leaks: ${msg}`);
        return true;
      });
    });
  }

  it('a timeout is a retryable ProviderError', async () => {
    const c = await client({ url: `${base}/slow/{{ .remoteRef.key }}`, timeout: '200ms' });
    const start = Date.now();
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      (e: unknown) => e instanceof ProviderError && e.retryable && /no answer within 0.2s/.test(e.message),
    );
    assert.ok(Date.now() - start < 3000);
  });

  it('a refused connection is a retryable ProviderError', async () => {
    const closed = http.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const c = await client({ url: `http://127.0.0.1:${port}/x` });
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      (e: unknown) => e instanceof ProviderError && e.retryable && /ECONNREFUSED/.test(e.message),
    );
    assert.equal((await c.validate()).result, 'Error');
  });

  it('validate connects to the host', async () => {
    assert.deepEqual(await (await client({})).validate(), { result: 'Ready' });
  });

  it('secrets must carry the external-secrets.io/type: webhook label', async () => {
    const c = await client({
      headers: { a: '{{ .auth.token }}' },
      secrets: [{ name: 'auth', secretRef: { name: 'plain' } }],
    });
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      /must carry the label external-secrets.io\/type: webhook/,
    );
  });

  it('a missing secret key is an error naming the key', async () => {
    const c = await client({
      headers: { a: '{{ .auth.passwd }}' },
      secrets: [{ name: 'auth', secretRef: { name: 'creds' } }],
    });
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      (e: unknown) =>
        e instanceof ProviderError &&
        /headers\.a: .*map has no entry for key "passwd"/.test((e as Error).message),
    );
  });

  it('getAllSecrets is not supported', async () => {
    await assert.rejects(
      (await client({})).getAllSecrets({ name: { regexp: '.' } }),
      /does not support dataFrom.find/,
    );
  });

  it('newClient rejects an invalid store', async () => {
    await assert.rejects(webhookProvider.newClient(ctxFor({ url: 'ftp://x' })), InvalidStoreError);
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('webhook over https with a private CA', { skip: !hasOpenssl && 'openssl is not installed' }, () => {
  let dir = '';
  let server: https.Server | undefined;
  let base = '';
  let caBundle = '';
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-webhook-tls-'));
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    run(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    );
    run(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'srv.key',
      '-out',
      'srv.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    run(
      'x509',
      '-req',
      '-in',
      'srv.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'srv.crt',
      '-days',
      '1',
      '-extfile',
      'ext.cnf',
    );
    const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
    caBundle = read('ca.crt').toString('base64');
    server = https.createServer({ key: read('srv.key'), cert: read('srv.crt') }, handler({}));
    base = `https://127.0.0.1:${await listen(server)}`;
  });
  after(() => {
    server?.closeAllConnections();
    server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the caBundle', async () => {
    const c = await webhookProvider.newClient(
      ctxFor({ url: `${base}/secrets/x`, caBundle, result: { jsonPath: '$.data.value' } }),
    );
    assert.equal((await c.getSecret({ key: 'x' })).toString(), 'v1');
  });

  it('trusts a caProvider Secret', async () => {
    const secrets = { 'app/ca': { data: { 'ca.crt': caBundle } } };
    const cfg = {
      url: `${base}/secrets/x`,
      caProvider: { type: 'Secret', name: 'ca', key: 'ca.crt' },
      result: { jsonPath: '$.data.value' },
    };
    const c = await webhookProvider.newClient(ctxFor(cfg, { secrets }));
    assert.equal((await c.getSecret({ key: 'x' })).toString(), 'v1');
  });

  it('rejects the server without the CA', async () => {
    const c = await webhookProvider.newClient(ctxFor({ url: `${base}/secrets/x` }));
    await assert.rejects(
      c.getSecret({ key: 'x' }),
      (e: unknown) => e instanceof ProviderError && /VERIFY|CERT|SELF_SIGNED/i.test((e as Error).message),
    );
  });
});

describe('validateWebhookStore', () => {
  const ok = { url: 'https://h/{{ .remoteRef.key }}' };
  const cases: Array<[string, unknown, StoreKind, string[]]> = [
    ['valid', ok, 'SecretStore', []],
    [
      'missing url',
      {},
      'SecretStore',
      ['spec.provider.webhook.url must be set', 'spec.provider.webhook.url must be a string'],
    ],
    [
      'unknown template root',
      { url: 'https://h/{{ .auth.x }}' },
      'SecretStore',
      ['spec.provider.webhook: templates use .auth, which is neither remoteRef nor a secrets[].name'],
    ],
    [
      'unsupported template construct',
      { url: 'https://h/{{ nosuch .a }}' },
      'SecretStore',
      ['spec.provider.webhook.url: function "nosuch" not defined'],
    ],
    [
      'ntlm',
      { ...ok, auth: { ntlm: {} } },
      'SecretStore',
      ['spec.provider.webhook.auth (NTLM) is not supported by capstan; use headers'],
    ],
    [
      'filter jsonPath',
      { ...ok, result: { jsonPath: '$.a[?(@.b)]' } },
      'SecretStore',
      ['spec.provider.webhook.result.jsonPath: filter and script expressions are not supported by capstan'],
    ],
    [
      'a method that does not read',
      { ...ok, method: 'DELETE' },
      'SecretStore',
      ['spec.provider.webhook.method must be one of GET, POST, PUT, PATCH'],
    ],
    ['a lower-case method', { ...ok, method: 'post' }, 'SecretStore', []],
    [
      'bad timeout',
      { ...ok, timeout: '5' },
      'SecretStore',
      ['spec.provider.webhook.timeout must be a positive Go duration such as 10s'],
    ],
    [
      'ClusterSecretStore secret needs a namespace',
      { ...ok, secrets: [{ name: 'auth', secretRef: { name: 'c' } }] },
      'ClusterSecretStore',
      ['spec.provider.webhook.secrets[0].secretRef.namespace must be set in a ClusterSecretStore'],
    ],
    [
      'SecretStore secret in another namespace',
      { ...ok, secrets: [{ name: 'auth', secretRef: { name: 'c', namespace: 'other' } }] },
      'SecretStore',
      ['spec.provider.webhook.secrets[0].secretRef.namespace must be empty or "app" in a SecretStore'],
    ],
    [
      'secret name must be an identifier',
      { ...ok, secrets: [{ name: 'my-auth', secretRef: { name: 'c' } }] },
      'SecretStore',
      [
        'spec.provider.webhook.secrets[0].name must be an identifier (letters, digits, _) other than remoteRef',
      ],
    ],
  ];
  for (const [name, cfg, kind, want] of cases) {
    it(name, () => {
      const store = { kind, name: 'hook', namespace: kind === 'SecretStore' ? 'app' : undefined };
      assert.deepEqual(validateWebhookStore(cfg, store), want);
    });
  }
});

describe('webhook network policy and bounds (operator limits)', () => {
  let connections = 0;
  const seen: Seen = {};
  const inner = handler(seen);
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/big')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ value: 'x'.repeat(8192) }));
    }
    inner(req, res);
  });
  server.on('connection', () => connections++);
  let port = 0;
  before(async () => {
    port = await listen(server);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const resolver: Resolver = async (host) => {
    if (host === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
    if (host === 'local.test') return [{ address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const make = (cfg: Partial<WebhookProviderConfig>, limits: Partial<ProviderLimits> = {}) =>
    webhookProvider.newClient(
      ctxFor(
        { url: `http://127.0.0.1:${port}/secrets/{{ .remoteRef.key }}`, ...cfg },
        { limits: { resolver, ...limits } },
      ),
    );
  const refused = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof ProviderError && !e.retryable, String(e));
    assert.match((e as Error).message, pattern);
    return true;
  };

  it('a metadata address is refused by default, before any connection', async () => {
    const c = await make({ url: 'http://169.254.169.254/latest/meta-data/{{ .remoteRef.key }}' });
    await assert.rejects(
      c.getSecret({ key: 'iam' }),
      refused(
        /^the webhook of store "hook" \(http:\/\/169\.254\.169\.254\): the address 169\.254\.169\.254 is in a range the operator denies \(--webhook-deny-cidrs\); capstan does not connect to it$/,
      ),
    );
    const v = await c.validate();
    assert.equal(v.result, 'Error');
    assert.match(v.message ?? '', /169\.254\.169\.254 is in a range the operator denies/);
  });

  it('a host name resolving to a denied address is refused (every address is checked)', async () => {
    const c = await make({ url: 'http://metadata.test/computeMetadata/v1/{{ .remoteRef.key }}' });
    await assert.rejects(
      c.getSecret({ key: 'token' }),
      refused(/"metadata\.test" resolves to 169\.254\.169\.254, which is in a range the operator denies/),
    );
  });

  it('loopback denied by the admin: the same error for a listening and a closed port, and no connection', async () => {
    const closed = http.createServer();
    const free = await listen(closed);
    await new Promise((r) => closed.close(r));
    const network = new NetworkPolicy({ denyCidrs: ['127.0.0.0/8', '::1/128'] });
    const before = connections;
    const messages: string[] = [];
    for (const p of [port, free]) {
      const c = await make(
        { url: `http://localhost:${p}/secrets/{{ .remoteRef.key }}` },
        { network, resolver: undefined },
      );
      await assert.rejects(c.getSecret({ key: 'k' }), (e: unknown) => {
        assert.ok(e instanceof ProviderError && !e.retryable);
        messages.push((e as Error).message.replace(String(p), 'PORT'));
        return true;
      });
      const v = await c.validate();
      messages.push((v.message ?? '').replace(String(p), 'PORT'));
    }
    assert.equal(new Set(messages).size, 1, messages.join('\n'));
    assert.match(
      messages[0],
      /"localhost" resolves to (127\.0\.0\.1|::1), which is in a range the operator denies/,
    );
    assert.equal(connections, before, 'no connection was made');
  });

  it('an allow-list admits only its hosts and ranges', async () => {
    const network = new NetworkPolicy({ allowHosts: ['local.test'] });
    const listed = await make(
      { url: `http://local.test:${port}/secrets/{{ .remoteRef.key }}`, result: { jsonPath: '$.data.value' } },
      { network },
    );
    assert.equal((await listed.getSecret({ key: 'k' })).toString(), 'v1');
    assert.deepEqual(await listed.validate(), { result: 'Ready' });
    const literal = await make({}, { network });
    await assert.rejects(
      literal.getSecret({ key: 'k' }),
      refused(/is not in the ranges or hosts the operator allows/),
    );
  });

  it('a timeout above --webhook-max-timeout is clamped, and the store says so', async () => {
    const c = await make(
      { url: `http://127.0.0.1:${port}/slow/{{ .remoteRef.key }}`, timeout: '60s' },
      { webhookMaxTimeoutMs: 300 },
    );
    const start = Date.now();
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      (e: unknown) => e instanceof ProviderError && e.retryable && /no answer within 0\.3s$/.test(e.message),
    );
    assert.ok(Date.now() - start < 3000);
    assert.deepEqual(await c.validate(), {
      result: 'Ready',
      message:
        "spec.provider.webhook.timeout 60s is above the operator's maximum (--webhook-max-timeout); capstan waits at most 0.3s",
    });
  });

  it('webhookTimeout: default 10s, clamped to the maximum, noted only when the store asked', () => {
    assert.deepEqual(webhookTimeout({}, { webhookMaxTimeoutMs: 30_000 }), { ms: 10_000 });
    assert.deepEqual(webhookTimeout({ timeout: '1m' }, { webhookMaxTimeoutMs: 30_000 }), {
      ms: 30_000,
      asked: 60_000,
    });
    assert.deepEqual(webhookTimeout({}, { webhookMaxTimeoutMs: 5_000 }), { ms: 5_000 });
  });

  it('a response above --provider-max-response-bytes is a retryable error, without the body', async () => {
    const c = await make(
      { url: `http://127.0.0.1:${port}/big/{{ .remoteRef.key }}` },
      { maxResponseBytes: 1024 },
    );
    await assert.rejects(
      c.getSecret({ key: 'k' }),
      (e: unknown) =>
        e instanceof ProviderError &&
        e.retryable &&
        /: the response is larger than 1024 bytes \(--provider-max-response-bytes\)$/.test(e.message),
    );
  });

  it('a redirect is not followed, even to an allowed address', async () => {
    const c = await make({ url: `http://127.0.0.1:${port}/moved/{{ .remoteRef.key }}` });
    await assert.rejects(c.getSecret({ key: 'k' }), /302 \(capstan does not follow redirects\)/);
    assert.equal(seen.url, '/moved/k', 'the Location was never requested');
  });
});
