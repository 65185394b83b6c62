/**
 * Helpers for the end-to-end suites: a real API client on the run's control plane (from
 * `e2e/run.ts`), Application and object accessors, and waits. Nothing here mocks the API.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeClient, isNotFound, loadKubeConfig } from '../../operator/kube/client';
import { KubeObject } from '../../operator/kube/object';
import { toolPath } from '../harness/tools';
import { waitFor } from '../harness/wait';
import type { GitRepo, GitServer } from '../harness/gitserver';
import path from 'node:path';

/** The fixture folders of the end-to-end suites. */
export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');

const run = promisify(execFile);

/** The run's admin kubeconfig. */
export const kubeconfig = (): string => {
  const p = process.env.CAPSTAN_E2E_KUBECONFIG;
  if (!p)
    throw new Error('CAPSTAN_E2E_KUBECONFIG is not set: run the suites through `make test-e2e` (e2e/run.ts)');
  return p;
};

/** The namespace capstan runs in. */
export const controllerNamespace = (): string =>
  process.env.CAPSTAN_E2E_CONTROLLER_NAMESPACE ?? 'capstan-system';

let cached: KubeClient | undefined;
/** A real client on the run's API server. */
export function kube(): KubeClient {
  cached ??= new KubeClient(loadKubeConfig(kubeconfig()));
  return cached;
}

/** Runs kubectl against the run's cluster and returns stdout. */
export async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(toolPath('kubectl'), ['--kubeconfig', kubeconfig(), ...args]);
  return stdout;
}

/** Creates a namespace for one test. */
export async function createNamespace(name: string): Promise<void> {
  await kube().request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
  });
}

const appPath = (ns: string, name = '') =>
  `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications${name ? '/' + name : ''}`;

/** An Application as the tests read it. */
export interface AppObject extends KubeObject {
  spec: Record<string, unknown>;
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    resources?: Array<{
      kind: string;
      name: string;
      namespace?: string;
      status?: string;
      requiresPruning?: boolean;
    }>;
    conditions?: Array<{ type: string; message: string }>;
    operationState?: {
      phase?: string;
      message?: string;
      finishedAt?: string;
      syncResult?: { revision?: string };
    };
    history?: Array<{ id: number; revision?: string }>;
    reconciledAt?: string;
  };
}

/** Creates an Application. */
export async function createApp(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  await kube().request('POST', appPath(namespace), {
    body: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace, ...metadata },
      spec,
    },
  });
}

/** Reads an Application. */
export async function getApp(namespace: string, name: string): Promise<AppObject> {
  return kube().request<AppObject>('GET', appPath(namespace, name));
}

/** Merge-patches an Application (spec, metadata, operation). */
export async function patchApp(
  namespace: string,
  name: string,
  patch: Record<string, unknown>,
): Promise<void> {
  await kube().request('PATCH', appPath(namespace, name), {
    body: patch,
    contentType: 'application/merge-patch+json',
  });
}

/** Asks for a refresh now, with Argo CD's annotation. */
export async function refreshApp(
  namespace: string,
  name: string,
  kind: 'normal' | 'hard' = 'normal',
): Promise<void> {
  await patchApp(namespace, name, { metadata: { annotations: { 'argocd.argoproj.io/refresh': kind } } });
}

/**
 * Asks for a refresh and waits until capstan has answered it: the annotation is gone and
 * `status.reconciledAt` is later than the request, so a whole reconcile that read the world after the
 * request has run (status is written for an explicit refresh, as Argo CD). Use it before asserting that
 * something did NOT happen, instead of a fixed sleep.
 * @param timeoutMs - default 30 s.
 */
export async function refreshAndSettle(
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<AppObject> {
  const asked = Date.now();
  await refreshApp(namespace, name);
  return waitForApp(
    namespace,
    name,
    (a) =>
      !a.metadata.annotations?.['argocd.argoproj.io/refresh'] &&
      Date.parse(a.status?.reconciledAt ?? '') > asked,
    'a reconcile after the refresh request',
    timeoutMs,
  );
}

/**
 * Waits until the Application satisfies `pred`; the timeout message shows its last status.
 * @param timeoutMs - default 60 s.
 */
export async function waitForApp(
  namespace: string,
  name: string,
  pred: (app: AppObject) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<AppObject> {
  let last: AppObject | undefined;
  try {
    return await waitFor(
      async () => {
        last = await getApp(namespace, name);
        return pred(last) ? last : undefined;
      },
      { timeoutMs, what: `Application ${namespace}/${name}: ${what}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status, null, 1)}`);
  }
}

/** Reads an object by API path; undefined when it does not exist. */
export async function getObject(path: string): Promise<KubeObject | undefined> {
  try {
    return await kube().request<KubeObject>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Path of a namespaced core object, e.g. `core('cm', 'configmaps', 'x')`. */
export const core = (ns: string, plural: string, name: string): string =>
  `/api/v1/namespaces/${ns}/${plural}/${name}`;
/** Path of a namespaced apps/v1 object. */
export const apps = (ns: string, plural: string, name: string): string =>
  `/apis/apps/v1/namespaces/${ns}/${plural}/${name}`;

/** A unique, DNS-safe name for a test's namespace. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}

/** True when an app is Synced at `revision` (and, when given, its last operation Succeeded). */
export const syncedAt = (revision: string) => (a: AppObject) =>
  a.status?.sync?.status === 'Synced' && a.status.sync.revision === revision;

/** What {@link appFromFixture} creates. */
export interface FixtureApp {
  /** The test's namespace: the app lives there and deploys there. */
  ns: string;
  repo: GitRepo;
  /** The repository's first commit. */
  sha: string;
}

/**
 * The common start of a test: a fresh namespace, a git repository on `git` holding the fixture folder
 * `e2e/fixtures/<fixture>`, and an Application `name` in that namespace deploying the repository's
 * root into it (in-cluster, project default).
 * @param source - merged into `spec.source` (path, directory, helm, ...).
 * @param spec - merged into `spec` (syncPolicy, ignoreDifferences, ...).
 */
export async function appFromFixture(
  git: GitServer,
  opts: {
    prefix: string;
    fixture: string;
    name?: string;
    source?: Record<string, unknown>;
    spec?: Record<string, unknown>;
    metadata?: Record<string, unknown>;
  },
): Promise<FixtureApp> {
  const ns = uniqueName(opts.prefix);
  await createNamespace(ns);
  const repo = await git.createRepo(ns, path.join(FIXTURES, opts.fixture));
  const sha = await repo.headSha();
  await createApp(
    ns,
    opts.name ?? 'app',
    {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.', ...opts.source },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      ...opts.spec,
    },
    opts.metadata,
  );
  return { ns, repo, sha };
}
