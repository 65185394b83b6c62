import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appInfoLabels,
  appReconcile,
  forgetApp,
  observeApp,
  registry,
  startAppReconcile,
  workqueueAdds,
  workqueueDepth,
  workqueueQueueDuration,
  workqueueRetries,
} from './metrics';
import { KeyedWorkQueue } from './workqueue';

type Metric = {
  get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number; metricName?: string }> }>;
};

/** The value of the series with these labels (and this sample name for a histogram), or 0. */
async function value(metric: Metric, labels: Record<string, string>, metricName?: string): Promise<number> {
  const v = (await metric.get()).values.find(
    (s) =>
      (metricName === undefined || s.metricName === metricName) &&
      Object.entries(labels).every(([k, want]) => s.labels[k] === want),
  );
  return v?.value ?? 0;
}

const app = {
  metadata: { name: 'guestbook', namespace: 'argocd' },
  spec: {
    project: '',
    source: { repoURL: 'https://bob:t0ken@git.example.com/apps.git' },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'web' },
    syncPolicy: { automated: { prune: true } },
  },
  status: { sync: { status: 'Synced' }, health: { status: 'Healthy' } },
};

test('appInfoLabels: the labels of argocd_app_info (default project, repo without credentials, Unknown before a status)', () => {
  assert.deepEqual(appInfoLabels(app), {
    namespace: 'argocd',
    name: 'guestbook',
    project: 'default',
    autosync_enabled: 'true',
    repo: 'https://git.example.com/apps.git',
    dest_server: 'https://kubernetes.default.svc',
    dest_namespace: 'web',
    sync_status: 'Synced',
    health_status: 'Healthy',
  });
  const fresh = appInfoLabels({
    metadata: { name: 'x', namespace: 'y' },
    spec: { project: 'p', sources: [{ repoURL: 'https://h/r.git' }], destination: { name: 'in-cluster' } },
  });
  assert.equal(fresh.sync_status, 'Unknown');
  assert.equal(fresh.health_status, 'Unknown');
  assert.equal(fresh.repo, 'https://h/r.git');
  assert.equal(fresh.dest_server, 'in-cluster');
  assert.equal(fresh.autosync_enabled, 'false');
});

test('capstan_app_info: one series per app with its latest status, removed when the app is deleted', async () => {
  const scrape = () => registry.getSingleMetricAsString('capstan_app_info');
  observeApp({ ...app, status: { sync: { status: 'OutOfSync' }, health: { status: 'Missing' } } });
  observeApp(app);
  const text = await scrape();
  const series = text.split('\n').filter((l) => l.includes('name="guestbook"'));
  assert.equal(series.length, 1, text);
  assert.match(series[0], /sync_status="Synced",health_status="Healthy"\} 1$/);
  assert.doesNotMatch(text, /t0ken/);
  forgetApp('argocd', 'guestbook');
  assert.doesNotMatch(await scrape(), /name="guestbook"/);
});

test('capstan_app_reconcile: one observation per reconcile under the namespace and destination server', async () => {
  observeApp({ ...app, metadata: { name: 'timed', namespace: 'ns-timed' } });
  const labels = { namespace: 'ns-timed', dest_server: 'https://kubernetes.default.svc' };
  startAppReconcile('ns-timed', 'timed')();
  startAppReconcile('ns-timed', 'timed')();
  assert.equal(await value(appReconcile, labels, 'capstan_app_reconcile_count'), 2);
});

test('workqueue metrics: adds (deduplicated), depth, retries and queue duration by queue name', async () => {
  const name = 'metrics-test';
  let fail = true;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new KeyedWorkQueue(
    async (key) => {
      if (key === 'blocker') await gate;
      if (key === 'flaky' && fail) {
        fail = false;
        throw new Error('transient');
      }
    },
    { concurrency: 1, baseDelayMs: 5, name },
  );
  q.add('blocker');
  q.add('a');
  q.add('a'); // already waiting: deduplicated, not counted
  q.add('b');
  assert.equal(await value(workqueueDepth, { name }), 2);
  assert.equal(await value(workqueueAdds, { name }), 3);
  release();
  await q.idle();
  assert.equal(await value(workqueueDepth, { name }), 0);
  assert.equal(
    await value(workqueueQueueDuration, { name }, 'capstan_workqueue_queue_duration_seconds_count'),
    3,
  );
  q.add('flaky');
  await q.idle();
  await new Promise((r) => setTimeout(r, 50)); // the retry's timer (5 ms)
  await q.idle();
  assert.equal(await value(workqueueRetries, { name }), 1);
  assert.equal(await value(workqueueAdds, { name }), 5); // flaky, then its retry
  q.stop();
});

test('a queue without a name reports no metrics', async () => {
  const q = new KeyedWorkQueue(async () => undefined);
  const before = (await workqueueAdds.get()).values.length;
  q.add('x');
  await q.idle();
  assert.equal((await workqueueAdds.get()).values.length, before);
});
