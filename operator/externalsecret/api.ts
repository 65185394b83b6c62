/**
 * Reads and writes of the objects the ExternalSecret operators touch, over capstan's generic client:
 * ExternalSecrets and stores (status merge patches), target Secrets, namespaces, and the ConfigMaps
 * and Secrets of `templateFrom`. Each getter answers undefined for a 404.
 */
import { KubeClient, isNotFound } from '../kube/client';
import type { ResourceType } from '../kube/discovery';
import { ES_GROUP, ES_VERSION } from './constants';
import type { ExternalSecretObject, SecretObject, StoreKind, StoreObject } from './types';

/** core/v1 Secrets, for server-side apply and the informer (no discovery needed for a core type). */
export const SECRETS: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
};

const enc = encodeURIComponent;
const base = `/apis/${ES_GROUP}/${ES_VERSION}`;

/** The API path of an ExternalSecret. */
export function externalSecretPath(namespace: string, name: string): string {
  return `${base}/namespaces/${enc(namespace)}/externalsecrets/${enc(name)}`;
}

/** The API path of a store (`namespace` ignored for a ClusterSecretStore). */
export function storePath(kind: StoreKind, namespace: string | undefined, name: string): string {
  return kind === 'ClusterSecretStore'
    ? `${base}/clustersecretstores/${enc(name)}`
    : `${base}/namespaces/${enc(namespace ?? '')}/secretstores/${enc(name)}`;
}

/** The API path of a core/v1 object. */
export function corePath(plural: string, namespace: string, name: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/${plural}/${enc(name)}`;
}

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function patchStatus<T = unknown>(
  client: KubeClient,
  path: string,
  status: Record<string, unknown>,
): Promise<T | undefined> {
  try {
    return await client.request<T>('PATCH', `${path}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return undefined;
  }
}

/** Reads an ExternalSecret. */
export function getExternalSecret(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<ExternalSecretObject | undefined> {
  return getOrUndefined(client, externalSecretPath(namespace, name));
}

/**
 * Merge-patches an ExternalSecret's status (arrays replaced whole); a vanished object is ignored.
 * @returns the ExternalSecret as the API server stored it (undefined when it vanished).
 */
export function patchExternalSecretStatus(
  client: KubeClient,
  es: ExternalSecretObject,
  status: Record<string, unknown>,
): Promise<ExternalSecretObject | undefined> {
  return patchStatus<ExternalSecretObject>(
    client,
    externalSecretPath(es.metadata.namespace, es.metadata.name),
    status,
  );
}

/** Reads a SecretStore or ClusterSecretStore. */
export function getStore(
  client: KubeClient,
  kind: StoreKind,
  namespace: string | undefined,
  name: string,
): Promise<StoreObject | undefined> {
  return getOrUndefined(client, storePath(kind, namespace, name));
}

/** Merge-patches a store's status; a vanished store is ignored. */
export function patchStoreStatus(
  client: KubeClient,
  kind: StoreKind,
  store: StoreObject,
  status: Record<string, unknown>,
): Promise<void> {
  return patchStatus(client, storePath(kind, store.metadata.namespace, store.metadata.name), status).then(
    () => undefined,
  );
}

/** Reads a Secret. */
export function getSecret(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<SecretObject | undefined> {
  return getOrUndefined(client, corePath('secrets', namespace, name));
}

/** Reads a ConfigMap's data. */
export async function getConfigMapData(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const cm = await getOrUndefined<{ data?: Record<string, string> }>(
    client,
    corePath('configmaps', namespace, name),
  );
  return cm ? (cm.data ?? {}) : undefined;
}

/** Reads a namespace's labels; undefined when it does not exist. */
export async function getNamespaceLabels(
  client: KubeClient,
  name: string,
): Promise<Record<string, string> | undefined> {
  const ns = await getOrUndefined<{ metadata?: { labels?: Record<string, string> } }>(
    client,
    `/api/v1/namespaces/${enc(name)}`,
  );
  return ns ? (ns.metadata?.labels ?? {}) : undefined;
}
