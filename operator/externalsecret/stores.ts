/**
 * Resolving the stores an ExternalSecret reads from (ESO's client manager): a SecretStore of the
 * ExternalSecret's namespace or a ClusterSecretStore; a ClusterSecretStore's `spec.conditions` must
 * allow the namespace; the store must be Ready (validated by the store operator). Any failure is a
 * SyncError naming the store, and nothing is written.
 */
import type { ClusterSecretStoreSpec } from '../../generated/clustersecretstore';
import { isScoped, WATCH_NAMESPACES_FLAG } from '../kube/scope';
import { getNamespaceLabels, getStore } from './api';
import { CONDITION_READY, MSG_STORE } from './constants';
import { getCondition, type Condition } from './conditions';
import type { ExternalSecretContext } from './context';
import { SyncError } from './errors';
import { conditionsNeedLabels, namespaceAllowed } from './namespaces';
import { storeKey, storeRefsOf, type StoreRef } from './refs';
import type { ExternalSecretObject, StoreObject } from './types';

/** A store an ExternalSecret may read from. */
export interface ResolvedStore {
  /** key - `SecretStore/<ns>/<name>` or `ClusterSecretStore//<name>` (the rate limiter's key). */
  key: string;
  /** ref - kind and name. */
  ref: StoreRef;
  /** store - the store object. */
  store: StoreObject;
}

/** ESO's message for a namespace a ClusterSecretStore's conditions refuse. */
export function notAllowedMessage(store: string, namespace: string): string {
  return `using ClusterSecretStore "${store}" is not allowed from namespace "${namespace}": denied by spec.conditions`;
}

/** Why a ClusterSecretStore cannot be used by a scoped install (`--watch-namespaces`). */
export function clusterStoreScopedMessage(store: string): string {
  return (
    `ClusterSecretStore "${store}" cannot be used: capstan runs with ${WATCH_NAMESPACES_FLAG} ` +
    `(a namespaced install), which does not read ClusterSecretStores; use a SecretStore in this namespace`
  );
}

async function checkNamespace(
  ctx: Pick<ExternalSecretContext, 'client'>,
  store: StoreObject,
  namespace: string,
): Promise<void> {
  const conditions = (store.spec as ClusterSecretStoreSpec).conditions;
  if (!conditions?.length) return;
  const labels = conditionsNeedLabels(conditions) ? await getNamespaceLabels(ctx.client, namespace) : {};
  if (!namespaceAllowed(conditions, { name: namespace, labels: labels ?? {} })) {
    throw new SyncError(MSG_STORE, notAllowedMessage(store.metadata.name, namespace));
  }
}

function isReady(store: StoreObject): boolean {
  return (
    getCondition(store.status?.conditions as Condition[] | undefined, CONDITION_READY)?.status === 'True'
  );
}

function checkReady(ref: StoreRef, store: StoreObject): void {
  const ready = getCondition(store.status?.conditions as Condition[] | undefined, CONDITION_READY);
  if (ready?.status === 'True') return;
  const why = ready ? `${ready.reason ?? 'NotReady'}: ${ready.message ?? ''}` : 'not validated yet';
  // retryable: cheap to retry (no provider call), and the store's status event also re-queues at once
  throw new SyncError(MSG_STORE, `${ref.kind} "${ref.name}" is not ready (${why})`, true);
}

/**
 * The store from the watch's cache (cache.ts) when it is Ready there, else a GET: a store the watch has
 * not delivered yet, or whose Ready status it has not delivered yet (a store created just before its
 * ExternalSecrets is validated meanwhile), is read as the API server has it.
 */
async function readStore(
  ctx: Pick<ExternalSecretContext, 'client'> & Partial<Pick<ExternalSecretContext, 'cache'>>,
  ref: StoreRef,
  namespace: string,
): Promise<StoreObject | undefined> {
  const ns = ref.kind === 'ClusterSecretStore' ? undefined : namespace;
  const cached = ctx.cache?.stores.get(ref.kind)?.get(ns, ref.name);
  if (cached && isReady(cached as unknown as StoreObject)) return cached as unknown as StoreObject;
  return getStore(ctx.client, ref.kind, namespace, ref.name);
}

/**
 * Resolves every store of the ExternalSecret.
 * @returns the stores by key.
 * @throws SyncError when a store is missing (retryable), not allowed in this namespace, or not Ready.
 */
export function resolveStores(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
): Promise<Map<string, ResolvedStore>> {
  return resolveStoreRefs(ctx, es.metadata.namespace, storeRefsOf(es));
}

/**
 * Resolves stores used from `namespace` (ExternalSecrets, PushSecrets): exists, allowed, Ready.
 * @throws SyncError as {@link resolveStores}.
 */
export async function resolveStoreRefs(
  ctx: Pick<ExternalSecretContext, 'client' | 'settings'> & Partial<Pick<ExternalSecretContext, 'cache'>>,
  namespace: string,
  refs: StoreRef[],
): Promise<Map<string, ResolvedStore>> {
  const out = new Map<string, ResolvedStore>();
  for (const ref of refs) {
    if (ref.kind === 'ClusterSecretStore' && isScoped(ctx.settings.watchNamespaces)) {
      // A tenant install has no grant on cluster-scoped stores (ESO's scopedNamespace ignores them too).
      throw new SyncError(MSG_STORE, clusterStoreScopedMessage(ref.name));
    }
    const store = await readStore(ctx, ref, namespace);
    if (!store) {
      const where = ref.kind === 'SecretStore' ? ` in namespace "${namespace}"` : '';
      throw new SyncError(MSG_STORE, `${ref.kind} "${ref.name}" not found${where}`, true);
    }
    if (ref.kind === 'ClusterSecretStore') await checkNamespace(ctx, store, namespace);
    checkReady(ref, store);
    out.set(storeKey(ref, namespace), { key: storeKey(ref, namespace), ref, store });
  }
  return out;
}
