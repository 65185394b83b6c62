/**
 * A Helm chart stored in git, rendered by the real helm binary: a value file relative to the chart
 * path and a `--set` parameter both show in the applied objects; release name defaults to the app
 * name and the release namespace is the destination namespace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { ROOT } from '../operator';
import { apps, core, createApp, createNamespace, getObject, syncedAt, uniqueName, waitForApp } from './lib';

describe('Helm Application', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('value file and parameter are visible in the rendered objects', async () => {
    const ns = uniqueName('helm');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(ROOT, 'e2e', 'fixtures'));
    const sha = await repo.headSha();
    await createApp(ns, 'hello', {
      project: 'default',
      source: {
        repoURL: repo.url,
        targetRevision: 'HEAD',
        path: 'chart',
        helm: {
          valueFiles: ['values-prod.yaml'],
          parameters: [
            { name: 'color', value: 'red' },
            { name: 'replicas', value: '2' },
          ],
        },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const app = await waitForApp(ns, 'hello', syncedAt(sha), `Synced at ${sha}`);
    assert.equal((app.status as Record<string, unknown>).sourceType, 'Helm');
    const cm = await getObject(core(ns, 'configmaps', 'hello-config'));
    assert.deepEqual(cm?.data, { greeting: 'from-values-file', color: 'red', release: 'hello' });
    const deploy = await getObject(apps(ns, 'deployments', 'hello-web'));
    assert.equal((deploy?.spec as { replicas: number }).replicas, 2);
    assert.equal(
      deploy?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
      `${ns}_hello:apps/Deployment:${ns}/hello-web`,
    );
  });

  test('a value file outside the repository is refused with ComparisonError', async () => {
    const ns = uniqueName('helm-escape');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(ROOT, 'e2e', 'fixtures'));
    await createApp(ns, 'escape', {
      project: 'default',
      source: {
        repoURL: repo.url,
        targetRevision: 'HEAD',
        path: 'chart',
        helm: { valueFiles: ['../../../../etc/passwd'] },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    const app = await waitForApp(
      ns,
      'escape',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      'ComparisonError',
    );
    const cond = app.status?.conditions?.find((c) => c.type === 'ComparisonError');
    assert.match(cond?.message ?? '', /outside the repository/);
    assert.equal(await getObject(core(ns, 'configmaps', 'escape-config')), undefined, 'nothing applied');
  });
});
