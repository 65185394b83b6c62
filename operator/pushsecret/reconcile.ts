/**
 * One reconcile of one PushSecret, level-based, as ESO's controller:
 *
 *   get -> deletion? (deletionPolicy Delete: delete every synced value, then drop the finalizer)
 *   -> validate (terminal: Ready False, nothing pushed or deleted) -> finalizer per deletionPolicy
 *   -> source (Secret or label selector; a generator only when a push is due) -> due? (spec changed,
 *   last push failed, refreshInterval passed, or a source Secret changed since the last push) ->
 *   template -> per store: resolve (exists, allowed, Ready, writable) -> decide (plan.ts) -> act (push,
 *   honouring updatePolicy IfNotExists; delete values removed from data; delete everything pushed to a
 *   store that left the spec, under deletionPolicy Delete) -> status (syncedPushSecrets, refreshTime,
 *   syncedResourceVersion, syncedSourceVersion, Ready) -> requeue after refreshInterval.
 *
 * A source that cannot be read pushes and deletes nothing; a store that fails keeps its previous
 * `syncedPushSecrets` entries (so nothing is forgotten or wrongly deleted) and the others go on.
 * The operator enqueues a PushSecret when one of its source Secrets changes (operator.ts).
 */
import type { PushSecret, PushSecretData } from '../../generated/pushsecret';
import { parseGoDuration } from '../common/goduration';
import { setCondition, type Condition } from '../externalsecret/conditions';
import type { ExternalSecretContext } from '../externalsecret/context';
import { asSyncError, SyncError } from '../externalsecret/errors';
import { syncedResourceVersion } from '../externalsecret/refresh';
import type { StoreRef } from '../externalsecret/refs';
import type { ResolvedStore } from '../externalsecret/stores';
import { isNotFound } from '../kube/client';
import { recordEvent } from '../kube/events';
import {
  providerFor,
  type PushSecretData as ProviderPushData,
  type PushSourceSecret,
  type SecretsClient,
} from '../providers';
import type { ReconcileResult } from '../runtime/workqueue';
import { validateResource } from '../validation/validate';
import {
  CONDITION_READY,
  DEFAULT_REFRESH_MS,
  MSG_DELETE,
  MSG_INVALID_SPEC,
  MSG_PUSH,
  MSG_SOURCE,
  MSG_STORE,
  MSG_SYNCED,
  MSG_SYNCED_IF_NOT_EXISTS,
  PS_FINALIZER,
  PS_GROUP,
  PS_PLURAL,
  PS_VERSION,
  PsReason,
} from './constants';
import {
  decide,
  storesToClear,
  expandDataTo,
  reverseKeys,
  statusRef,
  storeStatusKey,
  type PlannedEntry,
  type SyncedPushSecrets,
} from './plan';
import { applyTemplate, readSources } from './source';
import { resolveOne, storeRefs } from './stores';

/** What a PushSecret reconcile needs: the ExternalSecret family's context (client, limiter, settings). */
export type PushContext = Pick<ExternalSecretContext, 'client' | 'log' | 'settings' | 'limiter' | 'now'>;

/** The API path of a PushSecret. */
export function pushSecretPath(namespace: string, name: string): string {
  return `/apis/${PS_GROUP}/${PS_VERSION}/namespaces/${encodeURIComponent(namespace)}/${PS_PLURAL}/${encodeURIComponent(name)}`;
}

/** The spec's problems (schema, refreshInterval, data entries), as `field: problem`. */
export function pushSecretProblems(ps: PushSecret): string[] {
  const result = validateResource('PushSecret', ps);
  const problems = result.valid ? [] : [...result.errors];
  const every = ps.spec?.refreshInterval;
  if (every !== undefined && parseGoDuration(every) === undefined)
    problems.push('spec.refreshInterval: must be a Go duration such as 10s or 1h');
  (ps.spec?.secretStoreRefs ?? []).forEach((r, i) => {
    if (!r.name && !r.labelSelector) problems.push(`spec.secretStoreRefs[${i}]: set name or labelSelector`);
  });
  (ps.spec?.dataTo ?? []).forEach((d, i) => {
    if (!d.storeRef?.name && !d.storeRef?.labelSelector)
      problems.push(`spec.dataTo[${i}].storeRef: set name or labelSelector`);
    if (d.remoteKey && d.rewrite?.length)
      problems.push(
        `spec.dataTo[${i}]: remoteKey and rewrite are mutually exclusive (rewrite is per-key only)`,
      );
  });
  const seen = new Set<string>();
  (ps.spec?.data ?? []).forEach((d, i) => {
    const ref = statusRef(d);
    if (seen.has(ref)) problems.push(`spec.data[${i}]: remoteRef ${ref} is pushed twice`);
    seen.add(ref);
  });
  return problems;
}

/** `spec.refreshInterval` in ms (ESO default 1h; 0: only on changes). */
export function refreshIntervalMs(ps: PushSecret): number {
  const every = ps.spec.refreshInterval;
  return (every === undefined ? undefined : parseGoDuration(every)) ?? DEFAULT_REFRESH_MS;
}

function ready(ps: PushSecret): Condition | undefined {
  return (ps.status?.conditions as Condition[] | undefined)?.find((c) => c.type === CONDITION_READY);
}

/**
 * When the next push is due, in ms from `now` (0: now): at once after a spec change or a failure,
 * else `refreshInterval` after the last push (never, for 0).
 */
export function dueInMs(ps: PushSecret, now: number): number | undefined {
  if (ps.status?.syncedResourceVersion !== syncedResourceVersion(ps as never)) return 0;
  if (ready(ps)?.status !== 'True' || !ps.status?.refreshTime) return 0;
  const every = refreshIntervalMs(ps);
  if (every <= 0) return undefined;
  return Math.max(0, Date.parse(ps.status.refreshTime) + every - now);
}

/**
 * Whether to push now: a push is due (`wait` 0: spec changed, last push failed, or refreshInterval
 * passed), or the source Secrets changed since the last push (their version, source.ts `sourceVersion`, differs from
 * `status.syncedSourceVersion`), whatever the refresh interval, `0` included.
 * @param wait - {@link dueInMs}.
 * @param version - the source's version now (unset for a generator).
 */
export function sourceChanged(
  wait: number | undefined,
  version: string | undefined,
  ps: PushSecret,
): boolean {
  if (wait === 0) return true;
  return version !== undefined && version !== ps.status?.syncedSourceVersion;
}

async function patch(
  ctx: PushContext,
  ps: PushSecret,
  body: Record<string, unknown>,
  sub = '',
): Promise<void> {
  try {
    await ctx.client.request(
      'PATCH',
      pushSecretPath(String(ps.metadata.namespace), String(ps.metadata.name)) + sub,
      {
        body,
        contentType: 'application/merge-patch+json',
      },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Ready False with reason Errored and `message` (as ESO's markAsFailed): a push or a spec that failed. */
function errored(message: string): Omit<Condition, 'lastTransitionTime'> {
  return { type: CONDITION_READY, status: 'False', reason: PsReason.Errored, message };
}

/**
 * The merge patch that turns `old` into `next`: a merge patch merges maps, so stores and entries that
 * are gone are sent as null.
 */
function syncedMergePatch(
  old: SyncedPushSecrets | undefined,
  next: SyncedPushSecrets,
): Record<string, unknown> {
  const synced: Record<string, unknown> = {};
  for (const store of Object.keys(old ?? {})) if (!(store in next)) synced[store] = null;
  for (const [store, entries] of Object.entries(next)) {
    const merged: Record<string, unknown> = { ...entries };
    for (const ref of Object.keys(old?.[store] ?? {})) if (!(ref in entries)) merged[ref] = null;
    synced[store] = merged;
  }
  return synced;
}

async function writeStatus(
  ctx: PushContext,
  ps: PushSecret,
  status: { syncedPushSecrets?: SyncedPushSecrets; pushed?: boolean; sourceVersion?: string },
  condition: Omit<Condition, 'lastTransitionTime'>,
): Promise<void> {
  const now = new Date(ctx.now()).toISOString();
  const conditions = setCondition(ps.status?.conditions as Condition[] | undefined, condition, now);
  const next: Record<string, unknown> = { conditions };
  if (status.syncedPushSecrets) next.syncedPushSecrets = status.syncedPushSecrets;
  if (status.pushed) {
    next.refreshTime = now;
    next.syncedResourceVersion = syncedResourceVersion(ps as never);
    if (status.sourceVersion) next.syncedSourceVersion = status.sourceVersion;
  }
  if (status.syncedPushSecrets)
    next.syncedPushSecrets = syncedMergePatch(
      ps.status?.syncedPushSecrets as SyncedPushSecrets | undefined,
      status.syncedPushSecrets,
    );
  await patch(ctx, ps, { status: next }, '/status');
  // as ESO's markAsDone / markAsFailed: an event per push and per failure (names only, never values)
  await recordEvent(ctx.client, ctx.log, ps, {
    type: condition.status === 'True' ? 'Normal' : 'Warning',
    reason: condition.reason ?? PsReason.Errored,
    message: condition.message ?? '',
  });
}

async function setFinalizer(ctx: PushContext, ps: PushSecret, present: boolean): Promise<void> {
  const list = ps.metadata.finalizers ?? [];
  if (list.includes(PS_FINALIZER) === present) return;
  const finalizers = present ? [...list, PS_FINALIZER] : list.filter((f) => f !== PS_FINALIZER);
  await patch(ctx, ps, { metadata: { finalizers, resourceVersion: ps.metadata.resourceVersion } });
}

/** A writing client for one store (closed by the caller). */
async function clientFor(ctx: PushContext, namespace: string, store: ResolvedStore): Promise<SecretsClient> {
  const { provider } = providerFor(store.store.spec as { provider?: Record<string, unknown> });
  const client = await provider.newClient({
    store: {
      kind: store.ref.kind,
      name: store.ref.name,
      namespace: store.store.metadata.namespace,
      spec: store.store.spec,
    },
    namespace,
    kube: ctx.client,
    log: ctx.log,
    limits: ctx.settings.providerLimits,
  });
  if (!client.pushSecret || !client.deleteSecret) {
    await client.close();
    throw new SyncError(MSG_STORE, `${store.ref.kind} "${store.ref.name}": its provider cannot write`);
  }
  return client;
}

function toProviderData(entry: PushSecretData): Omit<ProviderPushData, 'secretKey'> & { secretKey?: string } {
  return {
    secretKey: entry.match.secretKey || undefined,
    remoteKey: entry.match.remoteRef.remoteKey,
    property: entry.match.remoteRef.property || undefined,
    metadata: entry.metadata,
  };
}

/**
 * Waits for a request slot on the store's rate limiter: the ExternalSecret family's limiter, keyed as
 * the ExternalSecret operator keys it (store key and provider kind), so that reads and pushes to one
 * store share one budget.
 */
function limit(ctx: PushContext, store: ResolvedStore): Promise<void> {
  const provider = (store.store.spec as { provider?: Record<string, unknown> } | undefined)?.provider;
  return ctx.limiter.wait(store.key, provider ? Object.keys(provider)[0] : undefined);
}

/** One push of one entry to one store. */
interface PushJob {
  client: SecretsClient;
  /** store - the resolved store (its rate-limiter key and provider kind). */
  store: ResolvedStore;
  entry: PushSecretData;
  sources: PushSourceSecret[];
  /** previouslySynced - the entry was pushed here before (so it is ours). */
  previouslySynced: boolean;
}

/** Pushes one entry from every source, honouring updatePolicy IfNotExists. @returns whether it counts as synced. */
async function pushEntry(ctx: PushContext, ps: PushSecret, job: PushJob): Promise<boolean> {
  const data = toProviderData(job.entry);
  if (ps.spec.updatePolicy === 'IfNotExists') {
    await limit(ctx, job.store);
    // a value someone else wrote stays theirs: not recorded, so deletionPolicy never deletes it
    if (await job.client.secretExists!(data)) return job.previouslySynced;
  }
  // with a label selector, each matching Secret that has the key is pushed, in name order
  const converted = job.sources
    .map((source) => ({ ...source, data: reverseKeys(job.entry.conversionStrategy, source.data) }))
    .filter((source) => !data.secretKey || data.secretKey in source.data);
  if (!converted.length) {
    throw new SyncError(MSG_SOURCE, `key "${data.secretKey}" is not in the source Secret(s)`, true);
  }
  for (const source of converted) {
    await limit(ctx, job.store);
    await job.client.pushSecret!(source, data);
  }
  return true;
}

interface StoreOutcome {
  synced: Record<string, PushSecretData>;
  error?: string;
}

/** Pushes to and deletes from one store; a failure keeps the store's previous entries. */
async function syncStore(
  ctx: PushContext,
  ps: PushSecret,
  plan: StorePlan,
  sources: PushSourceSecret[],
  previous: SyncedPushSecrets,
): Promise<StoreOutcome> {
  const { ref } = plan;
  const namespace = String(ps.metadata.namespace);
  const statusKey = storeStatusKey(ref.kind, ref.name);
  const before = previous[statusKey] ?? {};
  let client: SecretsClient | undefined;
  const synced: Record<string, PushSecretData> = {};
  try {
    const store = await resolveOne(ctx, namespace, ref);
    client = await clientFor(ctx, namespace, store);
    for (const d of decide(ps, statusKey, plan.planned, previous)) {
      const at = `${ref.kind} "${ref.name}" remoteKey "${statusRef(d.entry)}"`;
      if (d.action === 'push') {
        try {
          const job = {
            client,
            store,
            entry: d.entry,
            sources: d.keys ? sources.map((src) => onlyKeys(src, d.keys!)) : sources,
            previouslySynced: statusRef(d.entry) in before,
          };
          if (await pushEntry(ctx, ps, job)) synced[statusRef(d.entry)] = d.entry;
        } catch (err) {
          throw asSyncError(err, MSG_PUSH, at);
        }
      } else {
        try {
          await limit(ctx, store);
          await client.deleteSecret!(toProviderData(d.entry));
        } catch (err) {
          synced[statusRef(d.entry)] = d.entry; // still there: try again next time
          throw asSyncError(err, MSG_DELETE, at);
        }
      }
    }
    return { synced };
  } catch (err) {
    // keep what was synced before (nothing is forgotten) plus what this attempt pushed
    return {
      synced: { ...before, ...synced },
      error: asSyncError(err, MSG_STORE, `${ref.kind} "${ref.name}"`).message,
    };
  } finally {
    await client?.close();
  }
}

/** The store ref of a `syncedPushSecrets` key (`Kind/name`). */
function refOfStatusKey(key: string): StoreRef {
  const [kind, ...rest] = key.split('/');
  return { kind: kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore', name: rest.join('/') };
}

/**
 * Deletes every value recorded under one store of `syncedPushSecrets` (the PushSecret is deleted, or
 * the store left `secretStoreRefs`, under `deletionPolicy: Delete`; ESO `DeleteAllSecretsFromStore`).
 * A store that no longer exists has nothing left to delete from. Never throws.
 * @returns the entries still there (those not deleted yet) and the first error, naming store and key.
 */
async function deleteAllFrom(
  ctx: PushContext,
  namespace: string,
  statusKey: string,
  entries: Record<string, PushSecretData>,
): Promise<StoreOutcome> {
  const ref = refOfStatusKey(statusKey);
  const left: Record<string, PushSecretData> = { ...entries };
  let client: SecretsClient | undefined;
  try {
    let store: ResolvedStore;
    try {
      store = await resolveOne(ctx, namespace, ref);
    } catch (err) {
      if (err instanceof SyncError && /not found/.test(err.message)) return { synced: {} }; // the store is gone
      throw err;
    }
    client = await clientFor(ctx, namespace, store);
    for (const [statusRefKey, entry] of Object.entries(entries)) {
      try {
        await limit(ctx, store);
        await client.deleteSecret!(toProviderData(entry));
        delete left[statusRefKey];
      } catch (err) {
        throw asSyncError(err, MSG_DELETE, `${ref.kind} "${ref.name}" remoteKey "${statusRefKey}"`);
      }
    }
    return { synced: left };
  } catch (err) {
    return { synced: left, error: asSyncError(err, MSG_STORE, `${ref.kind} "${ref.name}"`).message };
  } finally {
    await client?.close();
  }
}

/** deletionPolicy Delete on removal: every synced value is deleted, then the finalizer goes. */
async function finalize(ctx: PushContext, ps: PushSecret): Promise<ReconcileResult> {
  if (!(ps.metadata.finalizers ?? []).includes(PS_FINALIZER)) return {};
  const previous = (ps.status?.syncedPushSecrets ?? {}) as SyncedPushSecrets;
  const namespace = String(ps.metadata.namespace);
  for (const statusKey of storesToClear(ps, previous)) {
    const out = await deleteAllFrom(ctx, namespace, statusKey, previous[statusKey]);
    if (out.error) {
      // as ESO's "Failed to Delete Secrets from Provider": said in Ready; the queue retries and the
      // finalizer stays until every value is gone
      await writeStatus(ctx, ps, {}, errored(out.error.slice(0, 1000)));
      throw new Error(out.error);
    }
  }
  await setFinalizer(ctx, ps, false);
  ctx.log.info('Deleted the pushed values of a deleted PushSecret (deletionPolicy Delete).', {
    pushSecret: `${namespace}/${ps.metadata.name}`,
  });
  return {};
}

/** The stores to push to and what each gets: `data` for secretStoreRefs, `dataTo` for its storeRef. */
interface StorePlan {
  ref: StoreRef;
  planned: PlannedEntry[];
}

/** A source limited to `keys` (a dataTo bundle). */
function onlyKeys(source: PushSourceSecret, keys: string[]): PushSourceSecret {
  const data: Record<string, Buffer> = {};
  for (const k of keys) if (k in source.data) data[k] = source.data[k];
  return { ...source, data };
}

/**
 * Plans every store: `spec.data` at each of `secretStoreRefs`, then each `spec.dataTo` entry expanded
 * over the source keys at its `storeRef` (an explicit `data` entry wins for the same remote key).
 */
async function planStores(
  ctx: PushContext,
  ps: PushSecret,
  sources: PushSourceSecret[],
): Promise<StorePlan[]> {
  const plans: StorePlan[] = [];
  const planFor = (ref: StoreRef): StorePlan => {
    let plan = plans.find((p) => p.ref.kind === ref.kind && p.ref.name === ref.name);
    if (!plan) plans.push((plan = { ref, planned: [] }));
    return plan;
  };
  for (const ref of await storeRefs(ctx, ps, ps.spec.secretStoreRefs ?? []))
    planFor(ref).planned.push(...(ps.spec.data ?? []).map((entry) => ({ entry })));
  for (const [i, dataTo] of (ps.spec.dataTo ?? []).entries()) {
    const keys = new Set(sources.flatMap((s) => Object.keys(reverseKeys(dataTo.conversionStrategy, s.data))));
    const expanded = expandDataTo(dataTo, [...keys], `spec.dataTo[${i}]`);
    for (const ref of await storeRefs(ctx, ps, [dataTo.storeRef])) {
      const plan = planFor(ref);
      const taken = new Set(plan.planned.map((p) => statusRef(p.entry)));
      plan.planned.push(...expanded.filter((p) => !taken.has(statusRef(p.entry))));
    }
  }
  return plans;
}

/** Pushes to every store of the spec; each store's failure is collected, never thrown. */
async function pushAll(
  ctx: PushContext,
  ps: PushSecret,
  sources: PushSourceSecret[],
  previous: SyncedPushSecrets,
): Promise<{ synced: SyncedPushSecrets; errors: string[] }> {
  const synced: SyncedPushSecrets = {};
  const errors: string[] = [];
  const plans = await planStores(ctx, ps, sources);
  const refs = plans.map((p) => p.ref);
  for (const plan of plans) {
    const out = await syncStore(ctx, ps, plan, sources, previous);
    if (Object.keys(out.synced).length) synced[storeStatusKey(plan.ref.kind, plan.ref.name)] = out.synced;
    if (out.error) errors.push(out.error);
  }
  // A store no longer referenced (left secretStoreRefs, or no longer matched by a labelSelector): under
  // deletionPolicy Delete what was pushed there is deleted, as ESO's DeleteSecretFromProviders; entries
  // that could not be deleted stay recorded, to be tried again. Under None they are forgotten.
  const current = refs.map((r) => storeStatusKey(r.kind, r.name));
  for (const store of storesToClear(ps, previous, current)) {
    const out = await deleteAllFrom(ctx, String(ps.metadata.namespace), store, previous[store]);
    if (Object.keys(out.synced).length) synced[store] = out.synced;
    if (out.error) errors.push(out.error);
  }
  return { synced, errors };
}

/**
 * Retry pace after a failure: the work queue's per-key exponential backoff (1 s doubling, at most the
 * refresh interval and 5 min; reset by a success), as ESO's controller returning the error to
 * controller-runtime's rate limiter; terminal ones wait a refresh.
 */
function retryAfter(ps: PushSecret, retryable: boolean): ReconcileResult {
  const every = refreshIntervalMs(ps);
  if (!retryable) return every > 0 ? { requeueAfterMs: every } : {};
  return { failed: every > 0 ? { maxDelayMs: every } : {} };
}

/**
 * Reconciles the PushSecret `namespace/name`.
 * @returns when to run again.
 * @throws on API errors reading or patching the PushSecret (the queue retries), and provider errors while finalizing.
 */
export async function reconcilePushSecret(
  ctx: PushContext,
  namespace: string,
  name: string,
): Promise<ReconcileResult> {
  let ps: PushSecret;
  try {
    ps = await ctx.client.request<PushSecret>('GET', pushSecretPath(namespace, name));
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  const id = { pushSecret: `${namespace}/${name}` };
  if (ps.metadata.deletionTimestamp) return finalize(ctx, ps);
  const problems = pushSecretProblems(ps);
  if (problems.length) {
    await writeStatus(ctx, ps, {}, errored(`${MSG_INVALID_SPEC}: ${problems.join('; ')}`.slice(0, 1000)));
    return {};
  }
  await setFinalizer(ctx, ps, ps.spec.deletionPolicy === 'Delete');
  const wait = dueInMs(ps, ctx.now());
  const notYet = (): ReconcileResult => (wait === undefined ? {} : { requeueAfterMs: wait });
  // a generator makes a new value on every read: it is read only when a push is due
  if (ps.spec.selector?.generatorRef && wait !== 0) return notYet();
  const previous = (ps.status?.syncedPushSecrets ?? {}) as SyncedPushSecrets;
  let sources: PushSourceSecret[];
  let version: string | undefined;
  try {
    const read = await readSources(ctx.client, ps);
    version = read.version;
    if (!sourceChanged(wait, read.version, ps)) return notYet();
    sources = await Promise.all(read.secrets.map((src) => applyTemplate(ctx.client, ps, src)));
  } catch (err) {
    const e = asSyncError(err, MSG_PUSH);
    await writeStatus(ctx, ps, {}, errored(e.message));
    ctx.log.warn('PushSecret source could not be read; nothing pushed or deleted.', {
      ...id,
      reason: e.message,
    });
    return retryAfter(ps, e.retryable);
  }
  const { synced, errors } = await pushAll(ctx, ps, sources, previous);
  if (errors.length) {
    await writeStatus(ctx, ps, { syncedPushSecrets: synced }, errored(errors.join('; ').slice(0, 1000)));
    ctx.log.warn('PushSecret push failed for some stores.', { ...id, reason: errors.join('; ') });
    return retryAfter(ps, true);
  }
  await writeStatus(
    ctx,
    ps,
    { syncedPushSecrets: synced, pushed: true, sourceVersion: version },
    {
      type: CONDITION_READY,
      status: 'True',
      reason: PsReason.Synced,
      message: ps.spec.updatePolicy === 'IfNotExists' ? MSG_SYNCED_IF_NOT_EXISTS : MSG_SYNCED,
    },
  );
  const every = refreshIntervalMs(ps);
  return every > 0 ? { requeueAfterMs: every } : {};
}
