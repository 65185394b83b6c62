/**
 * A plain-manifest Application: recursive directory rendering, tracking, Synced at the commit SHA, new
 * commits after a refresh annotation, pruning with and without `prune`, and drift reported OutOfSync.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, GitServer, GitRepo } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import { appFromFixture, apps, core, getApp, getObject, kube, refreshApp, syncedAt, waitForApp } from './lib';

describe('directory Application', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  const newApp = (
    prefix: string,
    syncPolicy: Record<string, unknown>,
    directory: Record<string, unknown> = { recurse: true },
  ) =>
    appFromFixture(git, {
      prefix,
      fixture: 'plain',
      name: 'plain',
      source: { directory },
      spec: { syncPolicy },
    });

  test('a recursive directory is applied with tracking, and the app is Synced at the commit SHA', async () => {
    const { ns, sha } = await newApp('dir', { automated: {} });
    const app = await waitForApp(ns, 'plain', syncedAt(sha), `Synced at ${sha}`);
    const deploy = await getObject(apps(ns, 'deployments', 'plain-web'));
    assert.ok(deploy, 'the nested Deployment exists');
    assert.equal(
      deploy.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
      `${ns}_plain:apps/Deployment:${ns}/plain-web`,
    );
    assert.equal(deploy.metadata.labels?.['capstan.dev/managed'], 'true');
    const svc = await getObject(core(ns, 'services', 'plain-svc'));
    assert.equal(
      svc?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
      `${ns}_plain:/Service:${ns}/plain-svc`,
    );
    for (const cm of ['plain-config', 'plain-a', 'plain-b'])
      assert.ok(await getObject(core(ns, 'configmaps', cm)), cm);
    const kinds = (app.status?.resources ?? []).map((r) => `${r.kind}/${r.name}:${r.status}`).sort();
    assert.deepEqual(kinds, [
      'ConfigMap/plain-a:Synced',
      'ConfigMap/plain-b:Synced',
      'ConfigMap/plain-config:Synced',
      'Deployment/plain-web:Synced',
      'Service/plain-svc:Synced',
    ]);
    assert.equal(app.status?.operationState?.phase, 'Succeeded');
    assert.equal(app.status?.operationState?.syncResult?.revision, sha);
    assert.equal(app.status?.history?.length, 1);
  });

  test('without recurse only the top directory is rendered', async () => {
    const { ns, sha } = await newApp('flat', { automated: {} }, {});
    await waitForApp(ns, 'plain', syncedAt(sha), 'Synced');
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-config')));
    assert.equal(
      await getObject(apps(ns, 'deployments', 'plain-web')),
      undefined,
      'nested files are not rendered',
    );
  });

  test('a new commit is applied after a refresh annotation, without waiting for the poll', async () => {
    const { ns, repo, sha } = await newApp('refresh', { automated: {} });
    await waitForApp(ns, 'plain', syncedAt(sha), 'first sync');
    const next = await repo.commit('change greeting', (dir) => {
      const f = path.join(dir, 'configmap.yaml');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('greeting: hello', 'greeting: bonjour'));
    });
    const started = Date.now();
    await refreshApp(ns, 'plain');
    const app = await waitForApp(ns, 'plain', syncedAt(next), `Synced at ${next}`, 30_000);
    const cm = await getObject(core(ns, 'configmaps', 'plain-config'));
    assert.equal((cm?.data as Record<string, string>).greeting, 'bonjour');
    assert.ok(Date.now() - started < 30_000, 'well before the 120 s poll');
    assert.equal(
      app.metadata.annotations?.['argocd.argoproj.io/refresh'],
      undefined,
      'the refresh annotation is removed',
    );
  });

  const removeMulti = async (repo: GitRepo) =>
    repo.commit('remove multi.yaml', (dir) => fs.rmSync(path.join(dir, 'multi.yaml')));

  test('a file removed from git is pruned with prune: true', async () => {
    const { ns, repo, sha } = await newApp('prune', { automated: { prune: true } });
    await waitForApp(ns, 'plain', syncedAt(sha), 'first sync');
    const next = await removeMulti(repo);
    await refreshApp(ns, 'plain');
    await waitForApp(ns, 'plain', syncedAt(next), 'Synced after prune');
    await waitFor(
      async () =>
        !(await getObject(core(ns, 'configmaps', 'plain-a'))) &&
        !(await getObject(core(ns, 'configmaps', 'plain-b'))),
      {
        timeoutMs: 30_000,
        what: 'plain-a and plain-b to be deleted',
      },
    );
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-config')), 'what is still in git stays');
  });

  test('without prune, a removed file stays and is reported requiresPruning', async () => {
    const { ns, repo, sha } = await newApp('noprune', { automated: { prune: false } });
    await waitForApp(ns, 'plain', syncedAt(sha), 'first sync');
    const next = await removeMulti(repo);
    await refreshApp(ns, 'plain');
    const app = await waitForApp(
      ns,
      'plain',
      (a) =>
        a.status?.sync?.revision === next &&
        !!a.status.resources?.some((r) => r.name === 'plain-a' && r.requiresPruning),
      'plain-a reported requiresPruning',
    );
    assert.equal(app.status?.sync?.status, 'OutOfSync');
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-a')), 'plain-a is kept');
    assert.ok(await getObject(core(ns, 'configmaps', 'plain-b')), 'plain-b is kept');
  });

  test('an object edited by hand is reported OutOfSync (no self-heal)', async () => {
    const { ns, sha } = await newApp('drift', { automated: {} });
    await waitForApp(ns, 'plain', syncedAt(sha), 'first sync');
    await kube().request('PATCH', core(ns, 'configmaps', 'plain-config'), {
      body: { data: { greeting: 'edited by hand' } },
      contentType: 'application/merge-patch+json',
    });
    const app = await waitForApp(
      ns,
      'plain',
      (a) => a.status?.sync?.status === 'OutOfSync',
      'OutOfSync after the edit',
      30_000,
    );
    const res = app.status?.resources?.find((r) => r.name === 'plain-config');
    assert.equal(res?.status, 'OutOfSync');
    assert.equal(app.status?.resources?.find((r) => r.name === 'plain-a')?.status, 'Synced');
    const cm = await getObject(core(ns, 'configmaps', 'plain-config'));
    assert.equal(
      (cm?.data as Record<string, string>).greeting,
      'edited by hand',
      'without selfHeal the edit stays',
    );
    assert.equal((await getApp(ns, 'plain')).status?.history?.length, 1, 'no second sync ran');
  });
});
