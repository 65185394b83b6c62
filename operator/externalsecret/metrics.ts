/**
 * Prometheus metrics of the ExternalSecret family, on capstan's shared registry (`/metrics`).
 */
import client from 'prom-client';
import { registry } from '../runtime/metrics';

/** ExternalSecret refreshes by result: `synced`, `failed` or `skipped` (nothing due, no provider call). */
export const externalSecretRefreshes = new client.Counter({
  name: 'capstan_externalsecret_refresh_total',
  help: 'ExternalSecret reconciles by result (synced, failed, skipped).',
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
