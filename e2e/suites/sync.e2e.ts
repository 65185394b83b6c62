/**
 * Sync mechanics: a CRD and its custom resource in the same sync; a manual sync through the top-level
 * `operation` field, cleared when done and recorded in `operationState` and `history`; sync options.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { ROOT } from '../operator';
import {
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
import { waitFor } from '../harness/wait';

describe('sync', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('a CRD and its custom resource in one sync: the CRD is established first', async () => {
    const ns = uniqueName('crd');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(ROOT, 'e2e', 'fixtures', 'crd'));
    const sha = await repo.headSha();
    await createApp(ns, 'widgets', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const app = await waitForApp(ns, 'widgets', syncedAt(sha), `Synced at ${sha}`);
    const widget = await getObject(`/apis/e2e.capstan.dev/v1/namespaces/${ns}/widgets/big`);
    assert.deepEqual(widget?.spec, { size: 42 });
    assert.deepEqual((app.status?.resources ?? []).map((r) => `${r.kind}:${r.status}`).sort(), [
      'CustomResourceDefinition:Synced',
      'Widget:Synced',
    ]);
  });

  test('a manual sync via operation.sync applies, clears the operation and records history', async () => {
    const ns = uniqueName('manual');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(ROOT, 'e2e', 'fixtures', 'apps-child'));
    const sha = await repo.headSha();
    await createApp(ns, 'manual', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
    });
    await waitForApp(
      ns,
      'manual',
      (a) => a.status?.sync?.status === 'OutOfSync',
      'OutOfSync without automated sync',
    );
    // One more whole reconcile after the verdict: still nothing applied without a sync.
    await refreshAndSettle(ns, 'manual');
    assert.equal(
      await getObject(core(ns, 'configmaps', 'child-config')),
      undefined,
      'nothing applied without a sync',
    );
    await patchApp(ns, 'manual', {
      operation: { sync: { revision: 'main', prune: true }, initiatedBy: { username: 'e2e' } },
    });
    const app = await waitForApp(
      ns,
      'manual',
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced by the operation',
    );
    assert.ok(await getObject(core(ns, 'configmaps', 'child-config')));
    assert.equal(app.status?.history?.length, 1);
    assert.equal(app.status?.history?.[0].revision, sha);
    // Events are sent in the background after the status write (kube/events.ts): wait for them.
    const reasonsOf = async () => {
      const events = await kube().request<{
        items: Array<{ reason: string; type: string; involvedObject: { name: string } }>;
      }>('GET', `/api/v1/namespaces/${ns}/events`);
      return events.items
        .filter((e) => e.involvedObject.name === 'manual')
        .map((e) => `${e.type}/${e.reason}`);
    };
    await waitFor(
      async () => {
        const r = await reasonsOf();
        return r.includes('Normal/OperationStarted') && r.includes('Normal/OperationCompleted') && r;
      },
      { timeoutMs: 15_000, what: 'the OperationStarted and OperationCompleted events' },
    );
    const after = await getApp(ns, 'manual');
    assert.equal((after as unknown as { operation?: unknown }).operation, undefined, 'operation cleared');
  });
});

describe('sync options', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('CreateNamespace with managedNamespaceMetadata, Prune=false, Replace=true', async () => {
    const ns = uniqueName('options');
    const target = `${ns}-target`;
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(ROOT, 'e2e', 'fixtures', 'options'));
    const sha = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: target },
      syncPolicy: {
        automated: { prune: true },
        syncOptions: ['CreateNamespace=true'],
        managedNamespaceMetadata: { labels: { team: 'payments' } },
      },
    });
    await waitForApp(ns, 'app', syncedAt(sha), 'Synced');
    const created = await getObject(`/api/v1/namespaces/${target}`);
    assert.equal(created?.metadata.labels?.team, 'payments');
    assert.ok(await getObject(core(target, 'configmaps', 'replaced')), 'Replace=true created the object');
    const next = await repo.commit('remove keep-me', (dir) => fs.rmSync(path.join(dir, 'keep.yaml')));
    await refreshApp(ns, 'app');
    const app = await waitForApp(
      ns,
      'app',
      (a) => a.status?.sync?.revision === next && a.status.operationState?.phase === 'Succeeded',
      'second sync',
    );
    const line = (
      app.status?.operationState?.syncResult as { resources?: Array<{ name: string; status: string }> }
    ).resources?.find((r) => r.name === 'keep-me');
    assert.equal(line?.status, 'PruneSkipped');
    assert.ok(await getObject(core(target, 'configmaps', 'keep-me')), 'Prune=false keeps the object');
  });

  test('an object tracked by another app is reported SharedResourceWarning; FailOnSharedResource fails the sync', async () => {
    const ns = uniqueName('shared');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(ROOT, 'e2e', 'fixtures', 'options'));
    const sha = await repo.headSha();
    const spec = (syncOptions: string[]) => ({
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.', directory: { include: 'shared.yaml' } },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {}, syncOptions },
    });
    await createApp(ns, 'first', spec([]));
    await waitForApp(ns, 'first', syncedAt(sha), 'first Synced');
    await createApp(ns, 'second', spec(['FailOnSharedResource=true']));
    const second = await waitForApp(
      ns,
      'second',
      (a) => a.status?.operationState?.phase === 'Failed',
      'second fails',
    );
    assert.match(second.status?.operationState?.message ?? '', /FailOnSharedResource/);
    assert.ok(second.status?.conditions?.some((c) => c.type === 'SharedResourceWarning'));
    const cm = await getObject(core(ns, 'configmaps', 'shared'));
    assert.equal(
      cm?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
      `${ns}_first:/ConfigMap:${ns}/shared`,
      'not taken over',
    );
  });
});
