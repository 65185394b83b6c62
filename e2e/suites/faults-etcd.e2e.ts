/**
 * Fault 4 of issue 7 §2: etcd restarted under load. Twenty apps are Synced and Healthy; then, while a
 * churn runs (new apps, commits for them, label edits on the synced apps), etcd stops for
 * `CAPSTAN_FAULT_ETCD_DOWN_S` seconds (default 10) and starts again on the same data. A watch samples
 * every app's sync status during and after the outage: none of the twenty, whose git did not change,
 * ever shows OutOfSync (an informer that resyncs from an empty or partial cache would make it flap,
 * and automated sync would then re-apply); nothing of theirs is re-created; no sync is run for them;
 * capstan stays up; at the end every app, old and new, is Synced and Healthy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { KubeClient } from '../../operator/kube/client';
import type { GitRepo } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import { FIXTURES, type AppObject } from './lib';
import {
  appPath,
  appSummary,
  changedKeys,
  createAppOn,
  createNamespaceOn,
  managedUids,
  sampleApps,
  startFaultEnv,
  waitForAppsOn,
  type FaultEnv,
} from './faults-lib';

/** How long etcd is down, in seconds (s). */
const DOWN_S = Number(process.env.CAPSTAN_FAULT_ETCD_DOWN_S ?? 10);
/** Apps synced before the fault, whose git never changes. */
const STABLE = 20;
const NS = 'faults-etcd';
/** The churn's apps live in their own namespace, so that the stable apps' watch sees only them. */
const CHURN_NS = 'faults-etcd-churn';

const syncedHealthy = (sha: string) => (a: AppObject) =>
  a.status?.sync?.status === 'Synced' &&
  a.status.sync.revision === sha &&
  a.status.health?.status === 'Healthy';

/** An app of `repo` deploying into its own namespace, automated with prune and self-heal. */
async function createFaultApp(kube: KubeClient, ns: string, name: string, repo: GitRepo): Promise<void> {
  await createNamespaceOn(kube, `${ns}-${name}`);
  await createAppOn(kube, ns, name, {
    project: 'default',
    source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
    destination: { server: 'https://kubernetes.default.svc', namespace: `${ns}-${name}` },
    syncPolicy: { automated: { prune: true, selfHeal: true } },
  });
}

/** What the churn did; its writes fail while etcd is down and are counted, not thrown. */
interface Churn {
  created: string[];
  ok: number;
  failed: number;
  stop(): Promise<void>;
}

/**
 * Runs until stopped: each round creates a new app in {@link CHURN_NS}, commits a change to the
 * churn repository (the churn apps' desired state changes, the stable apps' does not), and edits a
 * label of one stable app (a MODIFIED event that must not change its comparison).
 */
function startChurn(kube: KubeClient, churnRepo: GitRepo, stable: string[]): Churn {
  const churn: Churn = { created: [], ok: 0, failed: 0, stop: async () => undefined };
  let stopped = false;
  const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      churn.ok++;
    } catch {
      churn.failed++;
    }
  };
  const loop = (async () => {
    for (let round = 0; !stopped; round++) {
      const name = `churn-${round}`;
      await attempt(async () => {
        await createFaultApp(kube, CHURN_NS, name, churnRepo);
        churn.created.push(name);
      });
      await attempt(() =>
        churnRepo.commit(`churn ${round}`, (dir) =>
          fs.writeFileSync(path.join(dir, 'configmap.yaml'), configMap(`round-${round}`)),
        ),
      );
      const app = stable[round % stable.length];
      await attempt(() =>
        kube.request('PATCH', appPath(NS, app), {
          body: { metadata: { labels: { 'capstan.e2e/churn': String(round) } } },
          contentType: 'application/merge-patch+json',
          timeoutMs: 5000,
        }),
      );
      await sleep(500);
    }
  })();
  churn.stop = async () => {
    stopped = true;
    await loop;
  };
  return churn;
}

/** The fixture's ConfigMap with another greeting. */
function configMap(greeting: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fault-config\ndata:\n  greeting: ${greeting}\n`;
}

describe('fault 4: etcd restarted under load', () => {
  let env: FaultEnv | undefined;
  before(
    async () => {
      // Refreshes every few seconds, so that the apps are compared many times around the outage.
      env = await startFaultEnv({ operatorArgs: ['--refresh-interval', '5', '--refresh-jitter', '2'] });
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await env?.stop();
  });

  test(
    `no app flaps to OutOfSync when etcd is down ${DOWN_S} s during a churn`,
    { timeout: 420_000 },
    async (t) => {
      assert.ok(env);
      const { kube, git, cp } = env;
      const operatorPid = env.operator.pid;
      const repo = await git.createRepo('stable', path.join(FIXTURES, 'faults'));
      // The churn's apps hold a ConfigMap only: a Deployment created while etcd crashes can wait up to
      // five minutes in kube-controller-manager (its ReplicaSet expectations), which says nothing about
      // capstan.
      const churnRepo = await git.createRepo('churn', path.join(FIXTURES, 'faults-config'));
      const sha = await repo.headSha();
      await createNamespaceOn(kube, NS);
      await createNamespaceOn(kube, CHURN_NS);
      const stable = Array.from({ length: STABLE }, (_, i) => `app-${i}`);
      for (const name of stable) await createFaultApp(kube, NS, name, repo);
      const synced = await waitForAppsOn(kube, NS, stable, syncedHealthy(sha), {
        what: 'Synced and Healthy',
        timeoutMs: 180_000,
      });
      const uidsBefore = await managedUids(kube, synced.values());
      const historyBefore = new Map(stable.map((n) => [n, synced.get(n)?.status?.history?.length ?? 0]));

      const sampler = await sampleApps(kube, NS);
      t.after(() => sampler.stop());
      const churn = startChurn(kube, churnRepo, stable);
      t.after(() => churn.stop());
      await waitFor(async () => churn.created.length >= 2, { timeoutMs: 30_000, what: 'the churn to run' });
      await cp.stopComponent('etcd', { kill: true }); // a crash, not a clean shutdown
      const downAt = Date.now();
      t.after(() => cp.startComponent('etcd')); // when an assert below fails first
      await sleep(DOWN_S * 1000); // the fault itself: etcd stays down this long
      await cp.startComponent('etcd');
      const backAt = Date.now();
      // Churn on for a while with etcd back, so that informers resync under writes.
      await waitFor(async () => churn.ok >= 10 && Date.now() - backAt > 5000, {
        timeoutMs: 60_000,
        what: 'the churn to continue after etcd returned',
      });
      await churn.stop();

      // Every stable app compared at least twice after the outage (two refreshes past the resync).
      const settled = await waitForAppsOn(
        kube,
        NS,
        stable,
        (a) => syncedHealthy(sha)(a) && Date.parse(a.status?.reconciledAt ?? '') > backAt + 8000,
        { what: 'Synced, Healthy and refreshed after etcd returned', timeoutMs: 120_000 },
      );
      const churnSha = await churnRepo.headSha();
      await waitForAppsOn(kube, CHURN_NS, churn.created, syncedHealthy(churnSha), {
        what: 'churn apps Synced and Healthy',
        timeoutMs: 180_000,
      });
      await sampler.stop();

      const flapped = stable.filter((n) => (sampler.samples.get(n) ?? []).some((s) => s.sync !== 'Synced'));
      const flaps = flapped.map((n) => `${n}: ${JSON.stringify(sampler.samples.get(n))}`).join('\n');
      assert.deepEqual(
        flapped.filter((n) => sampler.samples.get(n)?.some((s) => s.sync === 'OutOfSync')),
        [],
        `apps whose git did not change went OutOfSync:\n${flaps}`,
      );
      assert.deepEqual(changedKeys(uidsBefore, await managedUids(kube, settled.values())), []);
      for (const [name, app] of settled) {
        assert.equal(
          app.status?.history?.length ?? 0,
          historyBefore.get(name),
          `${name}: no sync ran (git did not change): ${JSON.stringify(appSummary(app))}`,
        );
      }
      assert.equal(env.operator.pid, operatorPid, 'capstan was not restarted');
      assert.equal(env.operator.exited, false, `capstan stays up:\n${env.logTail(30)}`);
      t.diagnostic(
        `etcd down ${((backAt - downAt) / 1000).toFixed(1)} s; churn: ${churn.created.length} apps, ` +
          `${churn.ok} writes ok, ${churn.failed} failed; app watch re-established ${sampler.restarts()} times; ` +
          `other states seen (not OutOfSync): ${flapped.length ? flaps : 'none'}`,
      );
    },
  );
});
