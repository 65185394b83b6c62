/**
 * `make bench` (issue 10 §1): capstan against same-run baselines on a private control plane, git daemon
 * and capstan process. Each scenario prints capstan's figure, the baseline measured in the same run and
 * the ratio, and the run writes `bench/results/<date>.json` (keys p1..p8, each `{value, baseline, ratio,
 * unit, n, cores, reads, ...details}`). `BENCH_SCALE=large` runs the full sizes; the default is the quick
 * one (about 10 minutes on 2 cores). `BENCH_ONLY=p1,p3` runs a subset (P1 always runs: the others use its
 * apps). `BENCH_OUT=<file>` writes the JSON elsewhere; `BENCH_SIZES=20,50`, `BENCH_IDLE_S`, `BENCH_ES` shrink a
 * run to try the scripts.
 *
 * Ratios: for throughputs capstan's over the baseline's (higher is better, 1.0 is parity); for latencies
 * and times capstan's over the baseline's (lower is better); each result's `reads` says which.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeClient, isConflict } from '../operator/kube/client';
import { ROOT } from '../e2e/operator';
import { toolPath } from '../e2e/harness/tools';
import type { GitRepo } from '../e2e/harness/gitserver';
import { freePorts } from '../e2e/harness/process';
import {
  BenchEnv,
  CONTROLLER_NS,
  Capstan,
  diffCounts,
  execFileAsync,
  memoryMiB,
  metricSum,
  percentile,
  pool,
  requestsWithoutWatches,
  round,
  scrape,
  since,
  ssa,
  startCapstan,
  startEnv,
  until,
} from './lib';

const LARGE = process.env.BENCH_SCALE === 'large';
const SIZES = process.env.BENCH_SIZES?.split(',').map(Number);
const SCALE = {
  p1: SIZES ?? (LARGE ? [200, 1000, 5000] : [200, 1000]),
  idleS: Number(process.env.BENCH_IDLE_S ?? (LARGE ? 600 : 60)),
  drift1: LARGE ? 20 : 10,
  driftMany: Math.min(100, (SIZES ?? [200])[0] / 2),
  p4: Number(process.env.BENCH_P4 ?? (LARGE ? 10 : 5)),
  p7: Number(process.env.BENCH_ES ?? (LARGE ? 10_000 : 1000)),
};
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
const want = (p: string): boolean => !ONLY.size || ONLY.has(p);
const CORES = os.cpus().length;
const CONCURRENCY = 10;
const APP_API = `/apis/argoproj.io/v1alpha1/namespaces/${CONTROLLER_NS}/applications`;

/** One scenario's result, as written to the JSON. */
interface Result {
  value: number;
  baseline: number | null;
  ratio: number | null;
  unit: string;
  n: number;
  cores: number;
  reads: string;
  [detail: string]: unknown;
}

const results: Record<string, Result | { error: string }> = {};
const STARTED = new Date();
const LOAD0 = os.loadavg();
const OUT =
  process.env.BENCH_OUT ?? path.join(ROOT, 'bench', 'results', `${STARTED.toISOString().slice(0, 10)}.json`);

/** Writes the results so far (after every scenario, so that a failed run keeps what it measured). */
function save(): void {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  const doc = {
    date: STARTED.toISOString(),
    scale: LARGE ? 'large' : 'quick',
    sizes: SCALE,
    machine: {
      cores: CORES,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      loadavgStart: LOAD0.map((l) => round(l, 2)),
      loadavgNow: os.loadavg().map((l) => round(l, 2)),
      note: process.env.BENCH_NOTE ?? '',
    },
    durationS: round((Date.now() - STARTED.getTime()) / 1000, 0),
    ...results,
  };
  fs.writeFileSync(OUT, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Runs one scenario; a failure is recorded as `{error}` under its key and the run goes on. */
async function attempt(key: string, fn: () => Promise<unknown>): Promise<void> {
  if (!want(key)) return;
  try {
    await fn();
  } catch (err) {
    results[key] = { error: (err as Error).message.split('\n')[0] };
    log(`${key.toUpperCase()} failed: ${(err as Error).message.split('\n')[0]}`);
  }
  save();
}
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function report(key: string, title: string, r: Omit<Result, 'cores'>): void {
  results[key] = { ...r, cores: CORES } as Result;
  save();
  const base = r.baseline === null ? '-' : `${r.baseline} ${r.unit}`;
  const ratio = r.ratio === null ? '-' : `${r.ratio}x`;
  log(
    `${key.toUpperCase()} ${title}: capstan ${r.value} ${r.unit} | baseline ${base} | ratio ${ratio} (${r.reads})`,
  );
}

// ---- fixtures ----

/** The five objects of each P1 app (namespace from the destination). */
const APP_OBJECTS: Array<Record<string, unknown>> = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config' }, data: { a: '1' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web' } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
    },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'web' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
  },
];

/** The REST path of one of {@link APP_OBJECTS} in a namespace. */
function objectPath(obj: Record<string, unknown>, ns: string): string {
  const name = (obj.metadata as { name: string }).name;
  const kind = obj.kind as string;
  const plural = `${kind.toLowerCase()}s`;
  const base = obj.apiVersion === 'v1' ? `/api/v1` : `/apis/${obj.apiVersion as string}`;
  return `${base}/namespaces/${ns}/${plural}/${name}`;
}

async function createRepo(env: BenchEnv): Promise<GitRepo> {
  const src = path.join(env.dir, 'fixture');
  fs.mkdirSync(path.join(src, 'app'), { recursive: true });
  APP_OBJECTS.forEach((o, i) =>
    fs.writeFileSync(path.join(src, 'app', `${i}.json`), JSON.stringify(o, null, 2)),
  );
  fs.mkdirSync(path.join(src, 'p4'));
  fs.writeFileSync(path.join(src, 'p4', 'cm.json'), JSON.stringify(p4ConfigMap(0)));
  fs.cpSync(path.join(ROOT, 'helm-chart'), path.join(src, 'chart'), { recursive: true });
  return env.git.createRepo('bench', src);
}

function p4ConfigMap(v: number): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config' }, data: { a: String(v) } };
}

function appBody(
  name: string,
  repoURL: string,
  srcPath: string,
  destNs: string,
  automated = true,
  labels = {},
) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: CONTROLLER_NS, labels },
    spec: {
      project: 'default',
      source: { repoURL, path: srcPath, targetRevision: 'main' },
      destination: { server: 'https://kubernetes.default.svc', namespace: destNs },
      syncPolicy: {
        ...(automated ? { automated: { prune: true, selfHeal: true } } : {}),
        syncOptions: ['CreateNamespace=true'],
      },
    },
  };
}

/** Timeout of the bench's LISTs of every app (ms). */
const LIST_TIMEOUT_MS = 5 * 60_000;

interface AppLite {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: {
    reconciledAt?: string;
    sync?: { status?: string };
    health?: { status?: string };
    operationState?: { phase?: string };
  };
}

async function listApps(kube: KubeClient, selector: string): Promise<AppLite[]> {
  // 10,000 apps with their status are tens of MiB: more than the client's default 30 s on a busy machine.
  const list = await kube.request<{ items: AppLite[] }>('GET', APP_API, {
    query: { labelSelector: selector },
    timeoutMs: LIST_TIMEOUT_MS,
  });
  return list.items;
}

/**
 * Resolves once `n` apps labelled `selector` satisfy `done`, as seen by one watch (started before the
 * change it waits for). A LIST of every app each second, as this bench did first, is work for the API
 * server that grows with N (the apps' status is most of their size) and that the baselines never pay;
 * a slow LIST every 15 s stays as a safety net.
 */
function appsUntil(
  kube: KubeClient,
  selector: string,
  n: number,
  done: (a: AppLite) => boolean,
  what: string,
  timeoutMs: number,
  resourceVersion = '0',
): Promise<void> {
  const ac = new AbortController();
  const ok = new Set<string>();
  const watched = new Promise<void>((resolve) => {
    void kube
      .watch<AppLite>(
        APP_API,
        { labelSelector: selector, resourceVersion },
        (ev) => {
          if (ev.type === 'DELETED' || !done(ev.object)) ok.delete(ev.object.metadata.name);
          else ok.add(ev.object.metadata.name);
          if (ok.size >= n) resolve();
        },
        ac.signal,
      )
      .catch(() => undefined);
  });
  const polled = until(
    async () => {
      // The watch answered first: stop listing (this loop would otherwise run on into later scenarios).
      if (ac.signal.aborted) return true;
      const apps = await listApps(kube, selector);
      return apps.length >= n && apps.filter(done).length >= n;
    },
    what,
    timeoutMs,
    15_000,
  );
  return Promise.race([watched, polled.then(() => undefined)]).finally(() => ac.abort());
}

/** Resolves once `n` apps labelled `selector` are Synced with a Succeeded operation ({@link appsUntil}). */
function appsSynced(kube: KubeClient, selector: string, n: number, timeoutMs: number): Promise<void> {
  return appsUntil(
    kube,
    selector,
    n,
    (a) => a.status?.sync?.status === 'Synced' && a.status.operationState?.phase === 'Succeeded',
    `${n} apps Synced`,
    timeoutMs,
  );
}

// ---- a watch on every ConfigMap named `config` (P3, P4) ----

/** `after`: match only once that mark is set; `mark`: set when this waiter matches (in the same event). */
type Mark = { seen: boolean };
type Waiter = { ns: string; value: string; resolve: (t: number) => void; after?: Mark; mark?: Mark };

class ConfigWatch {
  private waiters: Waiter[] = [];
  private readonly ac = new AbortController();

  constructor(private readonly kube: KubeClient) {}

  async start(): Promise<void> {
    const list = await this.kube.request<{ metadata: { resourceVersion: string } }>(
      'GET',
      '/api/v1/configmaps',
      {
        query: { fieldSelector: 'metadata.name=config', limit: 1 },
      },
    );
    void this.kube
      .watch<{ metadata: { namespace: string }; data?: Record<string, string> }>(
        '/api/v1/configmaps',
        { fieldSelector: 'metadata.name=config', resourceVersion: list.metadata.resourceVersion },
        (ev) => {
          const now = performance.now();
          const ns = ev.object.metadata.namespace;
          const a = ev.object.data?.a;
          this.waiters = this.waiters.filter((w) => {
            if (w.ns !== ns || w.value !== a || (w.after && !w.after.seen)) return true;
            if (w.mark) w.mark.seen = true;
            w.resolve(now);
            return false;
          });
        },
        this.ac.signal,
      )
      .catch(() => undefined);
  }

  /**
   * Resolves with the time (performance.now) the watch saw `data.a === value` in `ns`; with `after`, in an
   * event after the one that set that mark (a drift and its revert may come in one chunk of the stream).
   */
  seen(ns: string, value: string, marks: { after?: Mark; mark?: Mark } = {}): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ ns, value, resolve, ...marks }));
  }

  stop(): void {
    this.ac.abort();
  }
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref(),
    ),
  ]);
}

// ---- scenarios ----

/** P1: cold sync of N apps x 5 objects vs raw SSA of the same objects (and namespaces) at concurrency 10. */
async function p1(
  env: BenchEnv,
  capstan: Capstan,
  repo: GitRepo,
  n: number,
): Promise<Record<string, number>> {
  // Baseline first: the same 5 objects + a namespace per app, server-side applied from Node.
  const t0 = performance.now();
  await pool([...Array(n).keys()], CONCURRENCY, async (i) => {
    const ns = `raw${n}-${i}`;
    await ssa(env.kube, `/api/v1/namespaces/${ns}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
    for (const o of APP_OBJECTS)
      await ssa(env.kube, objectPath(o, ns), {
        ...o,
        metadata: { ...(o.metadata as object), namespace: ns },
      });
  });
  const rawMs = since(t0);

  const before = capstan.counts();
  const lsBefore = metricSum(await scrape(capstan.metricsPort), 'capstan_git_request_total', 'ls-remote');
  const t1 = performance.now();
  const synced = appsSynced(env.kube, `bench/batch=${n}`, n, 30 * 60_000);
  await pool([...Array(n).keys()], CONCURRENCY, async (i) => {
    await env.kube.request('POST', APP_API, {
      body: appBody(`a${n}-${i}`, repo.url, 'app', `b${n}-${i}`, true, { 'bench/batch': String(n) }),
    });
  });
  await synced;
  const ms = since(t1);
  // Trailing work (status after the sync, health changes) settles before counting.
  const settled = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const counts = diffCounts(capstan.counts(), before);
  const lsRemote =
    metricSum(await scrape(capstan.metricsPort), 'capstan_git_request_total', 'ls-remote') - lsBefore;
  const objects = 5 * n;
  const objPerS = objects / (ms / 1000);
  const rawObjPerS = objects / (rawMs / 1000);
  log(
    `  P1 N=${n}: capstan ${round(ms / 1000, 1)} s (${round(n / (ms / 1000), 1)} apps/s, ${round(objPerS, 1)} objects/s), ` +
      `raw SSA ${round(rawMs / 1000, 1)} s (${round(rawObjPerS, 1)} objects/s); ` +
      `requests ${requestsWithoutWatches(counts)} (${round(requestsWithoutWatches(counts) / objects, 2)}/object, ` +
      `${round(requestsWithoutWatches(counts) / n, 1)}/app) ${JSON.stringify(counts.categories)}; ls-remote ${lsRemote}` +
      ` (settle wait ${round(since(settled) / 1000, 1)} s not in the time)`,
  );
  return {
    n,
    seconds: round(ms / 1000, 2),
    appsPerS: round(n / (ms / 1000), 1),
    objectsPerS: round(objPerS, 1),
    rawSeconds: round(rawMs / 1000, 2),
    rawObjectsPerS: round(rawObjPerS, 1),
    ratio: round(objPerS / rawObjPerS, 2),
    requestsPerObject: round(requestsWithoutWatches(counts) / objects, 2),
    requestsPerApp: round(requestsWithoutWatches(counts) / n, 1),
    rawRequestsPerObject: 1.2,
    statusPatchesPerApp: round((counts.categories.statusPatch ?? 0) / n, 2),
    dryRunsPerApp: round((counts.categories.dryRun ?? 0) / n, 2),
    getsPerApp: round((counts.categories.get ?? 0) / n, 2),
    lsRemote,
  };
}

/** P3: drift revert of 1 object (sequential samples) and of 100 at once, vs the raw watch seeing the edit. */
async function p3(env: BenchEnv, capstan: Capstan, watch: ConfigWatch, n: number): Promise<void> {
  const drift = async (i: number, k: number): Promise<{ seen: number; reverted: number }> => {
    const ns = `b${n}-${i}`;
    const value = `drift-${k}`;
    // The revert is waited for from before the PATCH: a fast revert can reach the bench's watch in the same
    // chunk as the drift, before code after `await seen` would run (seen with 100 drifts at once).
    const drifted: Mark = { seen: false };
    const seen = watch.seen(ns, value, { mark: drifted });
    const reverted = watch.seen(ns, '1', { after: drifted });
    const t0 = performance.now();
    await env.kube.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/config`, {
      body: { data: { a: value } },
      contentType: 'application/merge-patch+json',
    });
    const tSeen = await timeout(seen, 30_000, `watch sees ${value} in ${ns}`);
    const tBack = await timeout(reverted, 180_000, `capstan reverts ${ns}`);
    return { seen: tSeen - t0, reverted: tBack - t0 };
  };
  const single: Array<{ seen: number; reverted: number }> = [];
  for (let k = 0; k < SCALE.drift1; k++) single.push(await drift(k, k));
  const p = (xs: number[], q: number): number => round(percentile(xs, q), 1);
  const s = single.map((x) => x.reverted);
  const w = single.map((x) => x.seen);
  report('p3', `drift revert (selfHeal), 1 object p99 over ${single.length}`, {
    value: p(s, 99),
    baseline: p(w, 99),
    ratio: round(percentile(s, 99) / percentile(w, 99), 2),
    unit: 'ms',
    n: single.length,
    reads: 'lower is better: capstan revert p99 / raw watch p99 (goal <= 5)',
    singleP50: p(s, 50),
    singleP99: p(s, 99),
    watchP50: p(w, 50),
    watchP99: p(w, 99),
  });
  // Then many objects drifted at once (one per app); a failure here keeps the single-object figures.
  const many: Array<{ seen: number; reverted: number }> = [];
  const entry = results.p3 as Result;
  entry.many = SCALE.driftMany;
  const counts0 = capstan.counts();
  try {
    await Promise.all(
      [...Array(SCALE.driftMany).keys()].map(async (j) =>
        many.push(await drift(n - SCALE.driftMany + j, 1000 + j)),
      ),
    );
  } catch (err) {
    entry.manyError = (err as Error).message.split('\n')[0];
    log(`  P3 ${SCALE.driftMany} at once failed: ${entry.manyError as string}`);
    return;
  }
  const m = many.map((x) => x.reverted);
  const mw = many.map((x) => x.seen);
  // Trailing work of the reverts (status, events) settles before counting, as in P1.
  await new Promise((r) => setTimeout(r, 3000));
  const c = diffCounts(capstan.counts(), counts0);
  Object.assign(entry, {
    manyP50: p(m, 50),
    manyP99: p(m, 99),
    manyWatchP99: p(mw, 99),
    requestsPerRevert: round(requestsWithoutWatches(c) / SCALE.driftMany, 2),
    revertCategories: c.categories,
  });
  save();
  log(
    `  P3 ${SCALE.driftMany} at once: revert p50 ${p(m, 50)} ms, p99 ${p(m, 99)} ms (watch p99 ${p(mw, 99)} ms); ` +
      `${round(requestsWithoutWatches(c) / SCALE.driftMany, 2)} requests per revert ${JSON.stringify(c.categories)}`,
  );
}

/** The GitHub webhook secret of the bench's capstan (argocd-secret's webhook.github.secret). */
const WEBHOOK_SECRET = randomBytes(16).toString('hex');

/**
 * POSTs a GitHub push of `sha` to `main` of repository `repo` (one file `modified`), signed with
 * {@link WEBHOOK_SECRET}, to capstan's `/api/webhook` on `port`.
 * @throws Error when the webhook answers anything but 200.
 */
async function postGithubPush(port: number, repo: string, sha: string, modified: string): Promise<void> {
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    after: sha,
    repository: { html_url: `https://127.0.0.1/${repo}`, default_branch: 'main' },
    commits: [{ id: sha, added: [], modified: [modified], removed: [] }],
  });
  const res = await fetch(`http://127.0.0.1:${port}/api/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
    },
    body,
  });
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
}

/**
 * P4: commit -> applied, via the refresh annotation (PATCH of the app), then via the git webhook (a
 * GitHub push payload signed with `webhook.github.secret`, POSTed to capstan's `/api/webhook`). The
 * webhook app has a repository of its own, as one team's repository would: a push to the bench's shared
 * repository would refresh every P1 app too. The webhook matches each push against every app of the
 * cluster (P1's included, `webhookAppsListed`), from its informer's copy.
 */
async function p4(env: BenchEnv, watch: ConfigWatch, repo: GitRepo, webhookPort: number): Promise<void> {
  await env.kube.request('POST', APP_API, { body: appBody('p4', repo.url, 'p4', 'p4') });
  await timeout(watch.seen('p4', '0'), 120_000, 'p4 synced').catch(async () => {
    // Already there before the watch started.
  });
  const samples: number[] = [];
  for (let k = 1; k <= SCALE.p4; k++) {
    await repo.commit(`p4 ${k}`, (dir) =>
      fs.writeFileSync(path.join(dir, 'p4', 'cm.json'), JSON.stringify(p4ConfigMap(k))),
    );
    const seen = watch.seen('p4', String(k));
    const t0 = performance.now();
    await env.kube.request('PATCH', `${APP_API}/p4`, {
      body: { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } },
      contentType: 'application/merge-patch+json',
    });
    samples.push((await timeout(seen, 60_000, `commit ${k} applied`)) - t0);
  }
  const webhook = await p4Webhook(env, watch, webhookPort);
  report('p4', 'commit -> applied via refresh annotation, p50', {
    value: round(percentile(samples, 50), 1),
    baseline: null,
    ratio: null,
    unit: 'ms',
    n: samples.length,
    reads:
      'lower is better (goal < 100 ms); no baseline; webhook*: a signed GitHub push POSTed to /api/webhook -> applied',
    p99: round(percentile(samples, 99), 1),
    samples: samples.map((x) => round(x, 1)),
    webhookP50: round(percentile(webhook.samples, 50), 1),
    webhookP99: round(percentile(webhook.samples, 99), 1),
    webhookSamples: webhook.samples.map((x) => round(x, 1)),
    webhookAppsListed: webhook.appsListed,
  });
}

/** P4's webhook half: the samples (ms from the POST to the watch seeing the value) and the apps listed. */
async function p4Webhook(
  env: BenchEnv,
  watch: ConfigWatch,
  port: number,
): Promise<{ samples: number[]; appsListed: number }> {
  const src = path.join(env.dir, 'fixture-p4w');
  fs.mkdirSync(path.join(src, 'p4'), { recursive: true });
  fs.writeFileSync(path.join(src, 'p4', 'cm.json'), JSON.stringify(p4ConfigMap(0)));
  const repo = await env.git.createRepo('bench-p4w', src);
  await env.kube.request('POST', `/api/v1/namespaces/${CONTROLLER_NS}/secrets`, {
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-secret', namespace: CONTROLLER_NS },
      stringData: { 'webhook.github.secret': WEBHOOK_SECRET },
    },
  });
  const synced = watch.seen('p4w', '0');
  await env.kube.request('POST', APP_API, { body: appBody('p4-webhook', repo.url, 'p4', 'p4w') });
  await timeout(synced, 120_000, 'p4-webhook synced');
  const samples: number[] = [];
  for (let k = 1; k <= SCALE.p4; k++) {
    const sha = await repo.commit(`p4w ${k}`, (dir) =>
      fs.writeFileSync(path.join(dir, 'p4', 'cm.json'), JSON.stringify(p4ConfigMap(k))),
    );
    const seen = watch.seen('p4w', String(k));
    const t0 = performance.now();
    await postGithubPush(port, 'bench-p4w', sha, 'p4/cm.json');
    samples.push((await timeout(seen, 60_000, `webhook commit ${k} applied`)) - t0);
  }
  const list = await env.kube.request<{ items: unknown[] }>('GET', '/apis/argoproj.io/v1alpha1/applications');
  return { samples, appsListed: list.items.length };
}

/** What one P5 variant measured. */
interface RefreshRun {
  /** From the first request to every reconciledAt moved, ms. */
  ms: number;
  /** capstan's requests during the variant (watches left out of the per-app figures). */
  counts: ReturnType<typeof diffCounts>;
  lsRemote: number;
  n: number;
}

/**
 * One P5 variant: lists the P1 apps, watches them from that list's version, runs `trigger` (which asks
 * for the refresh of every one) and waits until every reconciledAt moved; counts capstan's requests and
 * `ls-remote`s meanwhile (3 s more, for writes that follow the last reconciledAt).
 */
async function refreshEveryApp(
  env: BenchEnv,
  capstan: Capstan,
  what: string,
  trigger: (apps: AppLite[]) => Promise<void>,
): Promise<RefreshRun> {
  const list = await env.kube.request<{ items: AppLite[]; metadata: { resourceVersion: string } }>(
    'GET',
    APP_API,
    { query: { labelSelector: 'bench/batch' }, timeoutMs: LIST_TIMEOUT_MS },
  );
  const apps = list.items;
  const before = new Map(apps.map((a) => [a.metadata.name, a.status?.reconciledAt]));
  const counts0 = capstan.counts();
  const ls0 = metricSum(await scrape(capstan.metricsPort), 'capstan_git_request_total', 'ls-remote');
  // Watched, not listed each second (see appsUntil); the watch starts before the first request.
  const moved = appsUntil(
    env.kube,
    'bench/batch',
    apps.length,
    (a) => a.status?.reconciledAt !== before.get(a.metadata.name),
    `every reconciledAt moved (${what})`,
    30 * 60_000,
    // From the list's version: the watch cache may lag it, and an older reconciledAt would read as moved.
    list.metadata.resourceVersion,
  );
  const t0 = performance.now();
  await trigger(apps);
  await moved;
  const ms = since(t0);
  await new Promise((r) => setTimeout(r, 3000));
  const counts = diffCounts(capstan.counts(), counts0);
  const lsRemote =
    metricSum(await scrape(capstan.metricsPort), 'capstan_git_request_total', 'ls-remote') - ls0;
  return { ms, counts, lsRemote, n: apps.length };
}

/** API writes capstan made per app in a P5 variant (status, app metadata, objects). */
function capstanWritesPerApp(r: RefreshRun): number {
  const c = r.counts;
  return (
    ((c.categories.statusPatch ?? 0) + (c.categories.appPatch ?? 0) + c.writesToObjects) / Math.max(r.n, 1)
  );
}

/** Creates `argocd-secret` with the bench's GitHub webhook secret unless P4 did. */
async function ensureWebhookSecret(env: BenchEnv): Promise<void> {
  try {
    await env.kube.request('POST', `/api/v1/namespaces/${CONTROLLER_NS}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'argocd-secret', namespace: CONTROLLER_NS },
        stringData: { 'webhook.github.secret': WEBHOOK_SECRET },
      },
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/**
 * P5: no-op refresh of every P1 app, two ways: the refresh annotation (the bench PATCHes each app, as
 * `argocd app get --refresh` would; capstan removes it and writes status) and the git webhook (one
 * signed GitHub push of the shared repository's current commit, which every P1 app tracks; on the
 * leader capstan refreshes in-process: one status write per app). Each: time until every reconciledAt
 * moved, capstan's writes and requests per app, object writes (goal none), `ls-remote`s. `value` is
 * the annotation variant (comparable with earlier runs); `webhook*` the webhook's.
 */
async function p5(env: BenchEnv, capstan: Capstan, repo: GitRepo, webhookPort: number): Promise<void> {
  let annotateMs = 0;
  const annotation = await refreshEveryApp(env, capstan, 'annotation', async (apps) => {
    const t0 = performance.now();
    await pool(apps, CONCURRENCY, async (a) => {
      await env.kube.request('PATCH', `${APP_API}/${a.metadata.name}`, {
        body: { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } },
        contentType: 'application/merge-patch+json',
      });
    });
    annotateMs = since(t0);
  });

  await ensureWebhookSecret(env);
  const sha = await repo.headSha(); // no new commit: a no-op refresh
  const name = new URL(repo.url).pathname.replace(/^\//, '').replace(/\.git$/, '');
  let answeredMs = 0;
  const webhook = await refreshEveryApp(env, capstan, 'webhook', async () => {
    const t0 = performance.now();
    await postGithubPush(webhookPort, name, sha, 'app/0.json');
    answeredMs = since(t0);
  });

  const n = annotation.n;
  report('p5', `no-op refresh of ${n} apps`, {
    value: round(annotation.ms / 1000, 2),
    baseline: round(annotateMs / 1000, 2),
    ratio: round(annotation.ms / annotateMs, 2),
    unit: 's',
    n,
    reads:
      'lower is better: time until every reconciledAt moved / time the bench took to annotate them (goal < 10 s at 10,000); webhook*: one signed push of the shared repository instead',
    objectWrites: annotation.counts.writesToObjects,
    statusWritesPerApp: round((annotation.counts.categories.statusPatch ?? 0) / n, 2),
    requestsPerApp: round(requestsWithoutWatches(annotation.counts) / n, 2),
    // the bench's annotation PATCH, capstan's removal of it and its status write
    writesPerApp: round(1 + capstanWritesPerApp(annotation), 2),
    lsRemote: annotation.lsRemote,
    categories: annotation.counts.categories,
    webhookS: round(webhook.ms / 1000, 2),
    webhookAnsweredMs: round(answeredMs, 1),
    webhookN: webhook.n,
    webhookObjectWrites: webhook.counts.writesToObjects,
    webhookStatusWritesPerApp: round((webhook.counts.categories.statusPatch ?? 0) / webhook.n, 2),
    webhookRequestsPerApp: round(requestsWithoutWatches(webhook.counts) / webhook.n, 2),
    webhookWritesPerApp: round(capstanWritesPerApp(webhook), 2),
    webhookLsRemote: webhook.lsRemote,
    webhookCategories: webhook.counts.categories,
  });
}

/** P6: Helm render of capstan's own chart: first comparison (cold) and a refresh (cached) vs `helm template`. */
async function p6(env: BenchEnv, repo: GitRepo): Promise<void> {
  const chartDir = path.join(ROOT, 'helm-chart');
  const helmRuns: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    await execFileAsync(toolPath('helm'), ['template', 'p6', chartDir, '--namespace', 'p6'], {
      maxBuffer: 64 << 20,
    });
    helmRuns.push(since(t));
  }
  const helmMs = percentile(helmRuns, 50);
  const body = appBody('p6', repo.url, 'chart', 'p6', false);
  const t0 = performance.now();
  await env.kube.request('POST', APP_API, { body });
  const first = await until(
    async () => {
      const a = await env.kube.request<AppLite>('GET', `${APP_API}/p6`);
      return a.status?.reconciledAt && a.status.sync?.status ? a : undefined;
    },
    'p6 compared',
    120_000,
    50,
  );
  const coldMs = since(t0);
  const t1 = performance.now();
  await env.kube.request('PATCH', `${APP_API}/p6`, {
    body: { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } },
    contentType: 'application/merge-patch+json',
  });
  await until(
    async () => {
      const a = await env.kube.request<AppLite>('GET', `${APP_API}/p6`);
      return a.status?.reconciledAt !== first.status?.reconciledAt;
    },
    'p6 refreshed',
    60_000,
    20,
  );
  const cachedMs = since(t1);
  report('p6', 'Helm chart compare, cold', {
    value: round(coldMs, 0),
    baseline: round(helmMs, 0),
    ratio: round(coldMs / helmMs, 2),
    unit: 'ms',
    n: 1,
    reads:
      'lower is better: app created -> first comparison in status / bare helm template (capstan also lists refs, fetches and dry-runs)',
    cachedMs: round(cachedMs, 0),
    cachedRatio: round(cachedMs / helmMs, 2),
  });
  log(
    `  P6 cached (refresh annotation -> reconciledAt moved): ${round(cachedMs, 0)} ms, ${round(cachedMs / helmMs, 2)}x helm template`,
  );
}

/**
 * Resolves once `m` Secrets named `es-*` exist in `ns`, as one watch sees them (by name: whatever labels the
 * operator sets). A LIST every 15 s stays as a safety net, as in {@link appsUntil}.
 */
async function secretsCreated(kube: KubeClient, ns: string, m: number, timeoutMs: number): Promise<void> {
  const path = `/api/v1/namespaces/${ns}/secrets`;
  const names = (items: Array<{ metadata: { name: string } }>): string[] =>
    items.map((s) => s.metadata.name).filter((n) => n.startsWith('es-'));
  const list = await kube.request<{
    items: Array<{ metadata: { name: string } }>;
    metadata: { resourceVersion: string };
  }>('GET', path, { timeoutMs: LIST_TIMEOUT_MS });
  const seen = new Set(names(list.items));
  const ac = new AbortController();
  const watched = new Promise<void>((resolve) => {
    if (seen.size >= m) resolve();
    void kube
      .watch<{ metadata: { name: string } }>(
        path,
        { resourceVersion: list.metadata.resourceVersion },
        (ev) => {
          for (const n of names([ev.object])) {
            if (ev.type === 'DELETED') seen.delete(n);
            else seen.add(n);
          }
          if (seen.size >= m) resolve();
        },
        ac.signal,
      )
      .catch(() => undefined);
  });
  const polled = until(
    async () => {
      if (ac.signal.aborted) return true;
      const now = await kube.request<{ items: Array<{ metadata: { name: string } }> }>('GET', path, {
        timeoutMs: LIST_TIMEOUT_MS,
      });
      return names(now.items).length >= m;
    },
    `${m} Secrets`,
    timeoutMs,
    15_000,
  );
  return Promise.race([watched, polled.then(() => undefined)]).finally(() => ac.abort());
}

/** P7: M ExternalSecrets on one `fake` store vs writing the Secrets directly. */
async function p7(env: BenchEnv, capstan: Capstan): Promise<void> {
  const m = SCALE.p7;
  const ES = '/apis/external-secrets.io/v1';
  for (const ns of ['es-bench', 'es-raw']) {
    await env.kube.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
  }
  const t0 = performance.now();
  await pool([...Array(m).keys()], CONCURRENCY, async (i) => {
    await env.kube.request('POST', '/api/v1/namespaces/es-raw/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `es-${i}` }, stringData: { v: 'value' } },
    });
  });
  const rawMs = since(t0);
  await env.kube.request('POST', `${ES}/namespaces/es-bench/secretstores`, {
    body: {
      apiVersion: 'external-secrets.io/v1',
      kind: 'SecretStore',
      metadata: { name: 'fake', namespace: 'es-bench' },
      spec: { provider: { fake: { data: [{ key: 'k', value: 'value' }] } } },
    },
  });
  await until(
    async () => {
      const s = await env.kube.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        'GET',
        `${ES}/namespaces/es-bench/secretstores/fake`,
      );
      return s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    },
    'store Ready',
    60_000,
    200,
  );
  const esMetrics = async () => {
    const text = await scrape(capstan.metricsPort);
    return {
      reconciles: metricSum(text, 'capstan_externalsecret_sync_calls_total'),
      providerCalls: metricSum(text, 'capstan_externalsecret_provider_reads_total', 'result="call"'),
      providerShared: metricSum(text, 'capstan_externalsecret_provider_reads_total', 'result="shared"'),
    };
  };
  const m0 = await esMetrics();
  const before = capstan.counts();
  // Watched from before the first ExternalSecret, not listed every 500 ms: a LIST of the namespace's
  // Secrets is API-server work that grows with M and that the baseline never pays (as P1's apps).
  const secretsSeen = secretsCreated(env.kube, 'es-bench', m, 30 * 60_000);
  const t1 = performance.now();
  await pool([...Array(m).keys()], CONCURRENCY, async (i) => {
    await env.kube.request('POST', `${ES}/namespaces/es-bench/externalsecrets`, {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: `es-${i}`, namespace: 'es-bench' },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: 'fake', kind: 'SecretStore' },
          target: { name: `es-${i}` },
          data: [{ secretKey: 'v', remoteRef: { key: 'k' } }],
        },
      },
    });
  });
  await secretsSeen;
  const ms = since(t1);
  await new Promise((r) => setTimeout(r, 3000));
  const c = diffCounts(capstan.counts(), before);
  const m1 = await esMetrics();
  report('p7', `${m} ExternalSecrets on one fake store`, {
    value: round(m / (ms / 1000), 1),
    baseline: round(m / (rawMs / 1000), 1),
    ratio: round(rawMs / ms, 2),
    unit: 'Secrets/s',
    n: m,
    reads: 'higher is better: capstan Secrets/s over creating the Secrets directly (goal >= 0.8)',
    seconds: round(ms / 1000, 2),
    rawSeconds: round(rawMs / 1000, 2),
    requestsPerExternalSecret: round(requestsWithoutWatches(c) / m, 2),
    categories: c.categories,
    reconcilesPerExternalSecret: round((m1.reconciles - m0.reconciles) / m, 2),
    // every ExternalSecret reads the same key of the same store: shared reads (readcache.ts) save calls
    providerCalls: m1.providerCalls - m0.providerCalls,
    providerReadsShared: m1.providerShared - m0.providerShared,
    kubernetesProvider: 'not measured yet',
  });
}

/** P8: cold start with every app existing: time to the first full pass vs a raw LIST of the same objects. */
async function p8(
  env: BenchEnv,
  capstan: Capstan,
  apps: number,
  p5Seconds: number | undefined,
): Promise<Capstan> {
  await capstan.stop();
  const t0 = performance.now();
  const next = await startCapstan(env, 'restart');
  const upMs = since(t0);
  await until(
    async () => metricSum(await scrape(next.metricsPort), 'capstan_app_reconcile_count') >= apps,
    `${apps} reconciles after the restart`,
    30 * 60_000,
    250,
  );
  const ms = since(t0);
  const mem = memoryMiB(next.proc.pid);
  const t1 = performance.now();
  await env.kube.request('GET', APP_API, { timeoutMs: LIST_TIMEOUT_MS });
  for (const p of [
    '/api/v1/configmaps',
    '/api/v1/serviceaccounts',
    '/api/v1/services',
    '/apis/apps/v1/deployments',
    '/apis/rbac.authorization.k8s.io/v1/roles',
  ])
    await env.kube.request('GET', p, { timeoutMs: LIST_TIMEOUT_MS });
  const listMs = since(t1);
  const baseline = listMs + (p5Seconds ?? 0) * 1000;
  report('p8', `cold start with ${apps} apps to the first full pass`, {
    value: round(ms / 1000, 2),
    baseline: round(baseline / 1000, 2),
    ratio: round(ms / baseline, 2),
    unit: 's',
    n: apps,
    reads:
      'lower is better: process start -> every app reconciled once, over raw LIST of the apps and their kinds + P5 (goal <= 1.3)',
    rawListMs: round(listMs, 0),
    processUpSeconds: round(upMs / 1000, 2),
    rssMiB: mem.rss,
    peakRssMiB: mem.hwm,
    startRequests: requestsWithoutWatches(next.counts()),
  });
  return next;
}

// ---- main ----

async function main(): Promise<void> {
  log(
    `capstan bench (${LARGE ? 'large' : 'quick'}) on ${CORES} cores, load ${LOAD0.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const env = await startEnv((l) => log(`[controlplane] ${l}`));
  let capstan: Capstan | undefined;
  try {
    const repo = await createRepo(env);
    // P4's git webhook: capstan reads --git-webhook-port from the environment (every start, P8's too).
    const [webhookPort] = await freePorts(1);
    process.env.CAPSTAN_GIT_WEBHOOK_PORT = String(webhookPort);
    capstan = await startCapstan(env, 'first');
    // Idle means settled: V8's memory reducer gives back the young generation that start-up grew (16
    // MiB with the image's --max-semi-space-size=8) once allocations stop, about 20 s after start on a
    // quiet machine (81 -> 69 MiB RSS with no app), later on a loaded one. Sampled when the young
    // generation is back to its 1 MiB minimum: 30 s after start at the earliest, 120 s at the latest.
    const settleT0 = performance.now();
    await new Promise((r) => setTimeout(r, 30_000));
    const youngBytes = async (): Promise<number> =>
      metricSum(await scrape(capstan!.metricsPort), 'nodejs_heap_space_size_total_bytes', 'space="new"');
    while (since(settleT0) < 120_000 && (await youngBytes()) > 2 * 2 ** 20)
      await new Promise((r) => setTimeout(r, 2_000));
    const idleSettledS = round(since(settleT0) / 1000, 0);
    const idle0 = memoryMiB(capstan.proc.pid);
    const heap0 = metricSum(await scrape(capstan.metricsPort), 'nodejs_heap_size_used_bytes') / 2 ** 20;
    log(
      `  P2 idle with no app: RSS ${idle0.rss} MiB, heap used ${round(heap0, 1)} MiB (${idleSettledS} s after start)`,
    );

    const sizes: Array<Record<string, number>> = [];
    for (const n of SCALE.p1) sizes.push(await p1(env, capstan, repo, n));
    const last = sizes[sizes.length - 1];
    const totalApps = SCALE.p1.reduce((a, b) => a + b, 0);
    report('p1', `cold sync of ${last.n} apps x 5 objects`, {
      value: last.objectsPerS,
      baseline: last.rawObjectsPerS,
      ratio: last.ratio,
      unit: 'objects/s',
      n: last.n,
      reads: 'higher is better: capstan objects/s over raw SSA at concurrency 10 (goal >= 0.8, >= 30 apps/s)',
      sizes,
    });

    if (want('p2')) {
      const atN = memoryMiB(capstan.proc.pid);
      const samples: number[] = [];
      const until = Date.now() + SCALE.idleS * 1000;
      while (Date.now() < until) {
        samples.push(memoryMiB(capstan.proc.pid).rss);
        await new Promise((r) => setTimeout(r, 5000));
      }
      const after = memoryMiB(capstan.proc.pid);
      const heap = metricSum(await scrape(capstan.metricsPort), 'nodejs_heap_size_used_bytes') / 2 ** 20;
      report('p2', `operator RSS at ${totalApps} apps after ${SCALE.idleS} s idle`, {
        value: after.rss,
        baseline: null,
        ratio: null,
        unit: 'MiB',
        n: totalApps,
        reads: 'lower is better (goal <= 150 MiB at 1,000 apps, idle <= 80 MiB, flat)',
        idleNoAppsMiB: idle0.rss,
        idleNoAppsHeapMiB: round(heap0, 1),
        idleNoAppsAfterS: idleSettledS,
        atNMiB: atN.rss,
        peakMiB: after.hwm,
        heapUsedMiB: round(heap, 1),
        idleSeconds: SCALE.idleS,
        idleDriftMiB: round(after.rss - (samples[0] ?? after.rss), 1),
        // flat means a narrow band over the whole idle wait (samples every 5 s), not just equal ends
        idleMinMiB: samples.length ? Math.min(...samples) : after.rss,
        idleMaxMiB: samples.length ? Math.max(...samples) : after.rss,
        perThousandAppsMiB: round(((after.rss - idle0.rss) / totalApps) * 1000, 1),
      });
    }

    const watch = new ConfigWatch(env.kube);
    await watch.start();
    await attempt('p3', () => p3(env, capstan!, watch, SCALE.p1[0]));
    await attempt('p4', () => p4(env, watch, repo, webhookPort));
    watch.stop();
    await attempt('p6', () => p6(env, repo));
    await attempt('p5', () => p5(env, capstan!, repo, webhookPort));
    await attempt('p7', () => p7(env, capstan!));
    const p5s = (results.p5 as Result | undefined)?.value;
    await attempt('p8', async () => {
      capstan = await p8(env, capstan!, totalApps + (want('p4') ? 2 : 0) + (want('p6') ? 1 : 0), p5s);
    });
  } finally {
    await capstan?.stop();
    await env.git.stop();
    await env.cp.stop();
  }
  save();
  log(
    `results written to ${path.relative(ROOT, OUT)} (${round((Date.now() - STARTED.getTime()) / 1000, 0)} s)`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
