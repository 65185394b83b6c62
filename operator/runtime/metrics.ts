/**
 * Prometheus metrics (prom-client), shared by the operators. Names follow Prometheus conventions
 * (seconds for durations, `_total` for counters) and mirror the anchors' metrics under capstan's
 * prefix, with the anchor's meaning and labels: Argo CD's application controller (`argocd_app_*`) and
 * controller-runtime's work queue (`workqueue_*`). ExternalSecret metrics are in
 * externalsecret/metrics.ts, git metrics in sources/metrics.ts; all share {@link registry}.
 */
import client from 'prom-client';
import { registry } from '../common/metrics';
import { withoutUserinfo } from '../sources/credentials';

export { registry };

/** Duration of one reconcile, in seconds, by operator. */
export const reconcileDuration = new client.Histogram({
  name: 'capstan_reconcile_duration_seconds',
  help: 'Duration of one reconcile in seconds.',
  labelNames: ['operator'],
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

/** Reconciles that threw (and are retried), by operator. */
export const reconcileErrors = new client.Counter({
  name: 'capstan_reconcile_errors_total',
  help: 'Reconciles that failed and were retried with backoff.',
  labelNames: ['operator'],
  registers: [registry],
});

/**
 * Finished sync operations, as Argo CD's `argocd_app_sync_total{namespace,name,project,dest_server,phase}`:
 * one per operation that ended (Succeeded, Failed or Error), counted when its OperationCompleted event is
 * recorded.
 */
export const syncTotal = new client.Counter({
  name: 'capstan_app_sync_total',
  help: 'Application sync operations that ended, by phase (Succeeded, Failed, Error), as argocd_app_sync_total.',
  labelNames: ['namespace', 'name', 'project', 'dest_server', 'phase'],
  registers: [registry],
});

/** The fields of an Application that the app metrics read (the watch's object). */
export interface AppMetricSource {
  metadata: { name?: string; namespace?: string };
  spec?: {
    project?: string;
    source?: { repoURL?: string };
    sources?: Array<{ repoURL?: string }>;
    destination?: { server?: string; name?: string; namespace?: string };
    syncPolicy?: { automated?: unknown };
  };
  status?: { sync?: { status?: string }; health?: { status?: string } };
}

/** The labels of one `capstan_app_info` series. */
export type AppInfoLabels = Record<
  | 'namespace'
  | 'name'
  | 'project'
  | 'autosync_enabled'
  | 'repo'
  | 'dest_server'
  | 'dest_namespace'
  | 'sync_status'
  | 'health_status',
  string
>;

/**
 * The `capstan_app_info` labels of an Application, as Argo CD's `argocd_app_info`: an empty project is
 * `default` (Spec.GetProject), `repo` is the first source's URL without user info (never a credential),
 * `dest_server` is the destination's server or, when only a name is given, that name; a status not
 * computed yet is `Unknown`.
 */
export function appInfoLabels(app: AppMetricSource): AppInfoLabels {
  const spec = app.spec ?? {};
  return {
    namespace: app.metadata.namespace ?? '',
    name: app.metadata.name ?? '',
    project: spec.project || 'default',
    autosync_enabled: String(spec.syncPolicy?.automated != null),
    repo: withoutUserinfo(firstRepo(spec)),
    dest_server: spec.destination?.server ?? spec.destination?.name ?? '',
    dest_namespace: spec.destination?.namespace ?? '',
    ...statusLabels(app.status),
  };
}

/** The repository of an app's (first) source, as Argo CD's `Spec.GetSource().RepoURL`. */
function firstRepo(spec: NonNullable<AppMetricSource['spec']>): string {
  return spec.source?.repoURL ?? spec.sources?.[0]?.repoURL ?? '';
}

/** Sync and health status; `Unknown` until capstan has written them. */
function statusLabels(
  status: AppMetricSource['status'],
): Pick<AppInfoLabels, 'sync_status' | 'health_status'> {
  return {
    sync_status: status?.sync?.status || 'Unknown',
    health_status: status?.health?.status || 'Unknown',
  };
}

/** The latest labels of each Application the watch has seen, by `namespace/name`. */
const appsSeen = new Map<string, AppInfoLabels>();

/**
 * One series per Application with value 1, as Argo CD's `argocd_app_info`: read at scrape time from the
 * Applications the operator's watch last saw ({@link observeApp}), so that it is never stale.
 */
export const appInfo = new client.Gauge({
  name: 'capstan_app_info',
  help: 'Information about each Application (value 1), as argocd_app_info.',
  labelNames: [
    'namespace',
    'name',
    'project',
    'autosync_enabled',
    'repo',
    'dest_server',
    'dest_namespace',
    'sync_status',
    'health_status',
  ],
  registers: [registry],
  collect() {
    this.reset();
    for (const labels of appsSeen.values()) this.set(labels, 1);
  },
});

/** Records the latest state of an Application from a watch event (for `capstan_app_info`). */
export function observeApp(app: AppMetricSource): void {
  appsSeen.set(`${app.metadata.namespace ?? ''}/${app.metadata.name ?? ''}`, appInfoLabels(app));
}

/** Drops a deleted Application from `capstan_app_info`. */
export function forgetApp(namespace: string, name: string): void {
  appsSeen.delete(`${namespace}/${name}`);
}

/**
 * Duration of one Application reconcile (compare, and the sync step when one runs) in seconds, as Argo
 * CD's `argocd_app_reconcile{namespace,dest_server}` histogram (the same buckets: 0.25 s to 16 s).
 */
export const appReconcile = new client.Histogram({
  name: 'capstan_app_reconcile',
  help: 'Application reconciliation performance in seconds, as argocd_app_reconcile.',
  labelNames: ['namespace', 'dest_server'],
  buckets: [0.25, 0.5, 1, 2, 4, 8, 16],
  registers: [registry],
});

/**
 * Starts timing the reconcile of an Application.
 * @returns a function to call when it ends; it observes the duration in seconds under the app's
 * namespace and its destination server as the watch last saw it.
 */
export function startAppReconcile(namespace: string, name: string): () => void {
  const started = process.hrtime.bigint();
  return () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const dest = appsSeen.get(`${namespace}/${name}`)?.dest_server ?? '';
    appReconcile.observe({ namespace, dest_server: dest }, seconds);
  };
}

/** controller-runtime's work queue buckets: 10^-8 s to 10^3 s, by factors of 10. */
const EXPONENTIAL_BUCKETS = Array.from({ length: 12 }, (_, i) => Number(`1e${i - 8}`));

/** Keys waiting in a work queue (not running), as controller-runtime's `workqueue_depth{name}`. */
export const workqueueDepth = new client.Gauge({
  name: 'capstan_workqueue_depth',
  help: 'Current depth of the work queue (keys waiting), as workqueue_depth.',
  labelNames: ['name'],
  registers: [registry],
});

/**
 * Keys added to a work queue, as controller-runtime's `workqueue_adds_total{name}`: an add of a key
 * already waiting is not counted (it is deduplicated); an add of a running key is (it runs again after).
 */
export const workqueueAdds = new client.Counter({
  name: 'capstan_workqueue_adds_total',
  help: 'Total number of adds handled by the work queue, as workqueue_adds_total.',
  labelNames: ['name'],
  registers: [registry],
});

/** Retries after a failed reconcile (backoff), as controller-runtime's `workqueue_retries_total{name}`. */
export const workqueueRetries = new client.Counter({
  name: 'capstan_workqueue_retries_total',
  help: 'Total number of retries handled by the work queue, as workqueue_retries_total.',
  labelNames: ['name'],
  registers: [registry],
});

/**
 * Seconds a key waits in a work queue between its add and the start of its reconcile, as
 * controller-runtime's `workqueue_queue_duration_seconds{name}` (the same buckets: 10^-8 s to 10^3 s).
 */
export const workqueueQueueDuration = new client.Histogram({
  name: 'capstan_workqueue_queue_duration_seconds',
  help: 'How long in seconds a key stays in the work queue before being reconciled, as workqueue_queue_duration_seconds.',
  labelNames: ['name'],
  buckets: EXPONENTIAL_BUCKETS,
  registers: [registry],
});

/** Seconds one reconcile of a work queue takes, as controller-runtime's `workqueue_work_duration_seconds{name}`. */
export const workqueueWorkDuration = new client.Histogram({
  name: 'capstan_workqueue_work_duration_seconds',
  help: 'How long in seconds processing a key from the work queue takes, as workqueue_work_duration_seconds.',
  labelNames: ['name'],
  buckets: EXPONENTIAL_BUCKETS,
  registers: [registry],
});
