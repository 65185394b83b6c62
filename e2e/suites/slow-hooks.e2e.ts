/**
 * A sync never parks a worker (issue 10 §3): twelve Applications whose PreSync hook stays Running
 * (more than the run's 10 workers) and a thirteenth app whose drift is still reverted within a second,
 * several times over, while the twelve wait. Then the hooks complete and every held sync finishes.
 *
 * With a sync that ran to its end inside a queue worker and polled its hooks (capstan before the
 * state machine), the twelve operations held all ten workers and the thirteenth app's drift waited
 * for a hook to finish.
 */
import { after, before, describe, test } from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startGitServer, GitServer } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import {
  FIXTURES,
  type FixtureApp,
  appFromFixture,
  apps,
  core,
  createNamespace,
  getObject,
  kube,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';
import { createAppOn } from './faults-lib';

/** More apps with a held hook than the run's capstan has workers (`--concurrency`, default 10). */
const HELD = 12;
/** Apps whose drift is reverted (one drift each) while the hooks are held. */
const DRIFTS = 5;

type ResultLine = { kind: string; name: string; hookPhase?: string };
const lines = (a: { status?: { operationState?: { syncResult?: unknown } } }): ResultLine[] =>
  (a.status?.operationState?.syncResult as { resources?: ResultLine[] } | undefined)?.resources ?? [];

describe('twelve slow PreSync hooks do not delay a thirteenth app', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('drift of the thirteenth app is reverted within a second while twelve syncs wait at their hooks', async () => {
    // The apps whose drift is measured: one drift each, since Argo CD's self-heal backoff (which capstan
    // follows) spaces the heals of one app 2 s, 6 s, 18 s ... apart.
    const healed: FixtureApp[] = [];
    for (let i = 0; i < DRIFTS; i++) {
      const fx = await appFromFixture(git, {
        prefix: `slowhook-heal${i}`,
        fixture: 'selfheal',
        spec: { syncPolicy: { automated: { prune: true, selfHeal: true } } },
      });
      await waitForApp(fx.ns, 'app', syncedAt(fx.sha), 'first sync');
      healed.push(fx);
    }

    // Twelve namespaces, one repository: each app's automated sync starts with its PreSync hook.
    const ns = Array.from({ length: HELD }, () => uniqueName('slowhook'));
    const repo = await git.createRepo(uniqueName('slowhook-repo'), path.join(FIXTURES, 'slow-hook'));
    for (const n of ns) {
      await createNamespace(n);
      await createAppOn(kube(), n, 'app', {
        project: 'default',
        source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
        destination: { server: 'https://kubernetes.default.svc', namespace: n },
        syncPolicy: { automated: { prune: true } },
      });
    }
    for (const n of ns)
      await waitForApp(
        n,
        'app',
        (a) =>
          a.status?.operationState?.phase === 'Running' &&
          lines(a).some((l) => l.name === 'migrate' && l.hookPhase === 'Running'),
        'the sync waits at its PreSync hook',
        120_000,
      );

    const latencies: number[] = [];
    for (const [i, fx] of healed.entries()) {
      const startedAt = Date.now();
      await kube().request('PATCH', core(fx.ns, 'configmaps', 'healed-config'), {
        body: { data: { key: `drift-${i}` } },
        contentType: 'application/merge-patch+json',
      });
      await waitFor(
        async () =>
          ((await getObject(core(fx.ns, 'configmaps', 'healed-config')))?.data as Record<string, string>)
            ?.key === 'from-git',
        { timeoutMs: 20_000, intervalMs: 20, what: `drift of ${fx.ns} reverted` },
      );
      latencies.push(Date.now() - startedAt);
      // Still held: the twelve are Running at their hooks while the drift was reverted.
      const stillHeld = await kube().request<{ status?: { operationState?: { phase?: string } } }>(
        'GET',
        `/apis/argoproj.io/v1alpha1/namespaces/${ns[i % HELD]}/applications/app`,
      );
      assert.equal(stillHeld.status?.operationState?.phase, 'Running', 'the hooks are still held');
    }
    console.log(`slow hooks: drift reverted in ${latencies.join(', ')} ms while ${HELD} syncs waited`);
    for (const ms of latencies) assert.ok(ms < 1000, `drift reverted within 1 s (took ${ms} ms)`);

    // The hooks complete: every held sync finishes and applies its ConfigMap.
    for (const n of ns)
      await kube().request('PATCH', core(n, 'pods', 'migrate') + '/status', {
        body: { status: { phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False' }] } },
        contentType: 'application/merge-patch+json',
      });
    for (const n of ns) {
      await waitForApp(
        n,
        'app',
        (a) => a.status?.operationState?.phase === 'Succeeded',
        'the sync finishes',
        120_000,
      );
      assert.ok(
        await getObject(core(n, 'configmaps', 'after-migration')),
        `${n}: the wave after the hook applied`,
      );
    }
    for (const fx of healed)
      assert.ok(await getObject(apps(fx.ns, 'deployments', 'healed')), 'the healed apps are intact');
  });
});
