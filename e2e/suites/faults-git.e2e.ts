/**
 * Fault 3 of issue 7 §2: the git server is down for a while (default one minute,
 * `CAPSTAN_FAULT_GIT_DOWN_S`). Every app reports a `ComparisonError` (as Argo CD does when it cannot
 * load the target state), nothing in the cluster is pruned or re-created (UIDs unchanged, although the
 * apps prune automatically), and once the server serves again the apps recover on their own (no
 * refresh request): condition gone, Synced and Healthy, and no sync was run for it (history unchanged,
 * since git did not change). Runs on a private control plane (faults-lib.ts).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, type AppObject } from './lib';
import {
  appSummary,
  changedKeys,
  createAppOn,
  createNamespaceOn,
  managedUids,
  startFaultEnv,
  waitForAppsOn,
  type FaultEnv,
} from './faults-lib';

/** How long git is down, in seconds (s); the issue asks for one minute. */
const DOWN_S = Number(process.env.CAPSTAN_FAULT_GIT_DOWN_S ?? 60);
/** Apps sharing the repository (one clone cache entry, several apps failing at once). */
const APPS = 4;
const NS = 'faults-git';

const hasComparisonError = (a: AppObject): boolean =>
  !!a.status?.conditions?.some((c) => c.type === 'ComparisonError');
const syncedHealthy = (sha: string) => (a: AppObject) =>
  a.status?.sync?.status === 'Synced' &&
  a.status.sync.revision === sha &&
  a.status.health?.status === 'Healthy' &&
  !hasComparisonError(a);

describe('fault 3: the git server is down', () => {
  let env: FaultEnv | undefined;
  before(
    async () => {
      // A short refresh interval, so that the outage is noticed within seconds and recovery does
      // not wait for the default two-minute poll.
      env = await startFaultEnv({ operatorArgs: ['--refresh-interval', '3', '--refresh-jitter', '1'] });
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await env?.stop();
  });

  test(
    `apps report ComparisonError for ${DOWN_S} s, nothing is pruned, they recover on their own`,
    {
      timeout: 240_000 + DOWN_S * 1000,
    },
    async (t) => {
      assert.ok(env);
      const { kube, git } = env;
      t.after(async () => {
        await git.start(); // for the next suites' sake when an assert failed mid-outage
      });
      const repo = await git.createRepo('faults-git', path.join(FIXTURES, 'faults'));
      const sha = await repo.headSha();
      await createNamespaceOn(kube, NS);
      const names = Array.from({ length: APPS }, (_, i) => `app-${i}`);
      for (const name of names) {
        await createNamespaceOn(kube, `${NS}-${name}`);
        await createAppOn(kube, NS, name, {
          project: 'default',
          source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
          destination: { server: 'https://kubernetes.default.svc', namespace: `${NS}-${name}` },
          syncPolicy: { automated: { prune: true, selfHeal: true } },
        });
      }
      const synced = await waitForAppsOn(kube, NS, names, syncedHealthy(sha), {
        what: 'Synced and Healthy',
        timeoutMs: 120_000,
      });
      const uidsBefore = await managedUids(kube, synced.values());
      assert.equal(uidsBefore.size, APPS * 2, 'each app manages a ConfigMap and a Deployment');
      const historyBefore = new Map(names.map((n) => [n, synced.get(n)?.status?.history?.length ?? 0]));

      await git.stop();
      const downAt = Date.now();
      await waitForAppsOn(kube, NS, names, hasComparisonError, {
        what: 'ComparisonError while git is down',
        timeoutMs: 60_000,
      });
      const noticedS = (Date.now() - downAt) / 1000;
      // Keep git down for the rest of the outage, checking all along that nothing was pruned.
      while (Date.now() - downAt < DOWN_S * 1000) {
        const changed = changedKeys(uidsBefore, await managedUids(kube, synced.values()));
        assert.deepEqual(changed, [], 'no object is pruned or re-created while git is down');
        await sleep(Math.min(5000, Math.max(0, DOWN_S * 1000 - (Date.now() - downAt))));
      }
      const during = await waitForAppsOn(kube, NS, names, hasComparisonError, {
        what: 'still ComparisonError',
        timeoutMs: 10_000,
      });
      for (const a of during.values()) assert.notEqual(a.status?.sync?.status, 'Synced', a.metadata.name);

      await git.start();
      const backAt = Date.now();
      const recovered = await waitForAppsOn(kube, NS, names, syncedHealthy(sha), {
        what: 'recovered on their own (no ComparisonError, Synced, Healthy)',
        timeoutMs: 180_000,
      });
      const recoveryS = (Date.now() - backAt) / 1000;
      assert.deepEqual(changedKeys(uidsBefore, await managedUids(kube, recovered.values())), []);
      for (const [name, app] of recovered) {
        assert.equal(
          app.status?.history?.length ?? 0,
          historyBefore.get(name),
          `${name}: no sync ran for the outage (git did not change): ${JSON.stringify(appSummary(app))}`,
        );
      }
      t.diagnostic(
        `git down ${DOWN_S} s: ComparisonError on all ${APPS} apps after ${noticedS.toFixed(1)} s, ` +
          `recovered ${recoveryS.toFixed(1)} s after git returned`,
      );
    },
  );
});
