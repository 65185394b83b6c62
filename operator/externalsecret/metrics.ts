/**
 * Prometheus metrics of the ExternalSecret family, on capstan's shared registry (`/metrics`). The
 * `capstan_externalsecret_sync_calls_*` and `capstan_externalsecret_status_condition` metrics mirror ESO's
 * `externalsecret_sync_calls_total`, `externalsecret_sync_calls_error` and
 * `externalsecret_status_condition`, with ESO's labels and meaning.
 */
import client from 'prom-client';
import { registry } from '../common/metrics';

/** ExternalSecret refreshes by result: `synced`, `failed` or `skipped` (nothing due, no provider call). */
export const externalSecretRefreshes = new client.Counter({
  name: 'capstan_externalsecret_refresh_total',
  help: 'ExternalSecret reconciles by result (synced, failed, skipped).',
  labelNames: ['result'],
  registers: [registry],
});

/**
 * Provider reads of ExternalSecrets by result: `call` (the provider was asked) or `shared` (answered by a
 * read of the same key of the same store in flight or within `readShareMs`: readcache.ts).
 */
export const providerReads = new client.Counter({
  name: 'capstan_externalsecret_provider_reads_total',
  help: 'ExternalSecret provider reads by result (call: the provider was asked; shared: a recent identical read answered).',
  labelNames: ['result'],
  registers: [registry],
});

/** Store validations by result: `valid` or `invalid`. */
export const storeValidations = new client.Counter({
  name: 'capstan_secretstore_validation_total',
  help: 'SecretStore and ClusterSecretStore validations by kind and result (valid, invalid).',
  labelNames: ['kind', 'result'],
  registers: [registry],
});

/** Reconciles of each ExternalSecret, as ESO's `externalsecret_sync_calls_total{name,namespace}`. */
export const syncCalls = new client.Counter({
  name: 'capstan_externalsecret_sync_calls_total',
  help: 'Total number of ExternalSecret reconciles, as externalsecret_sync_calls_total.',
  labelNames: ['name', 'namespace'],
  registers: [registry],
});

/**
 * Reconciles of an ExternalSecret that failed (the refresh failed or the reconcile threw), as ESO's
 * `externalsecret_sync_calls_error{name,namespace}`.
 */
export const syncCallsError = new client.Counter({
  name: 'capstan_externalsecret_sync_calls_error',
  help: 'Total number of failed ExternalSecret reconciles, as externalsecret_sync_calls_error.',
  labelNames: ['name', 'namespace'],
  registers: [registry],
});

/** The fields of an ExternalSecret the condition metric reads (the watch's object). */
export interface ConditionSource {
  metadata: { name?: string; namespace?: string };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

/** The labels and value of one `capstan_externalsecret_status_condition` series. */
export interface ConditionSample {
  labels: Record<'name' | 'namespace' | 'condition' | 'status', string>;
  value: 0 | 1;
}

/**
 * The `capstan_externalsecret_status_condition` series of an ExternalSecret, as ESO's
 * `externalsecret_status_condition`: per condition, its current status with value 1 and the opposite
 * status (True/False) with value 0, so that `status="True"` is 0 once a Ready ExternalSecret fails.
 */
export function conditionSamples(es: ConditionSource): ConditionSample[] {
  const base = { name: es.metadata.name ?? '', namespace: es.metadata.namespace ?? '' };
  return (es.status?.conditions ?? []).flatMap((c) => {
    const condition = c.type ?? '';
    const status = c.status ?? 'Unknown';
    const samples: ConditionSample[] = [{ labels: { ...base, condition, status }, value: 1 }];
    const opposite = status === 'True' ? 'False' : status === 'False' ? 'True' : undefined;
    if (opposite) samples.push({ labels: { ...base, condition, status: opposite }, value: 0 });
    return samples;
  });
}

/** The latest condition series of each ExternalSecret the watch has seen, by `namespace/name`. */
const conditionsSeen = new Map<string, ConditionSample[]>();

/** The status conditions of each ExternalSecret, read at scrape time from the watch's latest objects. */
export const statusCondition = new client.Gauge({
  name: 'capstan_externalsecret_status_condition',
  help: 'The status condition of each ExternalSecret (1 for the current status), as externalsecret_status_condition.',
  labelNames: ['name', 'namespace', 'condition', 'status'],
  registers: [registry],
  collect() {
    this.reset();
    for (const samples of conditionsSeen.values()) for (const s of samples) this.set(s.labels, s.value);
  },
});

/** Records the conditions of an ExternalSecret from a watch event. */
export function observeExternalSecret(es: ConditionSource): void {
  conditionsSeen.set(`${es.metadata.namespace ?? ''}/${es.metadata.name ?? ''}`, conditionSamples(es));
}

/** Drops a deleted ExternalSecret's condition series (ESO removes them on deletion too). */
export function forgetExternalSecret(namespace: string, name: string): void {
  conditionsSeen.delete(`${namespace}/${name}`);
}
