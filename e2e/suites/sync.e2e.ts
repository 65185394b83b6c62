/**
 * Sync mechanics: a CRD and its custom resource in the same sync; a manual sync through the top-level
 * `operation` field, cleared when done and recorded in `operationState` and `history`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitServer, GitServer } from '../harness/gitserver';
import { ROOT } from '../operator';
import {
  core,
  createApp,
  createNamespace,
  getApp,
  getObject,
  patchApp,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

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
    await sleep(1000);
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
    const after = await getApp(ns, 'manual');
    assert.equal((after as unknown as { operation?: unknown }).operation, undefined, 'operation cleared');
  });
});
