/**
 * The AppProject operator on the real control plane: capstan creates the built-in `default` project at start
 * when it is missing (as Argo CD); an invalid project gets a condition naming the field and its apps an
 * InvalidSpecError, with nothing applied until the project is fixed; a tightened project stops its app
 * within seconds (the informer re-queues exactly its apps; the periodic refresh is 120 s or more); a project
 * still used by an app is kept from deletion with a DeletionBlocked condition until the app is gone; fields
 * capstan does not enforce are reported.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import { isNotFound } from '../../operator/kube/client';
import { startOperator } from '../operator';
import {
  FIXTURES,
  controllerNamespace,
  core,
  createApp,
  createNamespace,
  getApp,
  getObject,
  kube,
  kubeconfig,
  refreshApp,
  uniqueName,
  waitForApp,
} from './lib';

const SERVER = 'https://kubernetes.default.svc';

interface ProjectObject {
  metadata: { name: string; finalizers?: string[]; deletionTimestamp?: string; resourceVersion?: string };
  spec: Record<string, unknown>;
  status?: { conditions?: Array<{ type: string; message: string }> };
}

const projectPath = (name = '', namespace = controllerNamespace()) =>
  `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/appprojects${name ? '/' + name : ''}`;

async function createProject(name: string, spec: Record<string, unknown>): Promise<void> {
  await kube().request('POST', projectPath(), {
    body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name }, spec },
  });
}

async function getProject(name: string, namespace?: string): Promise<ProjectObject | undefined> {
  try {
    return await kube().request<ProjectObject>('GET', projectPath(name, namespace));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function patchProject(name: string, patch: Record<string, unknown>): Promise<void> {
  await kube().request('PATCH', projectPath(name), {
    body: patch,
    contentType: 'application/merge-patch+json',
  });
}

async function waitForProject(
  name: string,
  pred: (p: ProjectObject | undefined) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ProjectObject | undefined> {
  let last: ProjectObject | undefined;
  try {
    return await waitFor(
      async () => {
        last = await getProject(name);
        return pred(last) ? (last ?? null) : undefined;
      },
      { timeoutMs, what: `AppProject ${name}: ${what}` },
    ).then((p) => p ?? undefined);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast: ${JSON.stringify(last, null, 1)}`);
  }
}

const condition = (
  p: { status?: { conditions?: Array<{ type: string; message: string }> } } | undefined,
  type: string,
) => p?.status?.conditions?.find((c) => c.type === type);

describe('appproject operator', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('capstan creates the built-in default project with Argo CD permissive spec when it is missing', async () => {
    // The run's capstan starts after the runner created `default` (with sourceNamespaces for the suites'
    // namespaces): a second capstan, AppProject operator only, on a fresh controller namespace shows the
    // creation.
    const ns = uniqueName('ctrl');
    await createNamespace(ns);
    assert.equal(await getProject('default', ns), undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-p1-'));
    const op = await startOperator({
      kubeconfig: kubeconfig(),
      controllerNamespace: ns,
      logPath: path.join(dir, 'capstan.log'),
      cacheDir: path.join(dir, 'cache'),
      args: ['--controllers', 'appproject', '--metrics-port', '0'],
    });
    try {
      const p = await waitFor(async () => await getProject('default', ns), {
        timeoutMs: 30_000,
        what: `AppProject ${ns}/default`,
      });
      assert.deepEqual(p.spec, {
        sourceRepos: ['*'],
        destinations: [{ server: '*', namespace: '*' }],
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      });
      assert.match(op.tail(50), /Created the built-in AppProject default/);
    } finally {
      await op.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an invalid project: a condition naming the field, InvalidSpecError on its app, nothing applied until fixed', async () => {
    const ns = uniqueName('proj-invalid');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'plain'));
    const sha = await repo.headSha();
    const project = uniqueName('invalid');
    await createProject(project, {
      sourceRepos: ['*'],
      sourceNamespaces: [ns],
      // A deny of every namespace: Argo CD refuses the project ("namespace has an invalid format, '!*'").
      destinations: [{ server: SERVER, namespace: '!*' }],
    });
    const p = await waitForProject(project, (x) => !!condition(x, 'InvalidSpecError'), 'InvalidSpecError');
    assert.match(
      condition(p, 'InvalidSpecError')?.message ?? '',
      /spec\.destinations\[0\]\.namespace: namespace has an invalid format, '!\*'/,
    );
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const app = await waitForApp(
      ns,
      'app',
      (a) => !!condition(a, 'InvalidSpecError'),
      'InvalidSpecError of the project',
    );
    assert.match(
      condition(app, 'InvalidSpecError')?.message ?? '',
      new RegExp(`project ${project} is invalid: spec\\.destinations\\[0\\]\\.namespace`),
    );
    // A refresh is a full reconcile: the annotation's removal shows it ran, and still nothing is applied.
    await refreshApp(ns, 'app');
    await waitForApp(
      ns,
      'app',
      (a) => !a.metadata.annotations?.['argocd.argoproj.io/refresh'],
      'refresh handled',
    );
    assert.equal(await getObject(core(ns, 'configmaps', 'plain-config')), undefined, 'nothing applied');

    // Fixing the project syncs the app without waiting for the periodic refresh.
    const fixedAt = Date.now();
    await patchProject(project, { spec: { destinations: [{ server: SERVER, namespace: ns }] } });
    await waitForApp(
      ns,
      'app',
      (a) => a.status?.sync?.revision === sha && a.status.sync.status === 'Synced',
      'synced after the fix',
      30_000,
    );
    assert.ok(Date.now() - fixedAt < 30_000, 'well before the 120 s refresh');
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-config')), 'applied once the project is valid');
    await waitForProject(project, (x) => !condition(x, 'InvalidSpecError'), 'condition cleared');

    // Invalid again (a repeated source repository): the app's objects that git drops are not pruned.
    await patchProject(project, { spec: { sourceRepos: ['*', '*'] } });
    await waitForApp(
      ns,
      'app',
      (a) => /source repository '\*' already added/.test(condition(a, 'InvalidSpecError')?.message ?? ''),
      'InvalidSpecError again',
      20_000,
    );
    await repo.commit('drop the ConfigMap', (dir) => fs.rmSync(path.join(dir, 'configmap.yaml')));
    await refreshApp(ns, 'app');
    await waitForApp(
      ns,
      'app',
      (a) => !a.metadata.annotations?.['argocd.argoproj.io/refresh'],
      'refresh handled',
    );
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-config')), 'nothing pruned while invalid');
  });

  test('a tightened project stops its app within seconds, and the next git change is not applied', async () => {
    const ns = uniqueName('proj-tight');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'plain'));
    const sha = await repo.headSha();
    const project = uniqueName('tight');
    await createProject(project, {
      sourceRepos: ['*'],
      sourceNamespaces: [ns],
      destinations: [{ server: SERVER, namespace: ns }],
    });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    await waitForApp(
      ns,
      'app',
      (a) => a.status?.sync?.status === 'Synced' && a.status.sync.revision === sha,
      'first sync',
    );

    const tightenedAt = Date.now();
    await patchProject(project, {
      spec: { destinations: [{ server: SERVER, namespace: 'somewhere-else' }] },
    });
    const app = await waitForApp(
      ns,
      'app',
      (a) => !!condition(a, 'InvalidSpecError'),
      'refused by the tightened project',
      20_000,
    );
    const tookMs = Date.now() - tightenedAt;
    assert.match(
      condition(app, 'InvalidSpecError')?.message ?? '',
      /do not match any of the allowed destinations/,
    );
    assert.ok(tookMs < 20_000, `took ${tookMs} ms`);

    await repo.commit('change the greeting', (dir) => {
      const file = path.join(dir, 'configmap.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('greeting: hello', 'greeting: changed'));
    });
    await refreshApp(ns, 'app');
    await waitForApp(
      ns,
      'app',
      (a) => !a.metadata.annotations?.['argocd.argoproj.io/refresh'],
      'refresh handled',
    );
    const cm = (await getObject(core(ns, 'configmaps', 'plain-config'))) as { data?: Record<string, string> };
    assert.equal(cm?.data?.greeting, 'hello', 'the change after tightening is not applied');
    process.stdout.write(`# tightened project refused the app after ${tookMs} ms\n`);
  });

  test('a project used by an app is kept from deletion until the app is gone', async () => {
    const ns = uniqueName('proj-del');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'plain'));
    const project = uniqueName('guarded');
    await createProject(project, {
      sourceRepos: ['*'],
      sourceNamespaces: [ns],
      destinations: [{ server: SERVER, namespace: ns }],
    });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
    });
    await waitForProject(
      project,
      (p) => !!p?.metadata.finalizers?.includes('resources-finalizer.argocd.argoproj.io'),
      'finalizer while used',
    );
    await kube().request('DELETE', projectPath(project));
    const p = await waitForProject(project, (x) => !!condition(x, 'DeletionBlocked'), 'DeletionBlocked');
    assert.ok(p?.metadata.deletionTimestamp, 'deletion requested');
    assert.match(condition(p, 'DeletionBlocked')?.message ?? '', new RegExp(`${ns}/app`));
    // The app keeps working with its (deleting) project, as in Argo CD.
    assert.equal(condition(await getApp(ns, 'app'), 'InvalidSpecError'), undefined);

    await kube().request('DELETE', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/app`);
    await waitForProject(project, (x) => x === undefined, 'gone once its last app is gone');
  });

  test('an unused project is deleted at once, and fields capstan does not enforce are reported', async () => {
    const project = uniqueName('unused');
    await createProject(project, {
      sourceRepos: ['*'],
      destinations: [{ server: SERVER, namespace: '*' }],
      signatureKeys: [{ keyID: '4AEE18F83AFDEB23' }],
    });
    const p = await waitForProject(project, (x) => !!condition(x, 'UnsupportedFields'), 'UnsupportedFields');
    assert.match(condition(p, 'UnsupportedFields')?.message ?? '', /spec\.signatureKeys/);
    assert.ok(!p?.metadata.finalizers?.length, 'no finalizer on an unused project');
    await kube().request('DELETE', projectPath(project));
    await waitForProject(project, (x) => x === undefined, 'deleted');
  });
});
