/**
 * What `make run` (e2e/demo.ts) and e2e/suites/examples.e2e.ts share: serve `examples/` as the git
 * repository a user would copy it into (with capstan's `helm-chart/` next to `apps/`), create the root
 * Application exactly as `helm install capstan ./helm-chart --set bootstrap.enabled=true ...` creates
 * it, and run capstan as a local process in the controller namespace.
 *
 * capstan runs on this machine, not in its Deployment: kwok never runs the chart's image, and on a real
 * cluster (KUBECONFIG set) the local process must not fight a pod. So it runs with `--leader-elect`, on
 * the same `capstan-leader` Lease as the chart's Deployment (leaderElection.enabled, the default): the
 * `capstan` Application can deploy the chart's Deployment with the values of a real install, and at most
 * one of the two ever reconciles. Under kwok the pod never takes the Lease, so the local process leads.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseDocument } from 'yaml';
import type { GitRepo, GitServer } from './harness/gitserver';
import type { ManagedProcess } from './harness/process';
import { toolPath } from './harness/tools';
import { KubeClient, loadKubeConfig, isConflict } from '../operator/kube/client';
import { ensureNamespace, installCrds, ROOT, spawnOperator } from './operator';

const run = promisify(execFile);

/** The controller namespace of the examples, as in the README's install (`-n argocd`). */
export const EXAMPLES_NAMESPACE = 'argocd';

/** The Applications the examples create in {@link EXAMPLES_NAMESPACE}: the root and its children. */
export const EXAMPLE_APPS = ['root', 'capstan', 'guestbook', 'hello', 'secrets'];

/** The repository's name on the git server (its URL is `<baseUrl>/examples.git`). */
const REPO_NAME = 'examples';

/**
 * Builds the user's repository in a temp dir: `examples/` plus this repository's `helm-chart/` (the
 * `capstan` Application's source), with `apps/values.yaml`'s `repoURL` set to `repoURL`, as a user
 * writes their repository's URL there.
 * @param repoURL - the URL the repository will be served at.
 * @returns the temp dir (the caller commits it).
 */
export function buildExamplesDir(repoURL: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-examples-'));
  fs.cpSync(path.join(ROOT, 'examples'), dir, { recursive: true });
  fs.cpSync(path.join(ROOT, 'helm-chart'), path.join(dir, 'helm-chart'), { recursive: true });
  const valuesFile = path.join(dir, 'apps', 'values.yaml');
  // Edit the document (not a re-serialised object) so that the comments a user reads stay.
  const doc = parseDocument(fs.readFileSync(valuesFile, 'utf8'));
  doc.set('repoURL', repoURL);
  fs.writeFileSync(valuesFile, doc.toString());
  return dir;
}

/**
 * The root Application as the chart's bootstrap template renders it for `helm install capstan
 * ./helm-chart -n <ns> --set bootstrap.enabled=true --set bootstrap.repoURL=<repoURL> --set
 * bootstrap.path=apps` (real `helm template`), so that the `capstan` Application, which renders the
 * same template with the same values, finds it unchanged.
 * @param repoURL - the examples repository's URL.
 * @returns the Application object.
 * @throws Error when helm fails (its stderr).
 */
export async function rootApplication(repoURL: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(toolPath('helm'), [
    'template',
    'capstan',
    path.join(ROOT, 'helm-chart'),
    '--namespace',
    EXAMPLES_NAMESPACE,
    '--set',
    'bootstrap.enabled=true',
    '--set-string',
    `bootstrap.repoURL=${repoURL}`,
    '--set',
    'bootstrap.path=apps',
    '--show-only',
    'templates/bootstrap-application.yaml',
  ]);
  return parse(stdout) as Record<string, unknown>;
}

/** Options of {@link startExamples}. */
export interface ExamplesOptions {
  kubeconfig: string;
  git: GitServer;
  /** capstan's clone cache. */
  cacheDir: string;
  /** capstan's log file. */
  logPath: string;
  /** capstan's flags besides the kubeconfig, namespace, helm and cache (default: `--leader-elect`). */
  operatorArgs?: string[];
}

/** What {@link startExamples} started: the served repository and capstan (not yet up). */
export interface Examples {
  repo: GitRepo;
  operator: ManagedProcess;
}

/**
 * Installs the CRDs and the controller namespace, serves the examples repository from `git`, creates
 * the root Application (an existing one is kept) and spawns capstan; does not wait for it.
 * @throws Error when the CRDs, the namespace, the repository or the root cannot be created.
 */
export async function startExamples(opts: ExamplesOptions): Promise<Examples> {
  await installCrds(opts.kubeconfig);
  await ensureNamespace(opts.kubeconfig, EXAMPLES_NAMESPACE);
  const url = `${opts.git.baseUrl}/${REPO_NAME}.git`;
  const dir = buildExamplesDir(url);
  const repo = await opts.git.createRepo(REPO_NAME, dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (repo.url !== url) throw new Error(`the examples repository is served at ${repo.url}, not ${url}`);
  const client = new KubeClient(loadKubeConfig(opts.kubeconfig));
  const root = await rootApplication(repo.url);
  await client
    .request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${EXAMPLES_NAMESPACE}/applications`, {
      body: root,
    })
    .catch((err: unknown) => {
      if (!isConflict(err)) throw err;
    });
  const operator = spawnOperator({
    kubeconfig: opts.kubeconfig,
    controllerNamespace: EXAMPLES_NAMESPACE,
    cacheDir: opts.cacheDir,
    logPath: opts.logPath,
    args: opts.operatorArgs ?? ['--leader-elect'],
  });
  return { repo, operator };
}
