/**
 * Self-heal (watch-triggered, latency printed), retry of a failed sync once git is fixed,
 * ignoreDifferences, history and rollback, and cascade deletion with and without the finalizer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitServer, GitServer } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import { ROOT } from '../operator';
import {
  appFromFixture,
  apps,
  core,
  createApp,
  createNamespace,
  getApp,
  getObject,
  kube,
  patchApp,
  refreshAndSettle,
  refreshApp,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

const FIXTURES = path.join(ROOT, 'e2e', 'fixtures');
const appPath = (ns: string, name: string) =>
  `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/${name}`;

describe('self-heal, retry, ignoreDifferences, history, deletion', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  /** An app on a fixture with automated sync, prune and self-heal (unless `spec` says otherwise), synced once. */
  const deploy = async (
    prefix: string,
    fixture: string,
    spec: Record<string, unknown> = {},
    metadata: Record<string, unknown> = {},
  ) => {
    const fx = await appFromFixture(git, {
      prefix,
      fixture,
      spec: { syncPolicy: { automated: { prune: true, selfHeal: true } }, ...spec },
      metadata,
    });
    await waitForApp(fx.ns, 'app', syncedAt(fx.sha), 'first sync');
    return fx;
  };

  test('self-heal restores a scaled Deployment and a deleted ConfigMap within seconds', async () => {
    const { ns } = await deploy('heal', 'selfheal');
    let started = Date.now();
    await kube().request('PATCH', apps(ns, 'deployments', 'healed'), {
      body: { spec: { replicas: 5 } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor(
      async () =>
        ((await getObject(apps(ns, 'deployments', 'healed')))?.spec as { replicas: number }).replicas === 2,
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: 'replicas restored to 2',
      },
    );
    const scaleMs = Date.now() - started;
    // Argo CD's self-heal backoff spaces heals of the same app 2 s apart; let it pass so that the
    // second measurement is the latency of a fresh drift, not of the backoff.
    await sleep(2500);
    started = Date.now();
    await kube().request('DELETE', core(ns, 'configmaps', 'healed-config'));
    await waitFor(async () => !!(await getObject(core(ns, 'configmaps', 'healed-config'))), {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: 'ConfigMap recreated',
    });
    const deleteMs = Date.now() - started;
    console.log(
      `self-heal latency: scaled Deployment ${scaleMs} ms, deleted ConfigMap ${deleteMs} ms (goal < 2000 ms)`,
    );
    assert.ok(scaleMs < 10_000 && deleteMs < 10_000, 'healed by the watch, not the 120 s poll');
  });

  test('ignoreDifferences on /spec/replicas keeps the app Synced while another writer scales', async () => {
    const { ns } = await deploy('ignore', 'selfheal', {
      ignoreDifferences: [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }],
    });
    await kube().request('PATCH', apps(ns, 'deployments', 'healed'), {
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    // A whole reconcile that read the scaled Deployment: still Synced, nothing reverted.
    const app = await refreshAndSettle(ns, 'app');
    assert.equal(app.status?.sync?.status, 'Synced');
    assert.equal(
      ((await getObject(apps(ns, 'deployments', 'healed')))?.spec as { replicas: number }).replicas,
      4,
      'not reverted',
    );
  });

  test('a sync that fails for a missing CRD succeeds once the CRD is added in git', async () => {
    const ns = uniqueName('retry');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'needs-crd'));
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: {
        automated: { prune: true },
        retry: { limit: 3, backoff: { duration: '1s', factor: 2, maxDuration: '5s' } },
      },
    });
    await waitForApp(ns, 'app', (a) => a.status?.operationState?.phase === 'Failed', 'first sync fails');
    const crd = fs
      .readFileSync(path.join(FIXTURES, 'crd', 'crd.yaml'), 'utf8')
      .replaceAll('widget', 'gadget')
      .replaceAll('Widget', 'Gadget');
    const next = await repo.commit('add the CRD', (dir) => fs.writeFileSync(path.join(dir, 'crd.yaml'), crd));
    await refreshApp(ns, 'app');
    await waitForApp(
      ns,
      'app',
      (a) => syncedAt(next)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced after the fix',
      90_000,
    );
    assert.ok(await getObject(`/apis/e2e.capstan.dev/v1/namespaces/${ns}/gadgets/small`));
  });

  test('a failed automated sync is retried per the retry policy until it succeeds, without a new commit', async () => {
    const ns = uniqueName('retrypolicy');
    const late = `${ns}-late`;
    await createNamespace(ns);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retry-'));
    // The ConfigMap names a namespace that does not exist yet: the apply fails until the test creates it.
    fs.writeFileSync(
      path.join(dir, 'cm.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: ${late}\ndata:\n  k: v\n`,
    );
    const repo = await git.createRepo(ns, dir);
    const sha = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: {
        automated: {},
        retry: { limit: -1, backoff: { duration: '1s', factor: 2, maxDuration: '4s' } },
      },
    });
    await waitForApp(ns, 'app', (a) => a.status?.operationState?.phase === 'Failed', 'first attempt fails');
    await createNamespace(late);
    const app = await waitForApp(
      ns,
      'app',
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'a retry succeeds',
      30_000,
    );
    assert.ok(
      ((app.status?.operationState as { retryCount?: number }).retryCount ?? 0) >= 1,
      'succeeded on a retry',
    );
    assert.ok(await getObject(core(late, 'configmaps', 'late')));
  });

  test('history records each sync; a rollback is refused under automated sync and re-applies a past commit without it', async () => {
    const {
      ns,
      repo,
      sha: first,
    } = await deploy('history', 'selfheal', { syncPolicy: { automated: { prune: true } } });
    const second = await repo.commit('change the config', (dir) => {
      const f = path.join(dir, 'configmap.yaml');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('from-git', 'second-commit'));
    });
    await refreshApp(ns, 'app');
    let app = await waitForApp(
      ns,
      'app',
      (a) => syncedAt(second)(a) && (a.status?.history?.length ?? 0) >= 2,
      'second sync in history',
    );
    assert.deepEqual(
      app.status?.history?.map((h) => h.revision),
      [first, second],
    );
    await patchApp(ns, 'app', { operation: { sync: { revision: first }, initiatedBy: { username: 'e2e' } } });
    app = await waitForApp(
      ns,
      'app',
      (a) => /auto-sync is enabled/.test(a.status?.operationState?.message ?? ''),
      'rollback refused',
    );
    assert.equal(app.status?.operationState?.phase, 'Failed');
    await patchApp(ns, 'app', { spec: { syncPolicy: { automated: null } } });
    // Rollback to history id 0, as `argocd app rollback app 0` writes it: that entry's revision and source.
    const entry = app.status?.history?.find((h) => h.id === 0) as { revision?: string; source?: unknown };
    await patchApp(ns, 'app', {
      operation: {
        sync: { revision: entry.revision, source: entry.source },
        initiatedBy: { username: 'e2e' },
      },
    });
    app = await waitForApp(
      ns,
      'app',
      (a) =>
        a.status?.history?.length === 3 &&
        a.status.operationState?.phase === 'Succeeded' &&
        // The outcome and the comparison after it are two status writes: wait for the second.
        a.status.sync?.status === 'OutOfSync',
      'rolled back, and compared after it',
    );
    assert.equal(app.status?.history?.[2].revision, first);
    const cm = await getObject(core(ns, 'configmaps', 'healed-config'));
    assert.equal((cm?.data as Record<string, string>).key, 'from-git', 'the first commit is live again');
    assert.equal(app.status?.sync?.status, 'OutOfSync', 'git (main) is ahead of the rollback');
  });

  test('deleting an app with the resources finalizer deletes its resources; without it they stay', async () => {
    const withFinalizer = await deploy(
      'cascade',
      'selfheal',
      {},
      { finalizers: ['resources-finalizer.argocd.argoproj.io'] },
    );
    await kube().request('DELETE', appPath(withFinalizer.ns, 'app'));
    await waitFor(async () => !(await getObject(appPath(withFinalizer.ns, 'app'))), {
      timeoutMs: 60_000,
      what: 'app gone',
    });
    assert.equal(
      await getObject(apps(withFinalizer.ns, 'deployments', 'healed')),
      undefined,
      'Deployment deleted',
    );
    assert.equal(
      await getObject(core(withFinalizer.ns, 'configmaps', 'healed-config')),
      undefined,
      'ConfigMap deleted',
    );

    const without = await deploy('orphan', 'selfheal');
    await kube().request('DELETE', appPath(without.ns, 'app'));
    await waitFor(async () => !(await getObject(appPath(without.ns, 'app'))), {
      timeoutMs: 30_000,
      what: 'app gone',
    });
    await sleep(1500);
    assert.ok(await getObject(apps(without.ns, 'deployments', 'healed')), 'Deployment kept');
    assert.ok(await getObject(core(without.ns, 'configmaps', 'healed-config')), 'ConfigMap kept');
  });

  test('PostDelete hooks run after the resources are deleted with the app', async () => {
    const { ns } = await deploy(
      'postdelete',
      'postdelete',
      {},
      { finalizers: ['resources-finalizer.argocd.argoproj.io'] },
    );
    await waitForApp(
      ns,
      'app',
      (a) => (a.metadata.finalizers ?? []).includes('post-delete-finalizer.argocd.argoproj.io'),
      'post-delete finalizer added',
    );
    assert.equal(
      await getObject(core(ns, 'configmaps', 'cleanup-done')),
      undefined,
      'the hook does not run on sync',
    );
    await kube().request('DELETE', appPath(ns, 'app'));
    await waitFor(async () => !(await getObject(appPath(ns, 'app'))), {
      timeoutMs: 60_000,
      what: 'app gone',
    });
    assert.equal(await getObject(core(ns, 'configmaps', 'main')), undefined, 'resources deleted');
    assert.ok(await getObject(core(ns, 'configmaps', 'cleanup-done')), 'PostDelete hook ran');
  });

  test('skip-reconcile pauses an app', async () => {
    const { ns, repo } = await deploy('skip', 'selfheal');
    await patchApp(ns, 'app', { metadata: { annotations: { 'argocd.argoproj.io/skip-reconcile': 'true' } } });
    const next = await repo.commit('change while paused', (dir) => {
      const f = path.join(dir, 'configmap.yaml');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('from-git', 'paused'));
    });
    await refreshApp(ns, 'app');
    await sleep(3000);
    assert.notEqual((await getApp(ns, 'app')).status?.sync?.revision, next, 'not reconciled while paused');
    await patchApp(ns, 'app', { metadata: { annotations: { 'argocd.argoproj.io/skip-reconcile': null } } });
    await refreshApp(ns, 'app');
    await waitForApp(ns, 'app', syncedAt(next), 'reconciled again');
  });
});
