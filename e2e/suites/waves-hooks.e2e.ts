/**
 * Sync waves and hooks on the real control plane (kwok runs pods, so Deployments become Available and
 * hook Jobs complete or fail for real).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitServer, GitServer } from '../harness/gitserver';
import { appFromFixture, apps, AppObject, core, getObject, kube, syncedAt, waitForApp } from './lib';

type ResultLine = {
  kind: string;
  name: string;
  status?: string;
  hookPhase?: string;
  hookType?: string;
  syncPhase?: string;
  message?: string;
};
const results = (a: AppObject): ResultLine[] =>
  ((a.status?.operationState?.syncResult as { resources?: ResultLine[] } | undefined)?.resources ??
    []) as ResultLine[];

describe('waves and hooks', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  const deploy = (prefix: string, fixture: string, source: Record<string, unknown> = {}) =>
    appFromFixture(git, { prefix, fixture, source, spec: { syncPolicy: { automated: { prune: true } } } });

  test('each wave starts only after the previous wave is healthy', async () => {
    const { ns, sha } = await deploy('waves', 'waves');
    const app = await waitForApp(
      ns,
      'app',
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced',
    );
    const order = results(app).map((r) => `${r.kind}/${r.name}`);
    assert.deepEqual(order, [
      'ServiceAccount/wave-minus-one',
      'ConfigMap/wave-zero',
      'Deployment/wave-one',
      'ConfigMap/wave-two',
    ]);
    const deployment = await getObject(apps(ns, 'deployments', 'wave-one'));
    const available = (
      (
        deployment?.status as {
          conditions?: Array<{ type: string; status: string; lastTransitionTime: string }>;
        }
      ).conditions ?? []
    ).find((c) => c.type === 'Available' && c.status === 'True');
    assert.ok(available, 'the wave-1 Deployment became Available');
    const wave2 = await getObject(core(ns, 'configmaps', 'wave-two'));
    const wave0 = await getObject(core(ns, 'configmaps', 'wave-zero'));
    // Timestamps have one-second resolution: wave 2 is not created before wave 1 is Available.
    assert.ok(
      Date.parse(wave2!.metadata.creationTimestamp!) >= Date.parse(available.lastTransitionTime),
      'wave 2 after wave 1 healthy',
    );
    assert.ok(
      Date.parse(wave0!.metadata.creationTimestamp!) <= Date.parse(deployment!.metadata.creationTimestamp!),
    );
    assert.equal(app.status?.health?.status, 'Healthy');
  });

  test('PreSync and PostSync hooks run in order and HookSucceeded deletes them', async () => {
    const { ns, sha } = await deploy('hooks', 'hooks');
    const app = await waitForApp(
      ns,
      'app',
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced',
    );
    const lines = results(app);
    const idx = (pred: (r: ResultLine) => boolean) => lines.findIndex(pred);
    const pre = idx((r) => r.name === 'pre' && r.hookType === 'PreSync');
    const main = idx((r) => r.kind === 'ConfigMap' && r.name === 'main');
    const post = idx((r) => r.name.startsWith('post-') && r.hookType === 'PostSync');
    assert.ok(pre >= 0 && main > pre && post > main, `order pre < main < post: ${JSON.stringify(lines)}`);
    assert.equal(lines[pre].hookPhase, 'Succeeded');
    assert.equal(lines[post].hookPhase, 'Succeeded');
    assert.equal(lines[pre].syncPhase, 'PreSync');
    assert.equal(lines[post].syncPhase, 'PostSync');
    const jobs = await kube().request<{ items: unknown[] }>('GET', `/apis/batch/v1/namespaces/${ns}/jobs`);
    for (let i = 0; i < 40 && jobs.items.length; i++) {
      await sleep(250);
      jobs.items = (
        await kube().request<{ items: unknown[] }>('GET', `/apis/batch/v1/namespaces/${ns}/jobs`)
      ).items;
    }
    assert.equal(jobs.items.length, 0, 'hook Jobs deleted after success');
    assert.deepEqual(
      (app.status?.resources ?? []).map((r) => `${r.kind}/${r.name}`),
      ['ConfigMap/main'],
      'hooks are not app resources',
    );
  });

  test('a failing PreSync hook fails the sync, runs SyncFail hooks and applies nothing of the Sync phase', async () => {
    const { ns } = await deploy('hookfail', 'hooks-fail');
    const app = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Failed',
      'sync Failed',
      90_000,
    );
    assert.match(app.status?.operationState?.message ?? '', /PreSync hook Job\/pre-fails failed/);
    const pre = results(app).find((r) => r.name === 'pre-fails');
    assert.equal(pre?.hookPhase, 'Failed');
    assert.equal(await getObject(core(ns, 'configmaps', 'main')), undefined, 'Sync phase not applied');
    assert.ok(await getObject(core(ns, 'configmaps', 'sync-failed-marker')), 'SyncFail hook ran');
  });

  test('Helm pre-install and post-install hooks map to PreSync and PostSync; test hooks are left out', async () => {
    const { ns, sha } = await deploy('helmhooks', 'helm-hooks', { helm: {} });
    const app = await waitForApp(
      ns,
      'app',
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced',
    );
    const lines = results(app);
    const pre = lines.findIndex((r) => r.name === 'app-pre');
    const main = lines.findIndex((r) => r.name === 'app-main');
    const post = lines.findIndex((r) => r.name === 'app-post');
    assert.ok(pre >= 0 && main > pre && post > main, JSON.stringify(lines));
    assert.equal(lines[pre].hookType, 'PreSync');
    assert.equal(lines[post].hookType, 'PostSync');
    assert.ok(
      await getObject(core(ns, 'configmaps', 'app-post')),
      'post-install hook object exists (no delete policy)',
    );
    assert.equal(await getObject(core(ns, 'pods', 'app-test')), undefined, 'helm test hook not applied');
  });
});
