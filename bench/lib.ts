/**
 * What the benchmark scenarios share: a private control plane sized for benchmarks (pod capacity and
 * Service range raised), a git daemon, capstan as its own process with the request counter preloaded
 * (bench/counter.ts), and small measuring helpers (RSS from /proc, capstan's /metrics, percentiles, a
 * concurrency pool). Nothing here mocks the API server.
 */
import { execFile } from 'node:child_process';
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

/**
 * Starts capstan with default flags (plus the run's kubeconfig, cache dir, helm and a metrics port) and
 * the request counter preloaded, and waits for "capstan started".
 * @param tag - names the log and counter files (a restart gets a new tag).
 */
export async function startCapstan(env: BenchEnv, tag: string): Promise<Capstan> {
  const metricsPort = await freePort();
  const counterFile = path.join(env.dir, `counts-${tag}.json`);
  const logPath = path.join(env.dir, `capstan-${tag}.log`);
  const proc = ManagedProcess.start({
    name: 'capstan',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      '--import',
      path.join(ROOT, 'bench', 'counter.ts'),
      path.join(ROOT, 'operator', 'main.ts'),
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
    env: { ...process.env, BENCH_COUNTER_FILE: counterFile },
  });
  await waitFor(
    async () => {
      proc.assertRunning();
      return proc.tail(200).includes('capstan started');
    },
    { timeoutMs: 90_000, what: 'capstan to start' },
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
