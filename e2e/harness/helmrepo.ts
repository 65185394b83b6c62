/**
 * A real local Helm repository for end-to-end tests: charts written to a temporary directory, packaged
 * with the real `helm package`, indexed with `helm repo index --merge`, and served by node's HTTP server
 * on a free loopback port behind Basic auth (when a user is given). Charts can be published while a test
 * runs (a new version mid-test).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { toolPath } from './tools';

const run = promisify(execFile);

/** A chart to publish: `Chart.yaml` fields and its template files. */
export interface ChartSpec {
  name: string;
  version: string;
  /** File name -> content under `templates/`. */
  templates: Record<string, string>;
  /** `values.yaml` content. */
  values?: string;
  /** `dependencies` of Chart.yaml. */
  dependencies?: Array<{ name: string; version: string; repository: string }>;
}

/** A running Helm repository. */
export interface HelmRepoServer {
  /** `http://127.0.0.1:<port>` (no credentials). */
  url: string;
  /** Number of GETs of index.yaml so far. */
  indexRequests(): number;
  /** Packages a chart (real `helm package`) and merges it into index.yaml. */
  publish(chart: ChartSpec): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Writes a chart directory under `dir` and returns its path.
 * @param dir - a temporary directory.
 */
export function writeChart(dir: string, chart: ChartSpec): string {
  const root = path.join(dir, `${chart.name}-${chart.version}`, chart.name);
  fs.mkdirSync(path.join(root, 'templates'), { recursive: true });
  const deps = chart.dependencies?.length
    ? `dependencies:\n${chart.dependencies.map((d) => `- name: ${d.name}\n  version: "${d.version}"\n  repository: ${d.repository}\n`).join('')}`
    : '';
  fs.writeFileSync(
    path.join(root, 'Chart.yaml'),
    `apiVersion: v2\nname: ${chart.name}\nversion: ${chart.version}\n${deps}`,
  );
  fs.writeFileSync(path.join(root, 'values.yaml'), chart.values ?? '{}\n');
  for (const [file, text] of Object.entries(chart.templates)) {
    fs.writeFileSync(path.join(root, 'templates', file), text);
  }
  return root;
}

/** The environment of the harness's helm: private homes, so no user repository leaks in. */
export function harnessHelmEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
  };
}

/**
 * Starts a Helm repository.
 * @param opts - `username`/`password`: Basic auth on every request (none when absent).
 */
export async function startHelmRepo(
  opts: { username?: string; password?: string } = {},
): Promise<HelmRepoServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-helmrepo-'));
  const served = path.join(dir, 'repo');
  fs.mkdirSync(served);
  let indexHits = 0;
  const expected = opts.username
    ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`
    : undefined;
  const server = http.createServer((req, res) => {
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="charts"' }).end();
      return;
    }
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
    if (name === 'index.yaml') indexHits++;
    const file = path.join(served, path.basename(name));
    if (!name || name.includes('/') || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = harnessHelmEnv(path.join(dir, 'home'));
  const helm = toolPath('helm');
  return {
    url,
    indexRequests: () => indexHits,
    async publish(chart) {
      const chartDir = writeChart(path.join(dir, 'src'), chart);
      await run(helm, ['package', chartDir, '--destination', served], { env });
      const merge = fs.existsSync(path.join(served, 'index.yaml'))
        ? ['--merge', path.join(served, 'index.yaml')]
        : [];
      await run(helm, ['repo', 'index', served, '--url', url, ...merge], { env });
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A ConfigMap template whose data shows the chart's name, version and one value. */
export function configMapTemplate(name: string): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    'data:',
    '  chart: {{ .Chart.Name | quote }}',
    '  version: {{ .Chart.Version | quote }}',
    '  release: {{ .Release.Name | quote }}',
    '  color: {{ .Values.color | default "none" | quote }}',
    '',
  ].join('\n');
}
