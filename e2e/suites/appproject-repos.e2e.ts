/**
 * Project-scoped repositories (issue 8 §2, Argo CD's `project` key of a repository Secret): a private
 * repository whose Secret names project A is used by A's app, and is unusable by project B's app, also
 * when B names the full commit SHA that A's sync already put in capstan's shared clone cache (on the
 * code before, the Secret's project was ignored: B's app used A's credentials and synced, and then
 * also read the cached commit).
 *
 * Local repositories: under `--allow-local-repos` (a private control plane, the run's capstan has the
 * flag off) a `file://` repoURL is still refused until the app's project lists it explicitly in
 * `sourceRepos` (`*` does not count); then the app syncs (on the code before, the flag alone let it
 * sync under `*`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import {
  FaultEnv,
  createAppOn,
  createNamespaceOn,
  getObjectOn,
  startFaultEnv,
  waitForAppsOn,
} from './faults-lib';
import { HttpGitServer, startHttpGit } from '../harness/httpgit';
import {
  FIXTURES,
  controllerNamespace,
  core,
  createApp,
  createNamespace,
  getObject,
  kube,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

const b64 = (v: string) => Buffer.from(v).toString('base64');

/** An AppProject in capstan's namespace allowing every repository, apps from `appNs`, deploys to `dest`. */
async function createProject(name: string, appNs: string, dest: string): Promise<void> {
  await kube().request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${controllerNamespace()}/appprojects`, {
    body: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name },
      spec: {
        sourceRepos: ['*'],
        sourceNamespaces: [appNs],
        destinations: [{ server: 'https://kubernetes.default.svc', namespace: dest }],
      },
    },
  });
}

describe('project-scoped repository Secrets', () => {
  let git: GitServer;
  let http: HttpGitServer;
  const secrets: string[] = [];
  before(async () => {
    git = await startGitServer();
    http = await startHttpGit({
      root: path.join(git.dir, 'repos'),
      username: 'deploy',
      password: 'e2e-scoped-token',
    });
  });
  after(async () => {
    for (const s of secrets)
      await kube()
        .request('DELETE', `/api/v1/namespaces/${controllerNamespace()}/secrets/${s}`)
        .catch(() => undefined);
    await http?.stop();
    await git?.stop();
  });

  test("a repository Secret of project A serves A's app and is unusable by project B's app", async () => {
    const ns = uniqueName('scoped');
    const nsB = `${ns}-b`;
    await createNamespace(ns);
    await createNamespace(nsB);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'apps-child'));
    const sha = await repo.headSha();
    const url = `${http.baseUrl}/${ns}.git`;
    await createProject(`${ns}-a`, ns, ns);
    await createProject(`${ns}-b`, ns, nsB);
    secrets.push(`${ns}-repo`);
    await kube().request('POST', `/api/v1/namespaces/${controllerNamespace()}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${ns}-repo`, labels: { 'argocd.argoproj.io/secret-type': 'repository' } },
        data: {
          url: b64(url),
          username: b64('deploy'),
          password: b64('e2e-scoped-token'),
          project: b64(`${ns}-a`),
        },
      },
    });

    // A's app: the project's own Secret is used.
    await createApp(ns, 'own', {
      project: `${ns}-a`,
      source: { repoURL: url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    await waitForApp(ns, 'own', syncedAt(sha), "Synced with project A's repository Secret");
    assert.ok(await getObject(core(ns, 'configmaps', 'child-config')));

    // B's apps: by branch, and by the full SHA already in the shared clone cache.
    for (const [name, targetRevision] of [
      ['other', 'main'],
      ['other-sha', sha],
    ]) {
      await createApp(ns, name, {
        project: `${ns}-b`,
        source: { repoURL: url, targetRevision, path: '.' },
        destination: { server: 'https://kubernetes.default.svc', namespace: nsB },
        syncPolicy: { automated: {} },
      });
      const app = await waitForApp(
        ns,
        name,
        (a) => !!a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
        `refused for project B (${targetRevision})`,
      );
      const message = app.status?.conditions?.find((c) => c.type === 'ComparisonError')?.message ?? '';
      assert.match(message, /is scoped to another project/);
      assert.match(message, new RegExp(`project '${ns}-b'`));
      assert.ok(!message.includes('e2e-scoped-token'), 'no secret value in the condition');
      assert.notEqual(app.status?.sync?.status, 'Synced');
    }
    assert.equal(await getObject(core(nsB, 'configmaps', 'child-config')), undefined);
  });
});

describe('local repositories need the project to list them (--allow-local-repos)', () => {
  let env: FaultEnv;
  before(async () => {
    env = await startFaultEnv({ operatorArgs: ['--allow-local-repos'] });
  });
  after(async () => {
    await env?.stop();
  });

  test("a file:// repoURL is refused under sourceRepos '*' and syncs once the project lists it", async () => {
    const kube = env.kube;
    const cns = env.controllerNamespace;
    const ns = uniqueName('local');
    await createNamespaceOn(kube, ns);
    const repo = await env.git.createRepo(ns, path.join(FIXTURES, 'apps-child'));
    const sha = await repo.headSha();
    const projectPath = `/apis/argoproj.io/v1alpha1/namespaces/${cns}/appprojects/local`;
    await kube.request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${cns}/appprojects`, {
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: 'local' },
        spec: {
          sourceRepos: ['*'],
          destinations: [{ server: 'https://kubernetes.default.svc', namespace: ns }],
        },
      },
    });
    await createAppOn(kube, cns, 'local', {
      project: 'local',
      source: { repoURL: repo.fileUrl, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    const refused = await waitForAppsOn(
      kube,
      cns,
      ['local'],
      (a) => !!a.status?.conditions?.some((c) => c.type === 'InvalidSpecError'),
      { what: 'InvalidSpecError under sourceRepos *', timeoutMs: 60_000 },
    );
    const message = refused
      .get('local')!
      .status!.conditions!.find((c) => c.type === 'InvalidSpecError')!.message;
    assert.match(
      message,
      /spec\.source\.repoURL "file:\/\/.*" is a local repository and project 'local' does not list it in sourceRepos/,
    );
    assert.equal(await getObjectOn(kube, `/api/v1/namespaces/${ns}/configmaps/child-config`), undefined);

    // The platform admin lists the local repositories explicitly.
    const dir = repo.fileUrl.slice(0, repo.fileUrl.lastIndexOf('/'));
    await kube.request('PATCH', projectPath, {
      body: { spec: { sourceRepos: ['*', `${dir}/*`] } },
      contentType: 'application/merge-patch+json',
    });
    await waitForAppsOn(
      kube,
      cns,
      ['local'],
      (a) => a.status?.sync?.status === 'Synced' && a.status.sync.revision === sha,
      { what: 'Synced once the project lists the repository', timeoutMs: 60_000 },
    );
    assert.ok(await getObjectOn(kube, `/api/v1/namespaces/${ns}/configmaps/child-config`));
  });
});
