/**
 * The stores a PushSecret writes to (ESO `spec.secretStoreRefs`): each by name, or every store of that
 * kind matching `labelSelector`; each must exist, be allowed for the namespace (a ClusterSecretStore's
 * conditions), be Ready, and have a provider that can write (capabilities ReadWrite or WriteOnly).
 */
import type { PushSecret, PushSecretStoreRef } from '../../generated/pushsecret';
import { ES_API_VERSION } from '../externalsecret/constants';
import type { ExternalSecretContext } from '../externalsecret/context';
import { SyncError } from '../externalsecret/errors';
import { labelSelectorMatches } from '../externalsecret/namespaces';
import type { StoreRef } from '../externalsecret/refs';
import { resolveStoreRefs, type ResolvedStore } from '../externalsecret/stores';
import type { StoreObject } from '../externalsecret/types';
import { providerFor } from '../providers';
import { MSG_STORE } from './constants';

/** Store refs (`secretStoreRefs`, or a `dataTo` storeRef), label selectors expanded by listing the stores. */
export async function storeRefs(
  ctx: Pick<ExternalSecretContext, 'client'>,
  ps: PushSecret,
  list: PushSecretStoreRef[],
): Promise<StoreRef[]> {
  const ns = encodeURIComponent(String(ps.metadata.namespace));
  const refs: StoreRef[] = [];
  const add = (r: StoreRef): void => {
    if (!refs.some((x) => x.kind === r.kind && x.name === r.name)) refs.push(r);
  };
  for (const ref of list) {
    const kind = ref.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore';
    if (ref.name) add({ kind, name: ref.name });
    else if (ref.labelSelector) {
      const path =
        kind === 'ClusterSecretStore'
          ? `/apis/${ES_API_VERSION}/clustersecretstores`
          : `/apis/${ES_API_VERSION}/namespaces/${ns}/secretstores`;
      const list = await ctx.client.request<{ items?: StoreObject[] }>('GET', path);
      const selector = ref.labelSelector;
      for (const s of list.items ?? [])
        if (labelSelectorMatches(selector, s.metadata.labels ?? {})) add({ kind, name: s.metadata.name });
    }
  }
  return refs;
}

/** Throws unless the store's provider can write. */
export function assertWritable(store: ResolvedStore): void {
  const { provider } = providerFor(store.store.spec as { provider?: Record<string, unknown> });
  if (provider.capabilities === 'ReadOnly') {
    throw new SyncError(
      MSG_STORE,
      `${store.ref.kind} "${store.ref.name}": provider "${provider.name}" is read-only and cannot be pushed to`,
    );
  }
}

/**
 * Resolves one store ref (exists, allowed, Ready, writable).
 * @throws SyncError naming the store.
 */
export async function resolveOne(
  ctx: Pick<ExternalSecretContext, 'client' | 'settings'>,
  namespace: string,
  ref: StoreRef,
): Promise<ResolvedStore> {
  const [resolved] = (await resolveStoreRefs(ctx, namespace, [ref])).values();
  assertWritable(resolved);
  return resolved;
}
