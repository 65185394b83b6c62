/**
 * ExternalSecret status through two helpers, as ESO's `markAsDone` and `markAsFailed`: the `Ready`
 * condition (lastTransitionTime kept while its status stays), `refreshTime`, `syncedResourceVersion`
 * and `binding` on success; an `UpdateFailed` Warning event when a failure is new (not on every retry
 * of the same failure, so a long outage does not flood the namespace with events).
 */
import type { ExternalSecretStatus } from '../../generated/externalsecret';
import { patchExternalSecretStatus } from './api';
import { CONDITION_READY, EsReason, EventReason } from './constants';
import { getCondition, sameCondition, setCondition, type Condition } from './conditions';
import type { ExternalSecretContext } from './context';
import { recordEvent } from '../kube/events';
import type { KubeObject } from '../kube/object';
import { syncedResourceVersion } from './refresh';
import type { ExternalSecretObject } from './types';

function ready(es: ExternalSecretObject): Condition | undefined {
  return getCondition(es.status?.conditions as Condition[] | undefined, CONDITION_READY);
}

/**
 * Marks a successful refresh: Ready True with `reason` and `message`, refresh time now, the synced version.
 * @param binding - the target Secret's name, when the ExternalSecret writes one.
 */
export async function markDone(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  reason: string,
  message: string,
  binding?: string,
): Promise<void> {
  const now = new Date(ctx.now()).toISOString();
  const conditions = setCondition(
    es.status?.conditions as Condition[] | undefined,
    { type: CONDITION_READY, status: 'True', reason, message },
    now,
  );
  const status: ExternalSecretStatus = {
    conditions: conditions as ExternalSecretStatus['conditions'],
    refreshTime: now,
    syncedResourceVersion: syncedResourceVersion(es),
    ...(binding ? { binding: { name: binding } } : {}),
  };
  const stored = await patchExternalSecretStatus(ctx.client, es, status as Record<string, unknown>);
  es.status = { ...es.status, ...status };
  remember(ctx, stored);
}

/** The stored ExternalSecret goes to the read cache, so the next reconcile sees this status without a GET. */
function remember(ctx: ExternalSecretContext, stored: ExternalSecretObject | undefined): void {
  if (stored?.metadata) ctx.cache?.externalSecrets.put(stored as unknown as KubeObject);
}

/**
 * Marks a failed refresh: Ready False, reason SecretSyncedError, the message naming what failed; the
 * refresh time is left as it was (the Secret still holds the last good values).
 * @returns true when the condition changed (the failure is new).
 */
export async function markFailed(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  message: string,
): Promise<boolean> {
  const wanted: Condition = {
    type: CONDITION_READY,
    status: 'False',
    reason: EsReason.SecretSyncedError,
    message,
  };
  if (sameCondition(ready(es), wanted)) return false;
  const now = new Date(ctx.now()).toISOString();
  const conditions = setCondition(es.status?.conditions as Condition[] | undefined, wanted, now);
  remember(ctx, await patchExternalSecretStatus(ctx.client, es, { conditions }));
  await recordEvent(ctx.client, ctx.log, es, {
    type: 'Warning',
    reason: EventReason.UpdateFailed,
    message: message,
  });
  return true;
}

/** True when the last refresh succeeded (Ready True), so the Secret holds current values. */
export function lastRefreshSucceeded(es: ExternalSecretObject): boolean {
  return ready(es)?.status === 'True';
}

/** True when the last refresh deleted the Secret on purpose (deletionPolicy Delete). */
export function lastRefreshDeleted(es: ExternalSecretObject): boolean {
  const c = ready(es);
  return c?.status === 'True' && c.reason === EsReason.SecretDeleted;
}
