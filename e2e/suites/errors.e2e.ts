/**
 * Bad input loses nothing: an invalid Application gets InvalidSpecError and nothing is applied; an
 * unreachable repository gets ComparisonError and nothing running is pruned.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { ROOT } from '../operator';
import {
  apps,
  core,
  createApp,
  createNamespace,
  getObject,
  patchApp,
  refreshAndSettle,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

const PLAIN = path.join(ROOT, 'e2e', 'fixtures', 'plain');

describe('errors', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('an invalid Application gets InvalidSpecError naming the field, and nothing is applied', async () => {
    const ns = uniqueName('invalid');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, PLAIN);
    const source = { repoURL: repo.url, targetRevision: 'main', path: '.' };
    // Both source and sources: the CRD schema cannot forbid it, capstan's validation does (as Argo CD).
    await createApp(ns, 'bad', {
      project: 'default',
      source,
      sources: [source],
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const app = await waitForApp(
      ns,
      'bad',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'InvalidSpecError'),
      'InvalidSpecError',
    );
    const cond = app.status?.conditions?.find((c) => c.type === 'InvalidSpecError');
    assert.match(cond?.message ?? '', /spec: set "source" or "sources", not both/);
    assert.equal(app.status?.sync?.status, 'Unknown');
    // One more whole reconcile after the first verdict: still nothing applied.
    await refreshAndSettle(ns, 'bad');
    assert.equal(await getObject(core(ns, 'configmaps', 'plain-config')), undefined, 'nothing applied');
  });

  test('an unreachable repository gets ComparisonError and nothing running is pruned', async () => {
    const ns = uniqueName('unreachable');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, PLAIN);
    const sha = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.', directory: { recurse: true } },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    });
    await waitForApp(ns, 'app', syncedAt(sha), 'first sync');
    await patchApp(ns, 'app', { spec: { source: { repoURL: 'git://127.0.0.1:1/nowhere.git' } } });
    const app = await waitForApp(
      ns,
      'app',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      'ComparisonError',
    );
    assert.match(
      app.status?.conditions?.find((c) => c.type === 'ComparisonError')?.message ?? '',
      /nowhere\.git/,
    );
    assert.equal(app.status?.sync?.status, 'Unknown');
    // One more whole reconcile against the unreachable repository: still nothing pruned.
    await refreshAndSettle(ns, 'app');
    assert.ok(await getObject(apps(ns, 'deployments', 'plain-web')), 'the Deployment still runs');
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-config')), 'the ConfigMap is still there');
  });
});
