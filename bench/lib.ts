/**
 * What the benchmark scenarios share: a private control plane sized for benchmarks (pod capacity and
 * Service range raised), a git daemon, capstan as its own process with the request counter preloaded
 * (bench/counter.ts), and small measuring helpers (RSS from /proc, capstan's /metrics, percentiles, a
 * concurrency pool). Nothing here mocks the API server.
 *
 * capstan runs as the image runs it (Dockerfile): the compiled build `node dist/operator/main.js`
 * with the image's NODE_ENV and NODE_OPTIONS (read from the Dockerfile, so the two never drift apart),
 * not under tsx (whose TypeScript loader adds ~40 MiB RSS and start time that a deployed capstan
 * does not have). dist/ is compiled first when it is missing or older than a source file.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startControlPlane, type ControlPlane } from '../e2e/harness/controlplane';
import { startGitServer, type GitServer } from '../e2e/harness/gitserver';
import { ManagedProcess } from '../e2e/harness/process';
import { toolPath } from '../e2e/harness/tools';
import { waitFor } from '../e2e/harness/wait';
import { ensureDefaultProject, ensureNamespace, installCrds, ROOT } from '../e2e/operator';
import { KubeClient, isNotFound, loadKubeConfig } from '../operator/kube/client';
import type { Counts } from './counter';

export const execFileAsync = promisify(execFile);

/** The namespace capstan runs in during the benchmark. */
export const CONTROLLER_NS = 'capstan-system';

/** The running benchmark environment. */
export interface BenchEnv {
  cp: ControlPlane;
  git: GitServer;
  kube: KubeClient;
  dir: string;
  capstan?: Capstan;
}

/** capstan as a process: its PID, metrics port and request counts. */
export interface Capstan {
  proc: ManagedProcess;
  metricsPort: number;
  counterFile: string;
  /** Current request counts (from the counter file; zeros before the first request). */
  counts(): Counts;
  stop(): Promise<void>;
}

/** Starts the control plane (pods 20,000, Services /16), the git daemon and installs CRDs. */
export async function startEnv(log: (line: string) => void): Promise<BenchEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-'));
  const [cp, git] = await Promise.all([
    startControlPlane({ podCapacity: 20_000, serviceClusterIpRange: '10.96.0.0/16', log }),
    startGitServer(),
  ]);
  await installCrds(cp.kubeconfigPath);
  await ensureNamespace(cp.kubeconfigPath, CONTROLLER_NS);
  await ensureDefaultProject(cp.kubeconfigPath, CONTROLLER_NS);
  const kube = new KubeClient(loadKubeConfig(cp.kubeconfigPath));
  return { cp, git, kube, dir };
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The compiled build's directory, as the image holds it (`/app/dist`). */
export const DIST = path.join(ROOT, 'dist');
/** Written into dist/ after a build: the newest source mtime (ms) that build compiled. */
const BUILD_STAMP = path.join(DIST, '.bench-build-stamp');
/** What the build compiles (tsconfig.json's `include`, less e2e/ and scripts/, which capstan never loads). */
const BUILD_SOURCES = ['operator', 'generated', 'bench'];

/** The newest mtime (ms) of the .ts and .json files under `dirs` (and of tsconfig.json). */
function newestSource(dirs: string[]): number {
  let newest = fs.statSync(path.join(ROOT, 'tsconfig.json')).mtimeMs;
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(e.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) walk(path.join(ROOT, d));
  return newest;
}

/**
 * Compiles the project to dist/ (`tsc -p tsconfig.json`, as `make build` and the Dockerfile) unless
 * dist/ already holds a build of the current sources, and returns dist/'s path. A type error elsewhere
 * in the tree (another change in progress) does not stop the bench: tsc still emits, and the bench
 * only needs dist/operator/main.js and dist/bench/counter.js. Concurrent benches of one checkout take
 * turns through a lock directory.
 * @throws Error when the build produced no dist/operator/main.js, or the lock was held for 10 minutes.
 */
export function ensureBuild(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  const main = path.join(DIST, 'operator', 'main.js');
  const current = (): boolean => {
    try {
      return (
        fs.existsSync(main) && Number(fs.readFileSync(BUILD_STAMP, 'utf8')) >= newestSource(BUILD_SOURCES)
      );
    } catch {
      return false;
    }
  };
  if (current()) return DIST;
  const lock = `${DIST}.building`;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new Error(`${lock} held for 10 minutes; remove it if no build runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    if (current()) return DIST;
    const sources = newestSource(BUILD_SOURCES);
    log(`compiling capstan to ${DIST} (tsc -p tsconfig.json), as the image does`);
    const tsc = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (tsc.status !== 0)
      log(`tsc reported errors (the build is used anyway):\n${(tsc.stdout + tsc.stderr).slice(0, 2000)}`);
    if (!fs.existsSync(main)) throw new Error(`tsc produced no ${main}`);
    fs.writeFileSync(BUILD_STAMP, String(sources));
    return DIST;
  } finally {
    fs.rmdirSync(lock);
  }
}

/**
 * The image's NODE_ENV and NODE_OPTIONS (its `ENV` instruction in the Dockerfile), so that the
 * bench's capstan sizes its heap as the deployed one does.
 * @throws Error when the Dockerfile no longer sets NODE_OPTIONS in a form this reads.
 */
export function imageEnv(): { NODE_ENV: string; NODE_OPTIONS: string } {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const options = /\bNODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1];
  if (options === undefined) throw new Error('Dockerfile sets no NODE_OPTIONS="..." for the bench to copy');
  return { NODE_ENV: /\bNODE_ENV=(\S+)/.exec(dockerfile)?.[1] ?? 'production', NODE_OPTIONS: options };
}

/**
 * Starts capstan as the image does (see the module comment) with default flags (plus the run's
 * kubeconfig, cache dir, helm and a metrics port) and the request counter preloaded, and waits for
 * "capstan started". `BENCH_NODE_ARGS` adds node options (a profiler, a heap snapshot signal).
 * @param tag - names the log and counter files (a restart gets a new tag).
 */
export async function startCapstan(env: BenchEnv, tag: string): Promise<Capstan> {
  const metricsPort = await freePort();
  const counterFile = path.join(env.dir, `counts-${tag}.json`);
  const logPath = path.join(env.dir, `capstan-${tag}.log`);
  const dist = ensureBuild();
  const proc = ManagedProcess.start({
    name: 'capstan',
    command: process.execPath,
    args: [
      // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the bench's capstan
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--require',
      path.join(dist, 'bench', 'counter.js'),
      path.join(dist, 'operator', 'main.js'),
      '--kubeconfig',
      env.cp.kubeconfigPath,
      '--controller-namespace',
      CONTROLLER_NS,
      '--helm',
      toolPath('helm'),
      '--cache-dir',
      path.join(env.dir, 'cache'),
      '--metrics-port',
      String(metricsPort),
    ],
    logPath,
    cwd: ROOT,
    env: { ...process.env, ...imageEnv(), BENCH_COUNTER_FILE: counterFile },
  });
  await waitFor(
    async () => {
      proc.assertRunning();
      return proc.tail(200).includes('capstan started');
    },
    // P8 starts capstan with every app of the run existing: at 10,000 apps, minutes on a busy machine.
    { timeoutMs: 10 * 60_000, what: 'capstan to start' },
  );
  const capstan: Capstan = {
    proc,
    metricsPort,
    counterFile,
    counts: () => readCounts(counterFile),
    stop: () => proc.stop(),
  };
  env.capstan = capstan;
  return capstan;
}

function readCounts(file: string): Counts {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Counts;
  } catch {
    return { total: 0, categories: {}, writesToObjects: 0 };
  }
}

/** The difference of two request counts, category by category. */
export function diffCounts(after: Counts, before: Counts): Counts {
  const categories: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.categories)) {
    const d = v - (before.categories[k] ?? 0);
    if (d) categories[k] = d;
  }
  return {
    total: after.total - before.total,
    categories,
    writesToObjects: after.writesToObjects - before.writesToObjects,
  };
}

/** Requests that are not watches (a watch is one long request, not per-object work). */
export function requestsWithoutWatches(c: Counts): number {
  return c.total - (c.categories.watch ?? 0);
}

/** VmRSS and VmHWM of a process in MiB, from /proc/<pid>/status. */
export function memoryMiB(pid: number): { rss: number; hwm: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
  return { rss: round(kb('VmRSS') / 1024, 1), hwm: round(kb('VmHWM') / 1024, 1) };
}

/** capstan's Prometheus text from its metrics port. */
export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The sum of every sample of metric `name` whose labels contain `labelPart` (e.g. `operator="application"`). */
export function metricSum(text: string, name: string, labelPart = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (labelPart && !rest.includes(labelPart)) continue;
    sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** The p-th percentile (0..100) of a list of numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs `fn` over `items` with at most `concurrency` calls at once. */
export async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** A number rounded to `digits` decimals. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Milliseconds since `t0` (from `performance.now()`). */
export function since(t0: number): number {
  return performance.now() - t0;
}

/** GET that returns undefined on 404. */
export async function getOrUndefined<T>(kube: KubeClient, p: string): Promise<T | undefined> {
  try {
    return await kube.request<T>('GET', p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Server-side apply of one object as `fieldManager` (force), the way a plain client deploys. */
export async function ssa(kube: KubeClient, p: string, obj: unknown, fieldManager = 'bench'): Promise<void> {
  await kube.request('PATCH', p, {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager, force: true },
  });
}

/** Polls until `check` returns a value, at `intervalMs`, for at most `timeoutMs`. */
export function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  return waitFor(check, { timeoutMs, intervalMs, what });
}
