/**
 * The environment of the fault-injection suites (issue 7 §2): each suite breaks something (stops
 * etcd, the apiserver, git, kills capstan), so it cannot share the run's control plane and starts
 * its own: a private control plane on free ports with capstan's CRDs, the controller namespace, a
 * git server, a permissive `default` AppProject and capstan as its own process. Nothing here reads
 * the run's `CAPSTAN_E2E_*` variables; every helper takes the environment's own client. Nothing
 * mocks the API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, isConflict, isNotFound, loadKubeConfig } from '../../operator/kube/client';
import type { KubeObject } from '../../operator/kube/object';
import { startControlPlane, type ControlPlane } from '../harness/controlplane';
import { startGitServer, type GitServer } from '../harness/gitserver';
import type { ManagedProcess } from '../harness/process';
import { waitFor } from '../harness/wait';
import { ensureNamespace, installCrds, startOperatorAppending, type OperatorOptions } from '../operator';
import type { AppObject } from './lib';

/** The namespace capstan runs in inside a fault environment. */
export const FAULT_CONTROLLER_NAMESPACE = 'capstan-system';

/** A private control plane, git server and capstan for one fault suite. */
export interface FaultEnv {
  cp: ControlPlane;
  /** Admin client on this environment's API server. */
  kube: KubeClient;
  git: GitServer;
  /**
   * The current capstan process (the one {@link FaultEnv.restartOperator} started last).
   * @throws Error when read before any capstan was started (`startOperator: false`).
   */
  operator: ManagedProcess;
  /** Path of the admin kubeconfig (also `cp.kubeconfigPath`). */
  kubeconfig: string;
  controllerNamespace: string;
  /** capstan's log file; every (re)start of the main capstan appends to it. */
  logPath: string;
  /**
   * Starts capstan again (after a kill) with the same flags, cache dir and log file (appending);
   * resolves once the new process logs that it started or waits for the Lease.
   * @throws Error when the current capstan still runs (kill or stop it first), or with the new log
   *   lines when the new process exits or is not up within 60 s.
   */
  restartOperator(): Promise<ManagedProcess>;
  /**
   * Starts an additional capstan process (e.g. a second replica for leader election) with the same
   * flags plus `extraArgs`, its own cache dir and its own log file (`capstan-<n>.log`, n = 2, 3, ..., beside
   * {@link FaultEnv.logPath}, its `logPath`); resolves once it started or waits for the Lease.
   * Stopped by {@link FaultEnv.stop}.
   */
  startOperator(extraArgs?: string[]): Promise<ManagedProcess>;
  /** The last `lines` lines of capstan's log (for failure messages). */
  logTail(lines?: number): string;
  /** Stops every capstan, the git server and the control plane, by PID; idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startFaultEnv}. */
export interface FaultEnvOptions {
  /** Extra capstan flags, e.g. `['--leader-elect']` or `['--refresh-interval', '5']`. */
  operatorArgs?: string[];
  /** Start capstan now (default true); otherwise the first {@link FaultEnv.restartOperator} does. */
  startOperator?: boolean;
}

/**
 * A private control plane (own ports), CRDs installed, controller namespace, a git server and capstan
 * with `operatorArgs`; for suites that break things and so cannot share the run's control plane.
 * Everything started is stopped again when the start fails half-way.
 * @param opts - capstan's extra flags; whether to start capstan now.
 * @returns the environment; call `stop()` in `after()` (it runs also when a test fails).
 * @throws Error when a component does not start (with its log tail).
 */
export async function startFaultEnv(opts: FaultEnvOptions = {}): Promise<FaultEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-fault-'));
  const started: { stop(): Promise<void> }[] = [];
  try {
    const cp = await startControlPlane();
    started.push(cp);
    const git = await startGitServer();
    started.push(git);
    await installCrds(cp.kubeconfigPath);
    await ensureNamespace(cp.kubeconfigPath, FAULT_CONTROLLER_NAMESPACE);
    const env = faultEnv(cp, git, dir, opts.operatorArgs ?? []);
    await createDefaultProject(env.kube);
    if (opts.startOperator ?? true) await env.restartOperator();
    return env;
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    removeDir(dir);
    throw err;
  }
}

/** The environment's handle; capstan processes are started through it. */
function faultEnv(cp: ControlPlane, git: GitServer, dir: string, operatorArgs: string[]): FaultEnv {
  const logPath = path.join(dir, 'capstan.log');
  const base: OperatorOptions = {
    kubeconfig: cp.kubeconfigPath,
    controllerNamespace: FAULT_CONTROLLER_NAMESPACE,
    logPath,
    cacheDir: path.join(dir, 'cache'),
    args: ['--metrics-port', '0', ...operatorArgs],
  };
  const all: ManagedProcess[] = [];
  let main: ManagedProcess | undefined;
  let replicas = 0;
  let stopping: Promise<void> | undefined;
  return {
    cp,
    git,
    kube: new KubeClient(loadKubeConfig(cp.kubeconfigPath)),
    kubeconfig: cp.kubeconfigPath,
    controllerNamespace: FAULT_CONTROLLER_NAMESPACE,
    logPath,
    get operator(): ManagedProcess {
      if (!main) throw new Error('capstan was not started (startOperator: false); call restartOperator()');
      return main;
    },
    async restartOperator() {
      if (main && !main.exited)
        throw new Error(`capstan (pid ${main.pid}) still runs; kill or stop it first`);
      main = await startOperatorAppending(base);
      all.push(main);
      return main;
    },
    async startOperator(extraArgs = []) {
      const n = ++replicas + 1; // the main capstan is replica 1
      const proc = await startOperatorAppending({
        ...base,
        logPath: path.join(dir, `capstan-${n}.log`),
        cacheDir: path.join(dir, `cache-${n}`),
        args: [...(base.args ?? []), ...extraArgs],
      });
      all.push(proc);
      return proc;
    },
    logTail: (lines = 60) => main?.tail(lines) ?? '(capstan not started)',
    stop: () =>
      (stopping ??= (async () => {
        for (const proc of all) await proc.stop();
        await git.stop();
        await cp.stop();
        removeDir(dir);
      })()),
  };
}

/**
 * The `default` AppProject as the platform admin of a test cluster sets it, before capstan starts:
 * Argo CD's permissive default (any repository, destination and kind) plus `sourceNamespaces: ['*']`,
 * since the fault suites keep their Applications in namespaces of their own, which a project must
 * permit (Argo CD's apps-in-any-namespace rule). An existing project is left as it is.
 */
async function createDefaultProject(kube: KubeClient): Promise<void> {
  try {
    await kube.request(
      'POST',
      `/apis/argoproj.io/v1alpha1/namespaces/${FAULT_CONTROLLER_NAMESPACE}/appprojects`,
      {
        body: {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'AppProject',
          metadata: { name: 'default', namespace: FAULT_CONTROLLER_NAMESPACE },
          spec: {
            sourceRepos: ['*'],
            destinations: [{ server: '*', namespace: '*' }],
            clusterResourceWhitelist: [{ group: '*', kind: '*' }],
            sourceNamespaces: ['*'],
          },
        },
      },
    );
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** Removes a temp dir unless `CAPSTAN_KEEP_TMP=1`. */
function removeDir(dir: string): void {
  if (process.env.CAPSTAN_KEEP_TMP !== '1') fs.rmSync(dir, { recursive: true, force: true });
}

// ---- API helpers on a given client (lib.ts's helpers use the run's shared client) ----

/** Path of the Applications of a namespace, or of one Application. */
export const appPath = (ns: string, name = ''): string =>
  `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications${name ? '/' + name : ''}`;

/** Creates a namespace. */
export async function createNamespaceOn(kube: KubeClient, name: string): Promise<void> {
  await kube.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
  });
}

/** Creates an Application `name` in `ns` with `spec`. */
export async function createAppOn(
  kube: KubeClient,
  ns: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kube.request('POST', appPath(ns), {
    body: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: ns },
      spec,
    },
  });
}

/** Reads an object by API path; undefined when it does not exist. */
export async function getObjectOn(kube: KubeClient, apiPath: string): Promise<KubeObject | undefined> {
  try {
    return await kube.request<KubeObject>('GET', apiPath);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Waits until every Application of `ns` named in `names` satisfies `pred` (one list per attempt).
 * @param opts - what is awaited (for the message) and the deadline in ms.
 * @returns the Applications, by name.
 * @throws Error naming the apps that do not satisfy `pred` and their last sync/health/conditions.
 */
export async function waitForAppsOn(
  kube: KubeClient,
  ns: string,
  names: string[],
  pred: (app: AppObject) => boolean,
  { what, timeoutMs }: { what: string; timeoutMs: number },
): Promise<Map<string, AppObject>> {
  let pending: string[] = [];
  let last = new Map<string, AppObject>();
  try {
    return await waitFor(
      async () => {
        const list = await kube.request<{ items: AppObject[] }>('GET', appPath(ns));
        last = new Map(list.items.map((a) => [a.metadata.name ?? '', a] as const));
        pending = names.filter((n) => {
          const app = last.get(n);
          return !app || !pred(app);
        });
        return pending.length === 0 ? last : undefined;
      },
      { timeoutMs, what: `${names.length} Applications in ${ns}: ${what}` },
    );
  } catch (err) {
    const lines: string[] = [];
    for (const n of pending.slice(0, 5)) {
      lines.push(
        `${n}: ${JSON.stringify(appSummary(last.get(n)))}`,
        `  live: ${await liveSummary(kube, last.get(n))}`,
      );
    }
    const summary = lines.join('\n');
    throw new Error(`${(err as Error).message}\nnot yet (${pending.length}, first 5):\n${summary}`);
  }
}

/** Sync, health, operation phase and condition types of an app, for messages. */
export function appSummary(a: AppObject | undefined): Record<string, unknown> {
  return {
    sync: a?.status?.sync?.status,
    health: a?.status?.health?.status,
    phase: a?.status?.operationState?.phase,
    conditions: a?.status?.conditions?.map((c) => `${c.type}: ${c.message}`),
  };
}

/** A resource as an Application's `status.resources` lists it. */
interface ResourceRef {
  group?: string;
  version?: string;
  kind: string;
  namespace?: string;
  name: string;
}

/**
 * API path of a resource listed in `status.resources`; the plural is the lower-case kind plus `s`,
 * which holds for the kinds the fault fixtures use (ConfigMap, Deployment, Secret, Service).
 */
export function resourcePath(r: ResourceRef): string {
  const root = r.group ? `/apis/${r.group}/${r.version ?? 'v1'}` : `/api/${r.version ?? 'v1'}`;
  const ns = r.namespace ? `/namespaces/${r.namespace}` : '';
  return `${root}${ns}/${r.kind.toLowerCase()}s/${r.name}`;
}

/**
 * The UID of every object the apps manage (their `status.resources`), keyed
 * `app kind/namespace/name`; a missing object maps to `(missing)`. Comparing two snapshots proves
 * that nothing was pruned or re-created in between (a re-created object has a new UID).
 */
export async function managedUids(kube: KubeClient, apps: Iterable<AppObject>): Promise<Map<string, string>> {
  const uids = new Map<string, string>();
  for (const app of apps) {
    for (const r of (app.status?.resources ?? []) as ResourceRef[]) {
      const obj = await getObjectOn(kube, resourcePath(r));
      uids.set(
        `${app.metadata.name} ${r.kind}/${r.namespace ?? ''}/${r.name}`,
        obj?.metadata.uid ?? '(missing)',
      );
    }
  }
  return uids;
}

/** The keys whose value differs between two snapshots of {@link managedUids} (or is missing in one). */
export function changedKeys(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k));
}

/** One observed state of an app: when (ms since the epoch), its sync and health status. */
export interface AppSample {
  at: number;
  sync?: string;
  health?: string;
}

/** A continuous record of the Applications of a namespace, from a watch. */
export interface AppSampler {
  /** Per app, every distinct (sync, health) state seen, in order. */
  samples: Map<string, AppSample[]>;
  /** How often the watch had to be re-established (with a fresh list) after the first. */
  restarts(): number;
  /** Stops watching; resolves when the watch is closed. */
  stop(): Promise<void>;
}

/**
 * Watches the Applications of `ns` and records every change of their sync and health status, from
 * now until `stop()`. A watch that breaks (API server or etcd outage) is re-established with a fresh
 * list, which also records the state at that moment, so a state lasting longer than the gap is
 * never missed.
 * @param kube - the client.
 * @param ns - the namespace.
 * @returns the sampler; its first list has been taken when this resolves.
 */
export async function sampleApps(kube: KubeClient, ns: string): Promise<AppSampler> {
  const samples = new Map<string, AppSample[]>();
  const record = (app: AppObject): void => {
    if (app.kind !== 'Application') return; // an ERROR event carries a Status
    const name = app.metadata.name ?? '';
    const list = samples.get(name) ?? [];
    const state = { at: Date.now(), sync: app.status?.sync?.status, health: app.status?.health?.status };
    const last = list.at(-1);
    if (!last || last.sync !== state.sync || last.health !== state.health) list.push(state);
    samples.set(name, list);
  };
  const abort = new AbortController();
  let restarts = -1;
  const listOnce = async (): Promise<string | undefined> => {
    const list = await kube.request<{ metadata: { resourceVersion?: string }; items: AppObject[] }>(
      'GET',
      appPath(ns),
    );
    for (const app of list.items) record({ ...app, kind: 'Application' });
    return list.metadata.resourceVersion;
  };
  await listOnce();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      restarts++;
      try {
        const rv = await listOnce();
        await kube.watch<AppObject>(
          appPath(ns),
          { resourceVersion: rv },
          (e) => record(e.object),
          abort.signal,
        );
      } catch {
        // the API is away: list and watch again after a pause
      }
      if (!abort.signal.aborted) await sleep(300);
    }
  })();
  return {
    samples,
    restarts: () => Math.max(0, restarts),
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

/**
 * The live state of the objects an app manages, for failure messages: per object its replicas and
 * condition statuses as the API server has them now (to tell a stale view in capstan from a cluster
 * that did not converge). Never includes data or spec values.
 */
export async function liveSummary(kube: KubeClient, app: AppObject | undefined): Promise<string> {
  const lines: string[] = [];
  for (const r of (app?.status?.resources ?? []) as ResourceRef[]) {
    const obj = await getObjectOn(kube, resourcePath(r)).catch(() => undefined);
    const status = obj?.status as
      | {
          readyReplicas?: number;
          availableReplicas?: number;
          conditions?: { type: string; status: string }[];
        }
      | undefined;
    const conditions = (status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(',');
    lines.push(
      `${r.kind}/${r.name}: ${obj ? `rv ${obj.metadata.resourceVersion}, ready ${status?.readyReplicas ?? '-'}, available ${status?.availableReplicas ?? '-'}, [${conditions}]` : 'missing'} (capstan says ${JSON.stringify((r as { health?: unknown }).health ?? null)})`,
    );
  }
  return lines.join('; ');
}
