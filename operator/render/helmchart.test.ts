/**
 * Repository charts rendered with the real helm against a real local Helm repository (charts packaged
 * with `helm package`, indexed with `helm repo index`, served with Basic auth by node's HTTP server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import {
  gunzipBounded,
  renderHelmRepositoryChart,
  resolveHelmChartRevision,
  type HelmChartContext,
} from './helmchart';
import { renderHelm } from './helm';
import { remoteDependencyBuilder } from './helmchart';

const HELM = process.env.HELM_BINARY ?? 'helm';
const PASSWORD = 'pa55-word-never-on-argv';

function chart(dir: string, name: string, version: string, deps = ''): string {
  const root = path.join(dir, `${name}-${version}`, name);
  fs.mkdirSync(path.join(root, 'templates'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'Chart.yaml'),
    `apiVersion: v2\nname: ${name}\nversion: ${version}\n${deps}`,
  );
  fs.writeFileSync(
    path.join(root, 'templates', 'cm.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  version: {{ .Chart.Version | quote }}\n  color: {{ .Values.color | default "none" | quote }}\n`,
  );
  return root;
}

describe('renderHelmRepositoryChart (real helm, real repository)', () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  let ctx: HelmChartContext;
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    HELM_CONFIG_HOME: path.join(dir, 'h', 'c'),
    HELM_CACHE_HOME: path.join(dir, 'h', 'k'),
    HELM_DATA_HOME: path.join(dir, 'h', 'd'),
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helmchart-test-'));
    const served = path.join(dir, 'served');
    fs.mkdirSync(served);
    server = http.createServer((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from(`u:${PASSWORD}`).toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      const file = path.join(served, path.basename(req.url ?? ''));
      if (!fs.existsSync(file)) res.writeHead(404).end();
      else res.end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const v of ['1.0.0', '1.1.0', '2.0.0']) {
      execFileSync(HELM, ['package', chart(path.join(dir, 'src'), 'web', v), '-d', served], { env: env() });
    }
    execFileSync(HELM, ['package', chart(path.join(dir, 'src'), 'dep', '0.1.0'), '-d', served], {
      env: env(),
    });
    execFileSync(HELM, ['repo', 'index', served, '--url', url], { env: env() });
    ctx = {
      cacheDir: path.join(dir, 'cache'),
      refreshIntervalMs: 60_000,
      credentials: async (u) => (u.startsWith(url) ? { username: 'u', password: PASSWORD } : undefined),
    };
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a range resolves to the highest match and the archive renders with parameters', async () => {
    const source = {
      repoURL: url,
      chart: 'web',
      targetRevision: '1.*',
      helm: { parameters: [{ name: 'color', value: 'red' }] },
    };
    const version = await resolveHelmChartRevision(source, undefined, ctx);
    assert.equal(version, '1.1.0');
    const out = await renderHelmRepositoryChart({ appName: 'app', namespace: 'ns', source, version }, ctx);
    assert.equal(out.sourceType, 'Helm');
    assert.deepEqual(out.objects[0].data, { version: '1.1.0', color: 'red' });
    assert.equal(fs.readdirSync(path.join(dir, 'cache', 'helm', 'charts')).length, 1, 'one archive cached');
  });

  test('a remote dependency is built by helm dependency build; the password never reaches argv', async () => {
    const repo = path.join(dir, 'git');
    const parent = chart(
      repo,
      'parent',
      '0.1.0',
      `dependencies:\n- name: dep\n  version: "0.1.*"\n  repository: ${url}\n`,
    );
    const log = path.join(dir, 'argv.log');
    const wrapper = path.join(dir, 'helm-wrapper.sh');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\necho "$@" >> ${log}\n` +
        `[ -f "$HELM_CONFIG_HOME/repositories.yaml" ] && stat -c 'mode %a' "$HELM_CONFIG_HOME/repositories.yaml" >> ${log}\n` +
        `exec ${HELM} "$@"\n`,
      { mode: 0o755 },
    );
    const objects = await renderHelm({
      repoRoot: repo,
      chartPath: path.relative(repo, parent),
      appName: 'parent',
      namespace: 'ns',
      helmBinary: wrapper,
      remoteDependencies: remoteDependencyBuilder(ctx),
    });
    assert.deepEqual(objects.map((o) => o.metadata.name).sort(), ['dep', 'parent']);
    const argv = fs.readFileSync(log, 'utf8');
    assert.match(argv, /dependency build --skip-refresh/);
    assert.match(argv, /mode 600/);
    assert.doesNotMatch(argv, new RegExp(PASSWORD));
    assert.equal(fs.readdirSync(repo).length, 1, 'the checkout is not written');
    assert.equal(fs.existsSync(path.join(parent, 'charts')), false);
  });

  test('an unreachable dependency repository is a RenderError naming it', async () => {
    const repo = path.join(dir, 'git2');
    const parent = chart(
      repo,
      'p',
      '0.1.0',
      'dependencies:\n- name: dep\n  version: "0.1.*"\n  repository: http://127.0.0.1:1/x\n',
    );
    await assert.rejects(
      renderHelm({
        repoRoot: repo,
        chartPath: path.relative(repo, parent),
        appName: 'p',
        namespace: 'ns',
        remoteDependencies: remoteDependencyBuilder(ctx),
      }),
      /chart dependency "dep" \(repository http:\/\/127\.0\.0\.1:1\/x\):.*repository unreachable/,
    );
  });

  test('registry/path without an enableOCI Secret is refused with the way out', async () => {
    await assert.rejects(
      resolveHelmChartRevision({ repoURL: 'ghcr.io/org/charts', chart: 'web' }, '1.0.0', ctx),
      /has no scheme: write oci:\/\/ghcr\.io\/org\/charts/,
    );
  });

  test('an archive that unpacks past the ceiling is refused while it is read', async () => {
    const bomb = path.join(dir, 'bomb.tgz');
    fs.writeFileSync(bomb, zlib.gzipSync(Buffer.alloc(1024 * 1024)));
    await assert.rejects(
      gunzipBounded(bomb, path.join(dir, 'bomb.tar'), 64 * 1024, 'chart "x"'),
      /unpacks to more than 65536 bytes/,
    );
    await assert.rejects(
      gunzipBounded(__filename, path.join(dir, 'x.tar'), 1e6, 'chart "x"'),
      /is not a gzip archive/,
    );
  });
});
