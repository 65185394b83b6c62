/**
 * Resource ceilings on a real control plane and a real git daemon: a Helm chart in git that prints more
 * than the ceiling gets a ComparisonError naming the flag, nothing of it is applied or pruned, another app
 * keeps syncing meanwhile, and capstan's resident memory stays bounded while helm prints tens of MB.
 *
 * e2e/run.ts starts capstan with `--max-manifest-bytes 8Mi --max-objects 2000` (below the defaults, so
 * that a chart of a few tens of MB passes the byte ceiling; other suites render far less).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { appFromFixture, core, getObject, refreshApp, syncedAt, waitForApp, type AppObject } from './lib';

/** Most that capstan's resident set may grow while a chart prints six times its byte ceiling, in MiB. */
const RSS_GROWTH_BOUND_MIB = 150;

const comparisonError = (a: AppObject) => a.status?.conditions?.find((c) => c.type === 'ComparisonError');

/** The PID of the run's capstan (set by e2e/run.ts). */
function operatorPid(): number {
  const pid = Number(process.env.CAPSTAN_E2E_OPERATOR_PID);
  if (!pid) throw new Error('CAPSTAN_E2E_OPERATOR_PID is not set: run the suites through e2e/run.ts');
  return pid;
}

/** Resident set size of a process, in KiB, from /proc/<pid>/status (VmRSS). */
function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib);
}

/** Samples a process's RSS every 50 ms until stopped; returns the largest sample, in KiB. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssKiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssKiB(pid));
    },
  };
}

/** Rewrites the chart's values: `count` ConfigMaps of `size` bytes each. */
const chartValues = (count: number, size: number) => (dir: string) =>
  fs.writeFileSync(path.join(dir, 'values.yaml'), `count: ${count}\nsize: ${size}\n`);

describe('resource ceilings', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('a chart printing more than --max-manifest-bytes: ComparisonError, nothing applied or pruned, others sync, RSS bounded', async () => {
    const big = await appFromFixture(git, {
      prefix: 'limits-bytes',
      fixture: 'limits-chart',
      name: 'big',
      spec: { syncPolicy: { automated: { prune: true, selfHeal: true } } },
    });
    const other = await appFromFixture(git, {
      prefix: 'limits-other',
      fixture: 'plain',
      name: 'other',
      spec: { syncPolicy: { automated: { prune: true } } },
    });
    await waitForApp(big.ns, 'big', syncedAt(big.sha), 'first sync of the small chart');
    await waitForApp(other.ns, 'other', syncedAt(other.sha), 'first sync of the other app');
    assert.ok(await getObject(core(big.ns, 'configmaps', 'cm-2')));

    const pid = operatorPid();
    const before = rssKiB(pid);
    const sampler = sampleRss(pid);
    let peak: number;
    try {
      // 384 ConfigMaps of 128 KiB: helm prints 48 MiB, six times the 8 MiB ceiling.
      const huge = await big.repo.commit('print 48 MiB', chartValues(384, 128 * 1024));
      await refreshApp(big.ns, 'big');
      const failed = await waitForApp(
        big.ns,
        'big',
        (a) => /more than 8 MiB of manifests/.test(comparisonError(a)?.message ?? ''),
        'ComparisonError naming the byte ceiling',
        90_000,
      );
      assert.match(
        comparisonError(failed)?.message ?? '',
        /helm template produced more than 8 MiB of manifests \(the limit set by --max-manifest-bytes/,
      );
      assert.notEqual(failed.status?.sync?.revision, huge, 'not Synced at the huge commit');

      // The other app keeps syncing while the big one fails (and is retried with backoff).
      const next = await other.repo.commit('change greeting', (dir) => {
        const f = path.join(dir, 'configmap.yaml');
        fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('greeting: hello', 'greeting: still-syncing'));
      });
      await refreshApp(other.ns, 'other');
      await waitForApp(other.ns, 'other', syncedAt(next), `other app Synced at ${next}`, 60_000);
      const cm = await getObject(core(other.ns, 'configmaps', 'plain-config'));
      assert.equal((cm?.data as Record<string, string>).greeting, 'still-syncing');
    } finally {
      peak = sampler.stop();
    }

    // Nothing of the huge render was applied, and nothing of the last good one was pruned.
    for (const name of ['cm-0', 'cm-1', 'cm-2']) {
      const cm = await getObject(core(big.ns, 'configmaps', name));
      assert.equal(
        (cm?.data as Record<string, string> | undefined)?.blob,
        'xxxxxxxxxx',
        `${name} kept as it was`,
      );
    }
    assert.equal(await getObject(core(big.ns, 'configmaps', 'cm-3')), undefined, 'nothing new applied');

    const growthMiB = (peak - before) / 1024;
    process.stdout.write(
      `# capstan RSS: ${Math.round(before / 1024)} MiB before, peak ${Math.round(peak / 1024)} MiB ` +
        `(+${Math.round(growthMiB)} MiB) while helm printed 48 MiB\n`,
    );
    assert.ok(growthMiB < RSS_GROWTH_BOUND_MIB, `capstan RSS grew by ${Math.round(growthMiB)} MiB`);
  });

  test('a chart printing more than --max-objects objects: ComparisonError naming the flag, nothing applied', async () => {
    const many = await appFromFixture(git, {
      prefix: 'limits-objects',
      fixture: 'limits-chart',
      name: 'many',
      spec: { syncPolicy: { automated: { prune: true } } },
    });
    await waitForApp(many.ns, 'many', syncedAt(many.sha), 'first sync of the small chart');
    await many.repo.commit('print 2500 objects', chartValues(2500, 1));
    await refreshApp(many.ns, 'many');
    const failed = await waitForApp(
      many.ns,
      'many',
      (a) => /more than 2000 objects/.test(comparisonError(a)?.message ?? ''),
      'ComparisonError naming the object ceiling',
      90_000,
    );
    assert.match(
      comparisonError(failed)?.message ?? '',
      /helm template of "\." rendered more than 2000 objects \(the limit set by --max-objects/,
    );
    assert.equal(await getObject(core(many.ns, 'configmaps', 'cm-3')), undefined, 'nothing new applied');
    assert.ok(await getObject(core(many.ns, 'configmaps', 'cm-0')), 'nothing pruned');
  });
});
