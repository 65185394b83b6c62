/**
 * Prometheus metrics (prom-client), shared by the operators. Names follow Prometheus conventions:
 * seconds for durations, `_total` for counters.
 */
import client from 'prom-client';

/** The registry served on `/metrics`. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

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

/** Syncs by outcome phase. */
export const syncTotal = new client.Counter({
  name: 'capstan_app_sync_total',
  help: 'Application sync operations by phase (Succeeded, Failed).',
  labelNames: ['phase'],
  registers: [registry],
});
