/**
 * A real local OCI registry for end-to-end tests: go-containerregistry's `registry` (built by
 * `scripts/build-test-servers.sh`, called from `make setup`) on a free port, charts pushed to it with the
 * real `helm push --plain-http`, and a small node reverse proxy on loopback that demands Basic auth in
 * front of it (the registry itself has no authentication), for the credential tests.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { harnessHelmEnv, writeChart, type ChartSpec } from './helmrepo';
import { ManagedProcess, freePorts, portAccepts } from './process';
import { toolPath } from './tools';
import { waitFor } from './wait';

const run = promisify(execFile);

/** The registry version `scripts/build-test-servers.sh` builds. */
export const REGISTRY_VERSION = 'v0.22.1';

/** Where `scripts/build-test-servers.sh` puts the registry binary. */
export function registryBinary(): string {
  const cache = process.env.CAPSTAN_CACHE ?? path.join(os.homedir(), '.cache', 'capstan');
  return path.join(cache, `registry-${REGISTRY_VERSION}`, 'bin', 'registry');
}

/** A running registry and its authenticating proxy. */
export interface OciRegistry {
  /** `127.0.0.1:<port>` of the registry itself (no authentication). */
  host: string;
  /** `127.0.0.1:<port>` of the proxy that demands Basic auth. */
  authHost: string;
  /** Packages a chart and pushes it to `oci://<host>/<path>` (real `helm push --plain-http`). */
  publish(chart: ChartSpec, repoPath: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the registry and the proxy.
 * @param auth - the proxy's user and password.
 * @throws Error when the binary is missing (run `make setup`) or does not start within 30 s.
 */
export async function startOciRegistry(auth: { username: string; password: string }): Promise<OciRegistry> {
  const binary = registryBinary();
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: run make setup (scripts/build-test-servers.sh)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-oci-'));
  const [port] = await freePorts(1);
  const proc = ManagedProcess.start({
    name: 'registry',
    command: binary,
    args: ['-port', String(port)],
    logPath: path.join(dir, 'registry.log'),
    cwd: dir,
  });
  await waitFor(
    async () => {
      proc.assertRunning();
      return portAccepts(port);
    },
    { timeoutMs: 30_000, what: 'the OCI registry to listen' },
  );
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const proxy = http.createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="registry"' }).end();
      return;
    }
    const headers = { ...req.headers, host: `127.0.0.1:${port}` };
    delete headers.authorization;
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const env = harnessHelmEnv(path.join(dir, 'home'));
  const helm = toolPath('helm');
  return {
    host: `127.0.0.1:${port}`,
    authHost: `127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    async publish(chart, repoPath) {
      const chartDir = writeChart(path.join(dir, 'src'), chart);
      const out = path.join(dir, 'packages');
      await run(helm, ['package', chartDir, '--destination', out], { env });
      const tgz = path.join(out, `${chart.name}-${chart.version}.tgz`);
      await run(helm, ['push', tgz, `oci://127.0.0.1:${port}/${repoPath}`, '--plain-http'], { env });
    },
    async stop() {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
