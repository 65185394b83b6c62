import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { generatePki, type Pki } from '../../e2e/harness/pki';
import {
  ARCHIVE_IDLE_MS,
  HelmRepoClient,
  HelmRepoError,
  TtlCache,
  parseIndex,
  resolveChartVersion,
} from './helmrepo';
import { chartRepoURLProblem, isOciRepo, ociChartRef, parseBearerChallenge } from './oci';

const VERSIONS = [
  '1.0.0',
  '1.2.0',
  '1.2.7',
  '1.4.2',
  '1.4.9',
  '1.5.0',
  '2.0.0',
  '2.1.0-rc.1',
  'v3.0.0',
  'junk',
];

describe('resolveChartVersion (Argo CD: exact version, else the highest match of the constraint)', () => {
  const cases: Array<[string, string]> = [
    ['1.2.0', '1.2.0'],
    ['v3.0.0', 'v3.0.0'],
    ['3.0.0', 'v3.0.0'],
    ['1.2.*', '1.2.7'],
    ['>=1.0 <2', '1.5.0'],
    ['>=1.0, <2', '1.5.0'],
    ['~1.4', '1.4.9'],
    ['^1', '1.5.0'],
    ['*', 'v3.0.0'],
    ['', 'v3.0.0'],
    ['>=2.1.0-rc.0 <2.2', '2.1.0-rc.1'],
  ];
  for (const [revision, want] of cases) {
    test(`${JSON.stringify(revision)} -> ${want}`, () => {
      assert.equal(resolveChartVersion(VERSIONS, revision, 'chart "web"'), want);
    });
  }
  test('a pre-release never matches a range without one', () => {
    assert.equal(resolveChartVersion(['2.0.0', '2.1.0-rc.1'], '>=2', 'c'), '2.0.0');
  });
  test('a missing exact version, an unmatched range and a bad revision are clear errors', () => {
    assert.throws(
      () => resolveChartVersion(VERSIONS, '1.3.0', 'chart "web"'),
      /chart "web" has no version 1.3.0/,
    );
    assert.throws(() => resolveChartVersion(VERSIONS, '9.*', 'chart "web"'), /no version matching "9.\*"/);
    assert.throws(
      () => resolveChartVersion(VERSIONS, 'main', 'chart "web"'),
      /neither a version nor a semver range/,
    );
  });
});

describe('TtlCache', () => {
  test('serves within the TTL, fetches after it, drops expired entries and failed fetches', async () => {
    let clock = 0;
    let calls = 0;
    const cache = new TtlCache<number>(100, () => clock);
    assert.equal(await cache.get('a', async () => ++calls), 1);
    assert.equal(await cache.get('a', async () => ++calls), 1);
    clock = 100;
    assert.equal(await cache.get('b', async () => ++calls), 2);
    assert.equal(cache.size, 1, 'a expired and was dropped');
    await assert.rejects(
      cache.get('c', async () => Promise.reject(new Error('down'))),
      /down/,
    );
    assert.equal(cache.size, 1, 'a failure is not kept');
  });
});

describe('parseIndex', () => {
  test('reads versions, urls and digests; refuses a non-index', () => {
    const index = parseIndex(
      'apiVersion: v1\nentries:\n  web:\n  - version: 1.0.0\n    urls: [web-1.0.0.tgz]\n    digest: abc\n',
      'https://x',
    );
    assert.deepEqual(index.entries.web, [{ version: '1.0.0', urls: ['web-1.0.0.tgz'], digest: 'abc' }]);
    assert.throws(
      () => parseIndex('hello: world\n', 'https://u:p@x'),
      (err: Error) => {
        assert.ok(err instanceof HelmRepoError);
        assert.doesNotMatch(err.message, /u:p/);
        return true;
      },
    );
  });
});

describe('OCI references', () => {
  test('both Argo CD forms and the chart path', () => {
    assert.deepEqual(ociChartRef('oci://reg.example.com:5000/charts/', 'web'), {
      registry: 'reg.example.com:5000',
      name: 'charts/web',
      plainHttp: false,
    });
    assert.deepEqual(ociChartRef('ghcr.io/org', 'web', true), {
      registry: 'ghcr.io',
      name: 'org/web',
      plainHttp: true,
    });
    assert.equal(isOciRepo('oci://r/p', false), true);
    assert.equal(isOciRepo('r.io/p', true), true);
    assert.equal(isOciRepo('https://charts.example.com', false), false);
  });
  test('Bearer challenge', () => {
    assert.deepEqual(
      parseBearerChallenge(
        'Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull"',
      ),
      { realm: 'https://auth.io/token', service: 'registry.io', scope: 'repository:a/b:pull' },
    );
    assert.equal(parseBearerChallenge('Basic realm="x"'), undefined);
  });
  test('chart repository URLs', () => {
    assert.equal(chartRepoURLProblem('https://charts.example.com', 'f'), undefined);
    assert.equal(chartRepoURLProblem('oci://127.0.0.1:5000/charts', 'f'), undefined);
    assert.equal(chartRepoURLProblem('registry.example.com/charts', 'f'), undefined);
    assert.match(chartRepoURLProblem('file:///etc', 'f') ?? '', /not a Helm repository/);
    assert.match(chartRepoURLProblem('/var/cache', 'f') ?? '', /not a Helm repository/);
  });
});

describe('HelmRepoClient (a real HTTP server with basic auth)', () => {
  let server: http.Server;
  let url: string;
  let cacheDir: string;
  const hits = { index: 0, archive: 0 };
  const archive = Buffer.from('not really a tgz, but bytes with a digest');
  const digest = createHash('sha256').update(archive).digest('hex');
  let versions = ['1.0.0'];
  const indexText = (): string =>
    `apiVersion: v1\nentries:\n  web:\n${versions.map((v) => `  - version: ${v}\n    urls: [charts/web-${v}.tgz]\n    digest: ${digest}\n`).join('')}`;

  before(async () => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helmrepo-test-'));
    server = http.createServer((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('user:pass').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      if (req.url === '/index.yaml') {
        hits.index++;
        res.end(indexText());
      } else if (req.url?.startsWith('/charts/')) {
        hits.archive++;
        res.end(archive);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  test('the index is fetched once per TTL for every caller, again after it or on a hard refresh', async () => {
    let clock = 0;
    const client = new HelmRepoClient({ cacheDir, indexTtlMs: 1000, now: () => clock });
    const auth = { username: 'user', password: 'pass' };
    const [a, b] = await Promise.all([
      client.resolve(url, 'web', '1.*', auth),
      client.resolve(url, 'web', '1.*', auth),
    ]);
    assert.equal(a.version, '1.0.0');
    assert.equal(b.version, '1.0.0');
    assert.equal(hits.index, 1, 'concurrent resolutions share one fetch');
    versions = ['1.0.0', '1.1.0'];
    assert.equal((await client.resolve(url, 'web', '1.*', auth)).version, '1.0.0', 'within the TTL: cached');
    assert.equal(hits.index, 1);
    assert.equal((await client.resolve(url, 'web', '1.*', auth, true)).version, '1.1.0', 'hard refresh');
    assert.equal(hits.index, 2);
    clock += 999;
    await client.resolve(url, 'web', '1.*', auth);
    assert.equal(hits.index, 2, 'still within the TTL');
    clock += 1;
    await client.resolve(url, 'web', '1.*', auth);
    assert.equal(hits.index, 3, 'after the TTL: fetched again');
  });

  test('the archive is downloaded once and checked against the digest', async () => {
    const client = new HelmRepoClient({ cacheDir, indexTtlMs: 60_000 });
    const auth = { username: 'user', password: 'pass' };
    const entry = await client.resolve(url, 'web', '1.0.0', auth);
    const before = hits.archive;
    const file = await client.archive(url, 'web', entry, auth);
    assert.deepEqual(fs.readFileSync(file), archive);
    assert.equal(await client.archive(url, 'web', entry, auth), file);
    assert.equal(hits.archive, before + 1, 'second call served from disk');
    assert.equal(fs.statSync(file).mode & 0o077, 0, 'archive is owner-only');
    const stale = path.join(path.dirname(file), 'stale.tgz');
    fs.writeFileSync(stale, 'old');
    const weekAgo = new Date(Date.now() - ARCHIVE_IDLE_MS - 60_000);
    fs.utimesSync(stale, weekAgo, weekAgo);
    fs.utimesSync(file, weekAgo, weekAgo);
    assert.equal(await client.archive(url, 'web', entry, auth), file, 'a cache hit marks the archive used');
    await client.archive(url, 'web', { ...entry, version: '1.1.0' }, auth);
    assert.equal(fs.existsSync(stale), false, 'an archive unused for a week is swept at the next write');
    assert.equal(fs.existsSync(file), true, 'the one just used stays');
    await assert.rejects(
      client.archive(url, 'web', { ...entry, digest: '0'.repeat(64), version: '9.9.9' }, auth),
      /is not the digest/,
    );
  });

  test('wrong credentials: 401 names the Secret, never the password', async () => {
    const client = new HelmRepoClient({ cacheDir, indexTtlMs: 60_000 });
    await assert.rejects(
      client.resolve(url, 'web', '1.*', { username: 'user', password: 'nope' }),
      (err: Error) => {
        assert.match(
          err.message,
          /HTTP 401 \(authentication failed: check the repository Secret of type helm\)/,
        );
        assert.doesNotMatch(err.message, /nope/);
        return true;
      },
    );
    await assert.rejects(
      client.resolve('http://127.0.0.1:1', 'web', '1.*', undefined),
      /repository unreachable/,
    );
  });
});

describe('HelmRepoClient over TLS (CA from argocd-tls-certs-cm, client certificate)', () => {
  let server: https.Server;
  let url: string;
  let dir: string;
  let pki: Pki;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helmrepo-tls-'));
    pki = await generatePki(dir);
    server = https.createServer(
      {
        cert: fs.readFileSync(pki.servingCert),
        key: fs.readFileSync(pki.servingKey),
        ca: fs.readFileSync(pki.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (_req, res) => res.end('apiVersion: v1\nentries:\n  web:\n  - version: 1.0.0\n    urls: [web.tgz]\n'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the CA and the client certificate are both needed', async () => {
    const client = new HelmRepoClient({ cacheDir: dir, indexTtlMs: 60_000 });
    const caData = fs.readFileSync(pki.caCert, 'utf8');
    const tlsClientCertData = fs.readFileSync(pki.adminCert, 'utf8');
    const tlsClientCertKey = fs.readFileSync(pki.adminKey, 'utf8');
    await assert.rejects(
      client.resolve(url, 'web', '1.0.0', { tlsClientCertData, tlsClientCertKey }),
      /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify|self.signed/i,
    );
    await assert.rejects(client.resolve(url, 'web', '1.0.0', { caData }), /repository unreachable/);
    const entry = await client.resolve(url, 'web', '1.0.0', { caData, tlsClientCertData, tlsClientCertKey });
    assert.equal(entry.version, '1.0.0');
  });
});
