/**
 * How a store's references to Kubernetes objects (credential Secrets, CA bundles, service accounts)
 * are resolved, with ESO's namespace rules (`runtime/esutils/resolvers`):
 *
 * - a SecretStore reads from the ExternalSecret's namespace (which is the store's own namespace); a
 *   `namespace` in the reference must be empty or equal to it;
 * - a ClusterSecretStore reads from the reference's `namespace`; providers that support ESO's
 *   "referent authentication" (kubernetes) fall back to the ExternalSecret's namespace when it is unset.
 *
 * These reads use the operator's own client (`ProviderContext.kube`): they fetch the store's
 * credentials, never the remote secrets themselves.
 */
import { KubeApiError } from '../kube/client';
import type { ProviderContext, StoreIdentity } from './types';
import { InvalidStoreError, ProviderError } from './types';

/** ESO `SecretKeySelector`: one key of a Secret. */
export interface SecretKeySelector {
  /** name - the Secret's name. */
  name: string;
  /** key - the data key. */
  key?: string;
  /** namespace - for a ClusterSecretStore, where the Secret lives. */
  namespace?: string;
}

/** ESO `CAProvider`: a CA bundle kept in a Secret or a ConfigMap. */
export interface CAProvider {
  /** type - `Secret` or `ConfigMap`. */
  type: 'Secret' | 'ConfigMap';
  /** name - the object's name. */
  name: string;
  /** key - the data key holding PEM certificates. */
  key?: string;
  /** namespace - for a ClusterSecretStore, where the object lives (required there, forbidden for a SecretStore). */
  namespace?: string;
}

/** The parts of a core/v1 Secret the providers read (`data` values are base64, as the API serves them). */
export interface KubeSecret {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
  type?: string;
}

/** The parts of a core/v1 ConfigMap the providers read. */
interface KubeConfigMap {
  data?: Record<string, string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True when `v` is a plain object (a JSON object). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Secret's data decoded from base64. */
export function secretData(secret: KubeSecret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

/**
 * Checks one SecretKeySelector of a store spec.
 * @param ref - the value at `field`.
 * @param field - its path in the provider config, for messages (`auth.token.bearerToken`).
 * @param store - the store, for the namespace rules; without it only the shape is checked.
 * @param opts - `keyRequired` (default true); `referent`: a ClusterSecretStore may leave `namespace` unset.
 * @returns problems (empty when valid).
 */
export function validateSecretSelector(
  ref: unknown,
  field: string,
  store: StoreIdentity | undefined,
  opts: { keyRequired?: boolean; referent?: boolean } = {},
): string[] {
  if (!isObject(ref)) return [`${field} must be an object with name and key`];
  const problems: string[] = [];
  if (typeof ref.name !== 'string' || ref.name === '') problems.push(`${field}.name must be set`);
  if ((opts.keyRequired ?? true) && (typeof ref.key !== 'string' || ref.key === ''))
    problems.push(`${field}.key must be set`);
  problems.push(...validateRefNamespace(ref.namespace, field, store, opts.referent ?? false));
  return problems;
}

/** The namespace rules of a reference (see the module comment). */
export function validateRefNamespace(
  namespace: unknown,
  field: string,
  store: StoreIdentity | undefined,
  referent: boolean,
): string[] {
  if (namespace !== undefined && (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))) {
    return [`${field}.namespace must be a valid namespace name`];
  }
  if (!store) return [];
  if (store.kind === 'ClusterSecretStore' && namespace === undefined && !referent) {
    return [`${field}.namespace must be set in a ClusterSecretStore`];
  }
  if (store.kind === 'SecretStore' && namespace !== undefined && namespace !== store.namespace) {
    return [`${field}.namespace must be empty or "${store.namespace ?? ''}" in a SecretStore`];
  }
  return [];
}

/**
 * The namespace a store reference is read from (see the module comment).
 * @throws InvalidStoreError when no namespace applies (a ClusterSecretStore reference without namespace,
 * outside an ExternalSecret's reconcile).
 */
export function refNamespace(ctx: ProviderContext, namespace: string | undefined, field: string): string {
  // a SecretStore validated on its own (no ExternalSecret yet) reads from its own namespace
  const ns =
    ctx.store.kind === 'ClusterSecretStore'
      ? (namespace ?? ctx.namespace)
      : ctx.namespace || ctx.store.namespace;
  if (!ns) {
    throw new InvalidStoreError(`${field}.namespace must be set in ClusterSecretStore "${ctx.store.name}"`);
  }
  return ns;
}

/** Maps a failed read of a store credential to a ProviderError naming the object. */
function credentialError(err: unknown, what: string, store: string): ProviderError {
  if (err instanceof KubeApiError) {
    const retryable = err.status === 0 || err.status === 429 || err.status >= 500;
    const reason = err.status === 404 ? 'not found' : `${err.status} ${err.reason}`;
    return new ProviderError(`${what} referenced by store "${store}": ${reason}`, { retryable, cause: err });
  }
  return new ProviderError(`${what} referenced by store "${store}" could not be read`, {
    retryable: true,
    cause: err,
  });
}

/**
 * Reads a Secret referenced by the store, with the operator's client.
 * @throws ProviderError naming the Secret (retryable for transport errors, 429 and 5xx).
 */
export async function readStoreSecret(
  ctx: ProviderContext,
  namespace: string,
  name: string,
): Promise<KubeSecret> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
  try {
    return await ctx.kube.request<KubeSecret>('GET', path);
  } catch (err) {
    throw credentialError(err, `Secret "${namespace}/${name}"`, ctx.store.name);
  }
}

/**
 * Reads one key of a Secret referenced by the store (ESO `resolvers.SecretKeyRef`).
 * @param ref - the selector; `key` must be set.
 * @param field - the selector's path in the config, for messages.
 * @param opts - `requiredLabel`: a label the Secret must carry (the webhook provider's `external-secrets.io/type`).
 * @throws ProviderError (non-retryable) when the Secret lacks the key or the label.
 */
export async function readSecretKey(
  ctx: ProviderContext,
  ref: SecretKeySelector,
  field: string,
  opts: { requiredLabel?: [string, string] } = {},
): Promise<Buffer> {
  const ns = refNamespace(ctx, ref.namespace, field);
  const secret = await readStoreSecret(ctx, ns, ref.name);
  checkLabel(secret, opts.requiredLabel, `Secret "${ns}/${ref.name}"`);
  const value = secretData(secret)[ref.key ?? ''];
  if (value === undefined) {
    throw new ProviderError(`Secret "${ns}/${ref.name}" (${field}) has no key "${ref.key ?? ''}"`);
  }
  return value;
}

/**
 * Fails unless the Secret carries `label` (ESO's `EnforceLabels` for webhook credentials).
 * @throws ProviderError (non-retryable).
 */
export function checkLabel(secret: KubeSecret, label: [string, string] | undefined, what: string): void {
  if (!label) return;
  const [k, v] = label;
  if (secret.metadata?.labels?.[k] !== v) {
    throw new ProviderError(`${what} must carry the label ${k}: ${v} to be used by a webhook store`);
  }
}

/** Checks a `caProvider` with ESO's namespace rules (required in a ClusterSecretStore, forbidden in a SecretStore). */
export function validateCAProvider(ca: unknown, field: string, store: StoreIdentity | undefined): string[] {
  if (ca === undefined) return [];
  if (!isObject(ca)) return [`${field} must be an object`];
  const problems: string[] = [];
  if (ca.type !== 'Secret' && ca.type !== 'ConfigMap')
    problems.push(`${field}.type must be Secret or ConfigMap`);
  if (typeof ca.name !== 'string' || ca.name === '') problems.push(`${field}.name must be set`);
  if (typeof ca.key !== 'string' || ca.key === '') problems.push(`${field}.key must be set`);
  if (store?.kind === 'ClusterSecretStore' && ca.namespace === undefined) {
    problems.push(`${field}.namespace must be set in a ClusterSecretStore`);
  }
  if (store?.kind === 'SecretStore' && ca.namespace !== undefined) {
    problems.push(`${field}.namespace must be empty in a SecretStore`);
  }
  return problems;
}

/** Checks a `caBundle`: base64 of PEM certificates. */
export function validateCABundle(bundle: unknown, field: string): string[] {
  if (bundle === undefined) return [];
  if (typeof bundle !== 'string' || !decodeCABundle(bundle))
    return [`${field} must be base64-encoded PEM certificates`];
  return [];
}

/** Decodes a `caBundle` (base64 of PEM; a doubly encoded bundle is accepted too); undefined when it holds no PEM. */
export function decodeCABundle(bundle: string): Buffer | undefined {
  let pem = Buffer.from(bundle, 'base64');
  if (!pem.includes('-----BEGIN')) pem = Buffer.from(pem.toString('latin1'), 'base64');
  return pem.includes('-----BEGIN') ? pem : undefined;
}

/**
 * The CA certificates of a store (ESO `FetchCACertFromSource`): `caBundle` when set, else the
 * `caProvider` object's key, else undefined (the system roots apply).
 * @throws ProviderError when the referenced object or key is missing.
 */
export async function fetchCA(
  ctx: ProviderContext,
  caBundle: string | undefined,
  caProvider: CAProvider | undefined,
  field: string,
): Promise<Buffer | undefined> {
  if (caBundle) {
    const pem = decodeCABundle(caBundle);
    if (!pem) throw new InvalidStoreError(`${field}.caBundle must be base64-encoded PEM certificates`);
    return pem;
  }
  if (!caProvider) return undefined;
  const ns = refNamespace(ctx, caProvider.namespace, `${field}.caProvider`);
  const what = `${caProvider.type} "${ns}/${caProvider.name}"`;
  let value: Buffer | undefined;
  if (caProvider.type === 'Secret') {
    value = secretData(await readStoreSecret(ctx, ns, caProvider.name))[caProvider.key ?? ''];
  } else {
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(caProvider.name)}`;
    let cm: KubeConfigMap;
    try {
      cm = await ctx.kube.request<KubeConfigMap>('GET', path);
    } catch (err) {
      throw credentialError(err, what, ctx.store.name);
    }
    const text = cm.data?.[caProvider.key ?? ''];
    value = text === undefined ? undefined : Buffer.from(text);
  }
  if (value === undefined)
    throw new ProviderError(`${what} (${field}.caProvider) has no key "${caProvider.key ?? ''}"`);
  return value;
}
