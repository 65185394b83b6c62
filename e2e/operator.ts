/**
 * Shared set-up of `make test-e2e` and `make run`: install capstan's CRDs into a cluster and run the
 * operator as its own process (as in a real deployment: the tests talk to it only through the API
 * server).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from './harness/process';
import { toolPath } from './harness/tools';
import { waitFor } from './harness/wait';

const run = promisify(execFile);

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..');

/** Applies `crds/` with kubectl (server-side) and waits until every CRD is Established. */
export async function installCrds(kubeconfig: string): Promise<void> {
  const kubectl = toolPath('kubectl');
  await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', path.join(ROOT, 'crds')]);
  // kubectl wait fails at once ("status.conditions accessor error") when it reads a CRD whose status
  // the API server has not written yet, a race right after the apply: that one error is retried.
  for (let attempt = 1; ; attempt++) {
    try {
      await run(kubectl, [
        '--kubeconfig',
        kubeconfig,
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        '-f',
        path.join(ROOT, 'crds'),
      ]);
      return;
    } catch (err) {
      if (attempt >= 10 || !/accessor error/.test(String((err as { stderr?: string }).stderr ?? err)))
        throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Creates a namespace unless it exists. */
export async function ensureNamespace(kubeconfig: string, name: string): Promise<void> {
  const kubectl = toolPath('kubectl');
  const { stdout } = await run(kubectl, [
    '--kubeconfig',
    kubeconfig,
    'create',
    'namespace',
    name,
    '--dry-run=client',
    '-o',
    'yaml',
  ]);
  const child = execFile(kubectl, ['--kubeconfig', kubeconfig, 'apply', '-f', '-']);
  child.stdin?.end(stdout);
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kubectl apply namespace ${name} failed`)),
    ),
  );
}

/**
 * Creates the `default` AppProject as the platform admin of a test cluster sets it, before capstan starts:
 * Argo CD's permissive default (any repository, destination and kind) plus `sourceNamespaces: ['*']`,
 * because the suites keep their Applications in namespaces of their own, which a project must permit
 * (Argo CD's apps-in-any-namespace rule; the `default` capstan creates when none exists does not).
 * An existing project is left as it is.
 */
export async function ensureDefaultProject(kubeconfig: string, namespace: string): Promise<void> {
  const project = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: { name: 'default', namespace },
    spec: {
      sourceRepos: ['*'],
      destinations: [{ server: '*', namespace: '*' }],
      clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      sourceNamespaces: ['*'],
    },
  };
  const child = execFile(toolPath('kubectl'), ['--kubeconfig', kubeconfig, 'create', '-f', '-']);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(JSON.stringify(project));
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 || /AlreadyExists|already exists/.test(stderr)
        ? resolve()
        : reject(new Error(`kubectl create of the default AppProject failed: ${stderr.trim()}`)),
    ),
  );
}

/** Options of {@link startOperator}. */
export interface OperatorOptions {
  kubeconfig: string;
  controllerNamespace: string;
  logPath: string;
  cacheDir: string;
  /** Extra flags (default `--metrics-port 0`, so parallel runs do not compete for a port). */
  args?: string[];
}

/**
 * Starts capstan (`node --import tsx operator/main.ts`) and waits for its "capstan started" line.
 * @throws Error with the log tail when it exits or does not start within 60 s.
 */
export async function startOperator(opts: OperatorOptions): Promise<ManagedProcess> {
  const proc = spawnOperator(opts);
  await waitFor(
    async () => {
      proc.assertRunning();
      return proc.tail(200).includes('capstan started');
    },
    { timeoutMs: 60_000, what: 'capstan to start' },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n--- capstan log ---\n${proc.tail(40)}`);
  });
  return proc;
}

/** Spawns capstan (`node --import tsx operator/main.ts`) with the harness's helm; does not wait. */
export function spawnOperator(opts: OperatorOptions): ManagedProcess {
  return ManagedProcess.start({
    name: 'capstan',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      path.join(ROOT, 'operator', 'main.ts'),
      '--kubeconfig',
      opts.kubeconfig,
      '--controller-namespace',
      opts.controllerNamespace,
      '--helm',
      toolPath('helm'),
      '--cache-dir',
      opts.cacheDir,
      ...(opts.args ?? ['--metrics-port', '0']),
    ],
    logPath: opts.logPath,
    cwd: ROOT,
  });
}

/** The lines capstan logs once it is up: started (leading or alone), or waiting for the Lease. */
export const OPERATOR_UP = /capstan started|Waiting to become leader/;

/**
 * Starts capstan like {@link startOperator}, but waits for `ready` in what this process appends to
 * the log file, so that a restart onto the log of a killed process (fault tests) does not mistake
 * the old process's lines for its own.
 * @param opts - as {@link startOperator}.
 * @param ready - the log line to wait for; default {@link OPERATOR_UP}.
 * @returns the running process.
 * @throws Error with the new log lines when it exits or does not log `ready` within 60 s.
 */
export async function startOperatorAppending(
  opts: OperatorOptions,
  ready: RegExp = OPERATOR_UP,
): Promise<ManagedProcess> {
  const from = fileSize(opts.logPath);
  const proc = spawnOperator(opts);
  await waitFor(
    async () => {
      proc.assertRunning();
      return ready.test(readFrom(opts.logPath, from));
    },
    { timeoutMs: 60_000, what: `capstan (pid ${proc.pid}) to log ${String(ready)}` },
  ).catch(async (err: unknown) => {
    await proc.stop();
    throw new Error(
      `${(err as Error).message}\n--- capstan log ---\n${readFrom(opts.logPath, from).slice(-4000)}`,
    );
  });
  return proc;
}

/** Size of a file in bytes; 0 when it does not exist yet. */
function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The text of a file from byte `offset` on; empty when it does not exist. */
function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}
