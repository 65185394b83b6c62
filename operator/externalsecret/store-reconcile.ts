/**
 * One reconcile of one SecretStore or ClusterSecretStore, as ESO's store controller: validate the
 * spec (schema, exactly one provider, the provider's `validateStore`), make a client and ask the
 * provider to `validate` it, then report:
 *
 * | Ready | reason | when |
 * |---|---|---|
 * | True | Valid | validated (or the provider cannot tell yet: `Unknown`, as ESO) |
 * | False | InvalidProviderConfig | the spec is wrong: fix it (re-checked on change and periodically) |
 * | False | ValidationFailed | no client (credentials) or the provider refused: retried with backoff |
 *
 * Re-validated every `spec.refreshInterval` seconds (default 5 min) and on every spec change. A status
 * change re-queues the ExternalSecrets that use the store (the ExternalSecret operator watches stores).
 */
import type { ReconcileResult } from '../runtime/workqueue';
import {
  InvalidStoreError,
  providerFor,
  type Provider,
  type StoreKind as ProviderStoreKind,
} from '../providers';
import { validateResource } from '../validation/validate';
import { getStore, patchStoreStatus } from './api';
import {
  CONDITION_READY,
  EventReason,
  MSG_STORE_CLIENT,
  MSG_STORE_INVALID,
  MSG_STORE_VALID,
  MSG_STORE_VALIDATION,
  StoreReason,
} from './constants';
import { getCondition, sameCondition, setCondition, type Condition } from './conditions';
import type { ExternalSecretContext } from './context';
import { isTransient } from './errors';
import { recordEvent } from '../kube/events';
import { storeValidations } from './metrics';
import type { StoreKind, StoreObject } from './types';

/** The outcome of validating a store. */
export interface StoreVerdict {
  /** ready - the Ready condition's status. */
  ready: boolean;
  /** reason - Valid, InvalidProviderConfig or ValidationFailed. */
  reason: string;
  /** message - names the field or problem, never a value. */
  message: string;
  /** retryable - whether backing off and retrying may help without a spec change. */
  retryable: boolean;
  /** capabilities - the provider's, when known. */
  capabilities?: string;
}

const invalid = (message: string): StoreVerdict => ({
  ready: false,
  reason: StoreReason.InvalidProviderConfig,
  message: `${MSG_STORE_INVALID}: ${message}`,
  retryable: false,
});

/** The store's key, as ExternalSecrets' rate limiter and reference index name it. */
export function storeObjectKey(kind: StoreKind, namespace: string | undefined, name: string): string {
  return kind === 'ClusterSecretStore'
    ? `ClusterSecretStore//${name}`
    : `SecretStore/${namespace ?? ''}/${name}`;
}

/** The static checks: schema, exactly one supported provider, the provider's own `validateStore`. */
function checkSpec(kind: StoreKind, store: StoreObject): StoreVerdict | Provider {
  const result = validateResource(kind, store);
  if (!result.valid) return invalid(result.message);
  let found: { provider: Provider; config: unknown };
  try {
    found = providerFor(store.spec as { provider?: Record<string, unknown> });
  } catch (err) {
    return invalid((err as Error).message);
  }
  const identity = {
    kind: kind as ProviderStoreKind,
    name: store.metadata.name,
    namespace: store.metadata.namespace,
  };
  const problems = found.provider.validateStore(found.config, identity);
  return problems.length ? invalid(problems.join('; ')) : found.provider;
}

/** Makes a client and asks the provider whether the store works (ESO `validateStore`). */
async function checkProvider(
  ctx: ExternalSecretContext,
  kind: StoreKind,
  store: StoreObject,
  provider: Provider,
): Promise<StoreVerdict> {
  const capabilities = provider.capabilities;
  const { name, namespace } = store.metadata;
  await ctx.limiter.wait(storeObjectKey(kind, namespace, name));
  let client;
  try {
    client = await provider.newClient({
      store: { kind, name, namespace, spec: store.spec },
      namespace: kind === 'SecretStore' ? (namespace ?? '') : '',
      kube: ctx.client,
      log: ctx.log,
      limits: ctx.settings.providerLimits,
    });
  } catch (err) {
    if (err instanceof InvalidStoreError) return { ...invalid(err.message), capabilities };
    const message = `${MSG_STORE_CLIENT}: ${(err as Error).message}`;
    return {
      ready: false,
      reason: StoreReason.ValidationFailed,
      message,
      retryable: isTransient(err),
      capabilities,
    };
  }
  try {
    const result = await client.validate();
    if (result.result === 'Error') {
      const message = `${MSG_STORE_VALIDATION}: ${result.message ?? 'the provider refused the store'}`;
      return { ready: false, reason: StoreReason.ValidationFailed, message, retryable: true, capabilities };
    }
    // Unknown explains why it could not tell; Ready may note a bound the operator applied (a clamped timeout)
    const note = result.message ? ` (${result.message})` : '';
    return {
      ready: true,
      reason: StoreReason.Valid,
      message: `${MSG_STORE_VALID}${note}`,
      retryable: false,
      capabilities,
    };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Validates a store (pure checks first, then the provider).
 * @returns the verdict; never throws for a store problem.
 */
export async function validateStoreObject(
  ctx: ExternalSecretContext,
  kind: StoreKind,
  store: StoreObject,
): Promise<StoreVerdict> {
  const checked = checkSpec(kind, store);
  if ('reason' in checked) return checked;
  return checkProvider(ctx, kind, store, checked);
}

/** Writes the Ready condition and capabilities when they changed, with an event on each change. */
async function writeStoreStatus(
  ctx: ExternalSecretContext,
  kind: StoreKind,
  store: StoreObject,
  v: StoreVerdict,
): Promise<void> {
  const previous = store.status?.conditions as Condition[] | undefined;
  const wanted: Condition = {
    type: CONDITION_READY,
    status: v.ready ? 'True' : 'False',
    reason: v.reason,
    message: v.message,
  };
  const capabilities = v.capabilities ?? store.status?.capabilities;
  if (
    sameCondition(getCondition(previous, CONDITION_READY), wanted) &&
    capabilities === store.status?.capabilities
  )
    return;
  const conditions = setCondition(previous, wanted, new Date(ctx.now()).toISOString());
  await patchStoreStatus(ctx.client, kind, store, { conditions, ...(capabilities ? { capabilities } : {}) });
  const reason = v.ready ? EventReason.Valid : v.reason;
  await recordEvent(ctx.client, ctx.log, store, {
    type: v.ready ? 'Normal' : 'Warning',
    reason: reason,
    message: v.message,
  });
  const where = {
    store: storeObjectKey(kind, store.metadata.namespace, store.metadata.name),
    reason: v.reason,
  };
  if (v.ready) ctx.log.info('Store validated.', where);
  else ctx.log.warn(`Store is not ready: ${v.message}`, where);
}

/** The store's re-validation interval: `spec.refreshInterval` seconds, else the operator's default. */
export function storeRefreshMs(store: StoreObject, defaultMs: number): number {
  const seconds = store.spec.refreshInterval;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : defaultMs;
}

/**
 * Reconciles the store `kind` `namespace/name` (namespace empty for a ClusterSecretStore).
 * @returns when to validate again.
 * @throws on API errors (the queue retries with backoff).
 */
export async function reconcileStore(
  ctx: ExternalSecretContext,
  kind: StoreKind,
  namespace: string,
  name: string,
): Promise<ReconcileResult> {
  const store = await getStore(ctx.client, kind, namespace || undefined, name);
  if (!store) return {};
  const verdict = await validateStoreObject(ctx, kind, store);
  storeValidations.inc({ kind, result: verdict.ready ? 'valid' : 'invalid' });
  await writeStoreStatus(ctx, kind, store, verdict);
  const interval = storeRefreshMs(store, ctx.settings.storeRefreshIntervalMs);
  if (verdict.ready) {
    return { requeueAfterMs: interval };
  }
  // Not ready: the work queue's per-key backoff, never later than the re-validation interval.
  return { failed: { maxDelayMs: interval, permanent: !verdict.retryable } };
}
