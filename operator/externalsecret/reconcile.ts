/**
 * One reconcile of one ExternalSecret, level-based (it reads the ExternalSecret and its Secret, never
 * trusts the event), as ESO's `Reconcile`:
 *
 *   get -> spec check (terminal: Ready False, nothing written)
 *   -> nothing due and the Secret intact? requeue at the next refresh (+ jitter)
 *   -> may this ExternalSecret write the target? -> resolve stores (exists, allowed, Ready)
 *   -> fetch (rate-limited per store) -> deletionPolicy on an empty fetch -> templateFrom + template
 *   -> write by creationPolicy (server-side apply) -> events -> status -> requeue.
 *
 * A failure keeps the existing Secret, sets Ready False (SecretSyncedError) with a message naming the
 * field, key or store, and is retried with the work queue's per-key backoff (runtime/workqueue.ts),
 * bounded by the refresh interval; until then a change of its Secret does not run it again, a change
 * of the ExternalSecret or of its store's readiness does.
 */
import { renderTemplate, type ExternalSecretTemplate, type RenderedSecret } from '../templates';
import type { ReconcileResult } from '../runtime/workqueue';
import { getExternalSecret, getSecret } from './api';
import { StoreClients } from './clients';
import {
  EsReason,
  EVENT_CREATED,
  EVENT_DELETED,
  EVENT_DELETED_ORPHANED,
  EVENT_UPDATED,
  EventReason,
  MSG_APPLY_TEMPLATE,
  MSG_DELETE_SECRET,
  MSG_DELETED,
  MSG_INVALID_SPEC,
  MSG_SYNCED,
  MSG_SYNCED_NONE,
  MSG_SYNCED_RETAIN,
  MSG_UPDATE_SECRET,
} from './constants';
import type { ExternalSecretContext } from './context';
import { asSyncError, SyncError } from './errors';
import { recordEvent } from '../kube/events';
import { fetchSecretData, type FetchResult } from './fetch';
import { externalSecretRefreshes, syncCallsError } from './metrics';
import { creationPolicyOf, deletionPolicyOf, emptyDataAction, secretInSync } from './policies';
import { externalSecretKey, targetName } from './refs';
import { nextRefreshDelay, refreshIntervalMs, shouldRefresh } from './refresh';
import { readTemplateSources } from './sources';
import { specProblems } from './spec';
import { refreshHeldMs } from './syncwindows';
import { markDone, markFailed, lastRefreshDeleted, lastRefreshSucceeded } from './status';
import { resolveStores } from './stores';
import { deleteGenericObject, writeGenericObject } from './generic';
import { readTarget, type TargetState } from './live';
import { genericTargetProblems, objectInSync } from './manifest';
import type { CreationPolicy, ExternalSecretObject } from './types';
import {
  assertWritable,
  deleteOrphanedSecrets,
  deleteTargetSecret,
  mayHaveOrphans,
  TargetExistsError,
  writeSecret,
  type WriteOutcome,
} from './write';

function requeue(ctx: ExternalSecretContext, es: ExternalSecretObject): ReconcileResult {
  const held = refreshHeldMs(es, ctx.now()); // a due periodic refresh waits for spec.syncWindows
  if (held !== undefined) return { requeueAfterMs: held };
  const delay = nextRefreshDelay(es, ctx.now(), {
    defaultMs: ctx.settings.defaultRefreshIntervalMs,
    random: ctx.random,
    jitterFraction: ctx.settings.jitterFraction,
  });
  return delay === undefined ? {} : { requeueAfterMs: delay };
}

/** Whether this reconcile fetches: a refresh is due, the last one failed, or the Secret drifted or vanished. */
function needsRefresh(ctx: ExternalSecretContext, es: ExternalSecretObject, target: TargetState): boolean {
  if (shouldRefresh(es, ctx.now(), ctx.settings.defaultRefreshIntervalMs))
    return refreshHeldMs(es, ctx.now()) === undefined || !lastRefreshSucceeded(es);
  if (!lastRefreshSucceeded(es)) return true;
  if (target.known === 'ours') return false; // exactly what capstan's last write left
  const { generic } = target;
  if (!(generic ? generic.object : target.existing) && lastRefreshDeleted(es)) return false;
  if (generic) return creationPolicyOf(es) !== 'None' && !objectInSync(generic.object, es, generic.ref.kind);
  return !secretInSync(target.existing, creationPolicyOf(es));
}

/** Fetches through the ExternalSecret's stores; the clients are closed whatever happens. */
async function fetchAll(ctx: ExternalSecretContext, es: ExternalSecretObject): Promise<FetchResult> {
  const clients = new StoreClients(ctx, es, await resolveStores(ctx, es));
  try {
    return await fetchSecretData(clients, es);
  } finally {
    await clients.close();
  }
}

/**
 * deletionPolicy on an empty fetch (ESO's switch).
 * @returns true when the refresh is finished (retained or deleted), false when the empty data is to be written.
 */
async function applyDeletionPolicy(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  target: TargetState,
): Promise<boolean> {
  const decision = emptyDataAction(deletionPolicyOf(es), creationPolicyOf(es));
  const { generic, existing } = target;
  switch (decision.action) {
    case 'retain':
      await markDone(ctx, es, EsReason.SecretSynced, MSG_SYNCED_RETAIN, bindingOf(es, target));
      return true;
    case 'delete':
      if (
        generic
          ? await deleteGenericObject(ctx, es, generic.rt, generic.object)
          : await deleteTargetSecret(ctx, es, existing)
      ) {
        await recordEvent(ctx.client, ctx.log, es, {
          type: 'Normal',
          reason: EventReason.Deleted,
          message: EVENT_DELETED,
        });
        ctx.log.info(
          'Deleted the target Secret: every remote key is gone (deletionPolicy Delete).',
          logFields(es),
        );
      }
      await markDone(ctx, es, EsReason.SecretDeleted, MSG_DELETED);
      return true;
    case 'refuse':
      throw new SyncError(MSG_DELETE_SECRET, decision.message);
    default:
      return false;
  }
}

/** `status.binding`: the target Secret's name when one exists (generic targets are no Secrets). */
function bindingOf(es: ExternalSecretObject, target: TargetState): string | undefined {
  return target.existing && !target.generic ? targetName(es) : undefined;
}

/**
 * Writes the target; a create-only Secret write that finds one reads it and writes again knowing it.
 */
async function write(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  target: TargetState,
  rendered: RenderedSecret,
  creation: Exclude<CreationPolicy, 'None'>,
): Promise<WriteOutcome> {
  const { generic } = target;
  if (generic) {
    const policy = creation as Exclude<CreationPolicy, 'None' | 'Merge'>; // Merge: a spec problem
    return writeGenericObject(ctx, es, { ...generic, existing: generic.object, rendered, policy });
  }
  try {
    const createOnly = target.known === 'absent';
    return await writeSecret(ctx, es, { existing: target.existing, createOnly }, rendered, creation);
  } catch (err) {
    if (!(err instanceof TargetExistsError)) throw err;
    const existing = await getSecret(ctx.client, es.metadata.namespace, targetName(es));
    return writeSecret(ctx, es, { existing }, rendered, creation);
  }
}

/**
 * Nothing was fetched: the deletion policy decides on the target as it is (read when the informer only
 * implied it). @returns true when the refresh is finished.
 */
async function emptyFetch(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  target: TargetState,
): Promise<boolean> {
  const live =
    target.known === 'read' ? target : await readTarget(ctx, es, creationPolicyOf(es), { get: true });
  return applyDeletionPolicy(ctx, es, live);
}

/** One refresh: fetch, apply the policies, render, write, report. */
async function refresh(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  target: TargetState,
): Promise<void> {
  const creation = creationPolicyOf(es);
  if (creation !== 'None' && !target.generic) assertWritable(target.existing, es, creation);
  const fetched = await fetchAll(ctx, es);
  if (fetched.missing.length) {
    ctx.log.info('Remote keys are gone; left out of the Secret by deletionPolicy.', {
      ...logFields(es),
      missing: fetched.missing,
    });
  }
  if (!Object.keys(fetched.data).length && (await emptyFetch(ctx, es, target))) return;
  if (creation === 'None') return markDone(ctx, es, EsReason.SecretSynced, MSG_SYNCED_NONE);
  const sources = await readTemplateSources(ctx, es);
  let rendered;
  try {
    rendered = renderTemplate(
      es.spec.target?.template as ExternalSecretTemplate | undefined,
      fetched.data,
      sources,
    );
  } catch (err) {
    throw asSyncError(err, MSG_APPLY_TEMPLATE);
  }
  const outcome = await write(ctx, es, target, rendered, creation);
  if (
    outcome === 'created' &&
    creation === 'Owner' &&
    !target.generic &&
    mayHaveOrphans(es, targetName(es))
  ) {
    await cleanUpOrphans(ctx, es);
  }
  const binding = target.generic ? undefined : targetName(es);
  // The event and the status are independent writes: sent together, a sync waits one round trip, not two.
  await Promise.all([
    outcome === 'unchanged' ? undefined : reportWrite(ctx, es, outcome, Object.keys(rendered.data), target),
    markDone(ctx, es, EsReason.SecretSynced, MSG_SYNCED, binding),
  ]);
}

/** Event and log line for a write. */
async function reportWrite(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  outcome: 'created' | 'updated',
  keys: string[],
  target: TargetState,
): Promise<void> {
  const created = outcome === 'created';
  const kind = target.generic?.ref.kind;
  // a generic target's event names its kind, as ESO's "Created ConfigMap app-config"
  const generic = kind && `${created ? 'Created' : 'Updated'} ${kind} ${targetName(es)}`;
  await recordEvent(ctx.client, ctx.log, es, {
    type: 'Normal',
    reason: created ? EventReason.Created : EventReason.Updated,
    message: generic || (created ? EVENT_CREATED : EVENT_UPDATED),
  });
  ctx.log.info(`${created ? 'Created' : 'Updated'} the target ${kind ?? 'Secret'}.`, {
    ...logFields(es),
    keys: keys.sort(),
  });
}

/** After the target moved to a new name (Owner): the Secrets of the old names go, as ESO. */
async function cleanUpOrphans(ctx: ExternalSecretContext, es: ExternalSecretObject): Promise<void> {
  for (const name of await deleteOrphanedSecrets(ctx, es, targetName(es))) {
    await recordEvent(ctx.client, ctx.log, es, {
      type: 'Normal',
      reason: EventReason.Deleted,
      message: EVENT_DELETED_ORPHANED,
    });
    ctx.log.info('Deleted a Secret of an earlier target name.', { ...logFields(es), orphan: name });
  }
}

function logFields(es: ExternalSecretObject): Record<string, string> {
  return { externalSecret: `${es.metadata.namespace}/${es.metadata.name}`, secret: targetName(es) };
}

/**
 * Records a failed refresh. The work queue retries it with its per-key exponential backoff
 * (`retryBaseMs` doubling, reset by a success), never later than the refresh interval nor `retryMaxMs`;
 * a terminal failure (not `retryable`) waits that long at once.
 */
async function failed(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  err: unknown,
): Promise<ReconcileResult> {
  const e = asSyncError(err, MSG_UPDATE_SECRET);
  const interval = refreshIntervalMs(es, ctx.settings.defaultRefreshIntervalMs);
  externalSecretRefreshes.inc({ result: 'failed' });
  syncCallsError.inc({ name: es.metadata.name, namespace: es.metadata.namespace });
  const fresh = await markFailed(ctx, es, e.message);
  const level = fresh ? 'warn' : 'debug';
  ctx.log[level]('Refresh failed; the Secret is left as it was. Retrying with backoff.', {
    ...logFields(es),
    reason: e.message,
  });
  return { failed: { maxDelayMs: interval > 0 ? interval : undefined, permanent: !e.retryable } };
}

/**
 * Reconciles the ExternalSecret `namespace/name`.
 * @returns when to run again (next refresh, or retry after a failure).
 * @throws on API errors reading the ExternalSecret or its Secret, or writing status (the queue retries).
 */
export async function reconcileExternalSecret(
  ctx: ExternalSecretContext,
  namespace: string,
  name: string,
): Promise<ReconcileResult> {
  const key = externalSecretKey(namespace, name);
  // The watch's copy (cache.ts); a GET when the watch has none (deleted, or not delivered yet).
  const es =
    (ctx.cache?.externalSecrets.get(namespace, name) as unknown as ExternalSecretObject | undefined) ??
    (await getExternalSecret(ctx.client, namespace, name));
  if (!es) {
    ctx.refs.delete(key);
    return {};
  }
  ctx.refs.set(es);
  if (es.metadata.deletionTimestamp) return {}; // the garbage collector removes an owned Secret
  const problems = [
    ...specProblems(es),
    ...genericTargetProblems(es, ctx.settings.allowGenericTargets === true),
  ];
  if (problems.length) {
    if (await markFailed(ctx, es, `${MSG_INVALID_SPEC}: ${problems.join('; ')}`))
      ctx.log.warn('ExternalSecret spec is invalid; nothing is written.', {
        ...logFields(es),
        reason: problems.join('; '),
      });
    return {};
  }
  const creation = creationPolicyOf(es);
  let target: TargetState;
  try {
    target = await readTarget(ctx, es, creation);
  } catch (err) {
    if (err instanceof SyncError) return failed(ctx, es, err); // a generic target's kind
    throw err;
  }
  if (!needsRefresh(ctx, es, target)) {
    externalSecretRefreshes.inc({ result: 'skipped' });
    return requeue(ctx, es);
  }
  try {
    // A refresh compares the rendered data with the live Secret: read it unless it is known absent.
    if (target.known === 'ours') target = await readTarget(ctx, es, creation, { get: true });
    await refresh(ctx, es, target);
  } catch (err) {
    return failed(ctx, es, err);
  }
  externalSecretRefreshes.inc({ result: 'synced' });
  return requeue(ctx, es);
}
