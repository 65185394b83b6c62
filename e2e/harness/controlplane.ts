/**
 * A real Kubernetes control plane as plain local processes, for end-to-end tests and `make run`
 * (../shared/control-plane.md): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
 * the kwok controller with one fake Node, so that Deployments become Available and Jobs complete
 * without a kubelet or a container runtime. Everything listens on 127.0.0.1 on free ports, lives
 * in a fresh temp dir, and is started and stopped by PID, envtest-style.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';

import { KWOK_CONFIG } from './kwok-stages';
import { generatePki, type Pki } from './pki';
import { freePorts, ManagedProcess, onRunnerExit, ProcessExitedError } from './process';
import { waitFor, type WaitOptions } from './wait';

/** Kubernetes version whose binaries the harness expects (see scripts/build-control-plane.sh). */
export const K8S_VERSION = 'v1.36.3';

/** Name of the fake Node that kwok manages; pods are scheduled there. */
export const FAKE_NODE_NAME = 'kwok-node-0';

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok. Default: {@link defaultBinDir}. */
  binDir?: string;
  /** Parent of the fresh temp dir of this run; default: the OS temp dir. */
  workDir?: string;
  /** Receives progress lines; default: stderr. */
  log?: (line: string) => void;
  /** Keep the temp dir (logs, certs, etcd data) after stop(); default: env `CAPSTAN_KEEP_TMP=1`. */
  keepDir?: boolean;
  /**
   * Pods the fake Node accepts (its `capacity.pods`/`allocatable.pods`); default 110, a kubelet's
   * default. Benchmarks raise it (bench/).
   */
  podCapacity?: number;
  /** The Service IP range (`--service-cluster-ip-range`); default `10.0.0.0/24` (about 250 Services). */
  serviceClusterIpRange?: string;
}

/** A running control plane. */
export interface ControlPlane {
  /** Admin kubeconfig (system:masters) that @kubernetes/client-node, kubectl and helm read. */
  kubeconfigPath: string;
  /** API server URL, `https://127.0.0.1:<port>`. */
  server: string;
  /** This run's temp dir: `logs/<process>.log`, `pki/`, `etcd/`. */
  dir: string;
  /** PIDs of the current processes, in start order (a restarted component has a new PID). */
  readonly pids: number[];
  /** Time from the call to a Ready node, in milliseconds (ms). */
  startupMs: number;
  /**
   * Stops one component by its PID, for fault injection: SIGTERM (SIGKILL after 5 s), or SIGKILL
   * at once with `kill`. The other components keep running (the apiserver retries etcd, the
   * controllers retry the apiserver). Does nothing when the component is already stopped.
   * @param name - the component.
   * @param opts - `kill: true` for a crash instead of a graceful stop.
   * @returns once the process has exited and been reaped.
   */
  stopComponent(name: ComponentName, opts?: { kill?: boolean }): Promise<void>;
  /**
   * Starts a stopped component again with the same flags, ports, data dir and certificates (its
   * log file is appended to), and resolves when it is ready: etcd `/health`, kube-apiserver
   * `/readyz`, kube-controller-manager and kube-scheduler `/healthz`, kwok its Node Ready. Does
   * nothing when the component runs.
   * @param name - the component.
   * @throws Error with the component's log tail when it exits or is not ready within 90 s.
   */
  startComponent(name: ComponentName): Promise<void>;
  /** Stops every process by PID in reverse start order (SIGTERM, SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

/** A control plane process, by binary name. */
export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

/**
 * The binaries directory: env `CAPSTAN_K8S_BIN`, else `~/.cache/capstan/k8s-v1.36.3/bin`.
 * @returns an absolute path.
 */
export function defaultBinDir(): string {
  return (
    process.env.CAPSTAN_K8S_BIN ?? path.join(os.homedir(), '.cache', 'capstan', `k8s-${K8S_VERSION}`, 'bin')
  );
}

/** The binaries the control plane needs. */
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

/** Ports of one run. */
interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

/** Everything the start steps share. */
interface Run {
  binDir: string;
  dir: string;
  pki: Pki;
  ports: Ports;
  kubeconfigPath: string;
  server: string;
  /** The current process of each started component, in start order (replaced on a restart). */
  procs: ManagedProcess[];
  /** The arguments each component was started with, to start it again identically. */
  args: Map<ComponentName, string[]>;
  log: (line: string) => void;
  /** Pods the fake Node accepts. */
  podCapacity: number;
  /** `--service-cluster-ip-range`. */
  serviceClusterIpRange: string;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, and resolves once
 * the API is ready, the `default` ServiceAccount exists (controller-manager works) and the fake
 * Node is Ready (kwok works). On failure every started process is stopped and the error carries
 * the last log lines of the process at fault; the temp dir is kept for inspection.
 * @param opts - binaries dir, parent dir, log sink.
 * @returns the running control plane; call `stop()` when done.
 * @throws Error when a binary is missing, a process exits early or a readiness check times out.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  // The ports are picked free (bind to 0, release) before the components bind them; another process of
  // the run (a suite's own control plane, git daemon, registry) can take one in between. That one
  // failure is retried with new ports; any other is not.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startControlPlaneOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String((err as Error).message))) throw err;
    }
  }
}

async function startControlPlaneOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const started = Date.now();
  const run = await prepare(opts);
  const prepareMs = Date.now() - started;
  const keepDir = opts.keepDir ?? process.env.CAPSTAN_KEEP_TMP === '1';
  const forget = onRunnerExit(() => {
    if (!keepDir) fs.rmSync(run.dir, { recursive: true, force: true });
  });
  try {
    const timings = `certificates ${seconds(prepareMs)} s, ${await startAll(run)}`;
    const startupMs = Date.now() - started;
    run.log(`control plane ready in ${seconds(startupMs)} s (${timings}) at ${run.server}, dir ${run.dir}`);
    return controlPlane(run, startupMs, async () => {
      await stopAll(run.procs);
      forget();
      if (!keepDir) fs.rmSync(run.dir, { recursive: true, force: true });
    });
  } catch (err) {
    await stopAll(run.procs);
    forget();
    throw annotate(err, `control plane start failed; logs kept in ${run.dir}`);
  }
}

/** Checks the binaries, makes the temp dir, certificates, ports and kubeconfig. */
async function prepare(opts: ControlPlaneOptions): Promise<Run> {
  const binDir = opts.binDir ?? defaultBinDir();
  const missing = BINARIES.filter((b) => !fs.existsSync(path.join(binDir, b)));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')} in ${binDir}; run scripts/build-control-plane.sh first`);
  }
  const parent = opts.workDir ?? os.tmpdir();
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, 'capstan-cp-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const [pki, list] = await Promise.all([generatePki(path.join(dir, 'pki')), freePorts(5)]);
  const ports: Ports = {
    etcdClient: list[0],
    etcdPeer: list[1],
    apiserver: list[2],
    controllerManager: list[3],
    scheduler: list[4],
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, server, pki);
  const log = opts.log ?? ((line: string) => process.stderr.write(`[controlplane] ${line}\n`));
  return {
    binDir,
    dir,
    pki,
    ports,
    kubeconfigPath,
    server,
    procs: [],
    args: new Map(),
    log,
    podCapacity: opts.podCapacity ?? 110,
    serviceClusterIpRange: opts.serviceClusterIpRange ?? '10.0.0.0/24',
  };
}

/** Starts the processes in dependency order; returns a summary of the phase durations. */
async function startAll(run: Run): Promise<string> {
  const phase = timer();
  const etcd = startEtcd(run);
  await waitOn(run, etcd, () => etcdHealthy(run.ports.etcdClient), {
    timeoutMs: 30_000,
    what: 'etcd /health',
  });
  const tEtcd = phase();
  const apiserver = startApiserver(run);
  await waitOn(run, apiserver, () => apiReady(run), { timeoutMs: 90_000, what: 'kube-apiserver /readyz' });
  const tApi = phase();
  await createFakeNode(run);
  const kcm = startControllerManager(run);
  startScheduler(run);
  const kwok = startKwok(run);
  await Promise.all([
    waitOn(run, kcm, () => defaultServiceAccountExists(run), {
      timeoutMs: 60_000,
      what: 'ServiceAccount default/default (kube-controller-manager)',
    }),
    waitOn(run, kwok, () => nodeReady(run), {
      timeoutMs: 60_000,
      what: `Node ${FAKE_NODE_NAME} Ready (kwok)`,
    }),
  ]);
  const tRest = phase();
  return `etcd ${seconds(tEtcd)} s, kube-apiserver ${seconds(tApi)} s, controllers and node ${seconds(tRest)} s`;
}

/** The public handle. */
function controlPlane(run: Run, startupMs: number, stopOnce: () => Promise<void>): ControlPlane {
  let stopping: Promise<void> | undefined;
  return {
    kubeconfigPath: run.kubeconfigPath,
    server: run.server,
    dir: run.dir,
    get pids() {
      return run.procs.map((p) => p.pid);
    },
    startupMs,
    stopComponent: async (name, opts = {}) => {
      const proc = component(run, name);
      if (opts.kill) await proc.kill('SIGKILL');
      else await proc.stop();
    },
    startComponent: (name) => restartComponent(run, name),
    stop: () => (stopping ??= stopOnce()),
  };
}

/** The current process of a component. */
function component(run: Run, name: ComponentName): ManagedProcess {
  const proc = run.procs.find((p) => p.name === name);
  if (!proc) throw new Error(`control plane component ${name} was never started`);
  return proc;
}

/**
 * Starts a stopped component with its original arguments, replaces it in `run.procs` (same
 * position, so stop order stays right) and waits for its readiness check.
 */
async function restartComponent(run: Run, name: ComponentName): Promise<void> {
  const old = component(run, name);
  if (!old.exited) return;
  const args = run.args.get(name) ?? [];
  const proc = ManagedProcess.start({
    name,
    command: path.join(run.binDir, name),
    args,
    logPath: old.logPath,
    cwd: run.dir,
  });
  run.procs[run.procs.indexOf(old)] = proc;
  run.log(`restarted ${name} (pid ${proc.pid})`);
  await waitOn(run, proc, READINESS[name](run), { timeoutMs: 90_000, what: `${name} ready again` }, [proc]);
}

/** The readiness check of each component, for {@link restartComponent}. */
const READINESS: Record<ComponentName, (run: Run) => () => Promise<boolean>> = {
  etcd: (run) => () => etcdHealthy(run.ports.etcdClient),
  'kube-apiserver': (run) => () => apiReady(run),
  'kube-controller-manager': (run) => () => componentHealthy(run.ports.controllerManager),
  'kube-scheduler': (run) => () => componentHealthy(run.ports.scheduler),
  kwok: (run) => () => nodeReady(run),
};

/** Stops processes one by one, last started first (clients before the apiserver before etcd). */
async function stopAll(procs: ManagedProcess[]): Promise<void> {
  for (const proc of [...procs].reverse()) await proc.stop();
}

// ---- processes ----

/** Spawns one control plane binary with its log in `logs/<name>.log`, and remembers it. */
function startBinary(run: Run, name: ComponentName, args: string[]): ManagedProcess {
  run.args.set(name, args);
  const proc = ManagedProcess.start({
    name,
    command: path.join(run.binDir, name),
    args,
    logPath: path.join(run.dir, 'logs', `${name}.log`),
    cwd: run.dir,
  });
  run.procs.push(proc);
  return proc;
}

/** etcd, single member; no fsync because the data is thrown away (much faster on slow disks). */
function startEtcd(run: Run): ManagedProcess {
  const client = `http://127.0.0.1:${run.ports.etcdClient}`;
  const peer = `http://127.0.0.1:${run.ports.etcdPeer}`;
  return startBinary(run, 'etcd', [
    '--name=capstan-e2e',
    `--data-dir=${path.join(run.dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=capstan-e2e=${peer}`,
    '--initial-cluster-state=new',
    '--unsafe-no-fsync',
  ]);
}

/** kube-apiserver with real authn (client certificates, service account tokens) and RBAC. */
function startApiserver(run: Run): ManagedProcess {
  const { pki, ports } = run;
  return startBinary(run, 'kube-apiserver', [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    '--advertise-address=127.0.0.1',
    // No kubelet-backed endpoints to reconcile for the `kubernetes` Service on a loopback address.
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${run.serviceClusterIpRange}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
  ]);
}

/**
 * The flags kube-controller-manager and kube-scheduler share: the admin kubeconfig for the API and
 * for delegated authn/authz of their own /healthz, no leader election (one instance), and their
 * secure port on a free loopback port (the defaults 10257/10259 would clash between runs).
 */
function componentFlags(run: Run, port: number, certDir: string): string[] {
  return [
    `--kubeconfig=${run.kubeconfigPath}`,
    `--authentication-kubeconfig=${run.kubeconfigPath}`,
    `--authorization-kubeconfig=${run.kubeconfigPath}`,
    '--leader-elect=false',
    '--authentication-skip-lookup=true',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${path.join(run.dir, certDir)}`,
  ];
}

/**
 * kube-controller-manager with every default controller: namespace finalization, garbage
 * collection, Deployment/ReplicaSet/Job, ServiceAccounts and their tokens, node lifecycle.
 */
function startControllerManager(run: Run): ManagedProcess {
  return startBinary(run, 'kube-controller-manager', [
    ...componentFlags(run, run.ports.controllerManager, 'kcm-certs'),
    '--controllers=*',
    '--use-service-account-credentials=false',
    `--root-ca-file=${run.pki.caCert}`,
    `--service-account-private-key-file=${run.pki.saKey}`,
    '--cluster-name=capstan-e2e',
  ]);
}

/** kube-scheduler: binds pending pods to the fake node. */
function startScheduler(run: Run): ManagedProcess {
  return startBinary(run, 'kube-scheduler', componentFlags(run, run.ports.scheduler, 'scheduler-certs'));
}

/**
 * The kwok controller for annotated nodes only, with the harness's stages (./kwok-stages): nodes
 * become Ready, pods Running/Ready, pods owned by a Job Succeeded. The explicit `--config` also
 * keeps a developer's ~/.kwok/kwok.yaml out of the tests.
 */
function startKwok(run: Run): ManagedProcess {
  const config = path.join(run.dir, 'kwok.yaml');
  fs.writeFileSync(config, KWOK_CONFIG);
  return startBinary(run, 'kwok', [
    `--kubeconfig=${run.kubeconfigPath}`,
    `--config=${config}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    // Pod IPs: the default /24 runs out after 254 pods, too few for benchmarks.
    '--cidr=10.244.0.0/16',
    // Without it the node's InternalIP (and every pod's hostIP) is an empty string.
    '--node-ip=10.240.0.1',
  ]);
}

// ---- readiness ----

/**
 * Waits for `check`, failing at once if any started process exits (with that process's log tail),
 * and on timeout adding the log tail of `blame`, the process the check depends on.
 */
async function waitOn<T>(
  run: Run,
  blame: ManagedProcess,
  check: () => Promise<T | undefined | false>,
  opts: WaitOptions,
  watched: ManagedProcess[] = run.procs,
): Promise<T> {
  try {
    return await waitFor(
      async () => {
        for (const proc of watched) proc.assertRunning();
        return check();
      },
      { intervalMs: 250, ...opts },
    );
  } catch (err) {
    if (err instanceof ProcessExitedError) throw err;
    throw annotate(err, `last log lines of ${blame.name} (${blame.logPath}):\n${blame.tail()}`);
  }
}

/** True when etcd reports itself healthy. */
async function etcdHealthy(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return res.ok && (await res.text()).includes('"health":"true"');
}

/**
 * True when kube-controller-manager's or kube-scheduler's `/healthz` answers 200 on its secure port
 * (an always-allowed path; the serving certificate is self-signed in its cert dir, hence no CA check).
 */
function componentHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 5000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

/** True when the apiserver's /readyz answers 200 (all post-start hooks done). */
async function apiReady(run: Run): Promise<boolean> {
  return (await adminRequest(run, 'GET', '/readyz')).status === 200;
}

/** True when the ServiceAccount controller has created `default` in namespace `default`. */
async function defaultServiceAccountExists(run: Run): Promise<boolean> {
  return (
    (await adminRequest(run, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200
  );
}

/** True when the fake node's Ready condition is True. */
async function nodeReady(run: Run): Promise<boolean> {
  const res = await adminRequest(run, 'GET', `/api/v1/nodes/${FAKE_NODE_NAME}`);
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Creates the fake Node (after kwok's documented example, without its NoSchedule taint so that
 * ordinary workloads land on it). kwok fills in conditions, addresses and heartbeats.
 */
async function createFakeNode(run: Run): Promise<void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: FAKE_NODE_NAME,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': FAKE_NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: String(run.podCapacity) },
      capacity: { cpu: '32', memory: '256Gi', pods: String(run.podCapacity) },
    },
  };
  const res = await adminRequest(run, 'POST', '/api/v1/nodes', node);
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`creating Node ${FAKE_NODE_NAME} failed: HTTP ${res.status} ${res.body}`);
  }
}

// ---- API access and kubeconfig ----

/** A minimal HTTPS client authenticated as admin; the harness needs no more than this. */
function adminRequest(
  run: Run,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${run.server}${urlPath}`,
      {
        method,
        ca: fs.readFileSync(run.pki.caCert),
        cert: fs.readFileSync(run.pki.adminCert),
        key: fs.readFileSync(run.pki.adminKey),
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Writes an admin kubeconfig with the certificates inlined (`*-data`), so it stays valid when
 * copied and every client (client-node 0.20, kubectl, helm) reads it the same way.
 */
function writeKubeconfig(file: string, server: string, pki: Pki): void {
  const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'capstan-e2e', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [
      {
        name: 'admin',
        user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) },
      },
    ],
    contexts: [
      { name: 'capstan-e2e', context: { cluster: 'capstan-e2e', user: 'admin', namespace: 'default' } },
    ],
    'current-context': 'capstan-e2e',
    preferences: {},
  };
  fs.writeFileSync(file, toYaml(config), { mode: 0o600 });
}

// ---- small helpers ----

/** Returns a function that yields the ms elapsed since the previous call (or creation). */
function timer(): () => number {
  let last = Date.now();
  return () => {
    const now = Date.now();
    const elapsed = now - last;
    last = now;
    return elapsed;
  };
}

/** Milliseconds as seconds with one decimal. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** The same error with a note appended to its message (keeps ProcessExitedError's class). */
function annotate(err: unknown, note: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  e.message = `${e.message}\n${note}`;
  return e;
}
