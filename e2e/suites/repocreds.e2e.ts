/**
 * Repository credentials from Secrets, as Argo CD declares them: a repository behind Basic auth is
 * refused until a `repo-creds` Secret in capstan's namespace names its URL prefix, and then syncs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { HttpGitServer, startHttpGit } from '../harness/httpgit';
import {
  FIXTURES,
  controllerNamespace,
  core,
  createApp,
  createNamespace,
  getObject,
  kube,
  refreshApp,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

describe('repository credentials', () => {
  let git: GitServer;
  let http: HttpGitServer;
  before(async () => {
    git = await startGitServer();
    http = await startHttpGit({
      root: path.join(git.dir, 'repos'),
      username: 'deploy',
      password: 'e2e-token',
    });
  });
  after(async () => {
    await http?.stop();
    await git?.stop();
  });

  test('a private repository syncs once a repo-creds Secret covers its URL', async () => {
    const ns = uniqueName('creds');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'apps-child'));
    const sha = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: `${http.baseUrl}/${ns}.git`, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    await waitForApp(
      ns,
      'app',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      'refused without credentials',
    );
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    await kube().request('POST', `/api/v1/namespaces/${controllerNamespace()}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${ns}-creds`, labels: { 'argocd.argoproj.io/secret-type': 'repo-creds' } },
        data: { url: b64(`${http.baseUrl}/${ns}`), username: b64('deploy'), password: b64('e2e-token') },
      },
    });
    await refreshApp(ns, 'app');
    const app = await waitForApp(ns, 'app', syncedAt(sha), 'Synced with the credentials');
    assert.equal(
      app.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      false,
    );
    assert.ok(await getObject(core(ns, 'configmaps', 'child-config')));
  });
});
