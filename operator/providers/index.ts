/**
 * Secret store providers: where an ExternalSecret's values come from. A SecretStore or
 * ClusterSecretStore names exactly one provider under `spec.provider`; the registry maps that name to
 * a `Provider`, which validates the configuration and makes a `SecretsClient` for one reconcile:
 *
 * ```yaml
 * apiVersion: external-secrets.io/v1
 * kind: SecretStore
 * metadata: { name: backend, namespace: app }
 * spec:
 *   provider:
 *     fake:                                   # or kubernetes, or webhook
 *       data:
 *         - { key: /db, value: '{"password":"s3cret"}' }
 * ```
 *
 * ```ts
 * const { provider } = providerFor(store.spec);           // InvalidStoreError for "gcpsm"
 * const client = await provider.newClient({ store, namespace: es.metadata.namespace, kube });
 * try {
 *   const value = await client.getSecret({ key: '/db', property: 'password' });
 * } finally {
 *   await client.close();
 * }
 * ```
 *
 * The semantics are ESO's (each file cites the upstream behaviour it follows). Errors say what the
 * controller should do: `NoSecretError` -> apply `deletionPolicy`; `ProviderError` -> retry when
 * `retryable`, else a terminal condition; `InvalidStoreError` -> the store is misconfigured. No
 * message, log line or condition carries a secret value.
 */
export * from './types';
export { providerFor, registerProvider, registeredProviders, unregisterProvider } from './registry';
export { decodeMap, decodeValue, convertKeys, convertKey } from './decoding';
export { parseGoDuration } from '../common/goduration';
// aws is not re-exported as values: registry.ts loads it on first use (import './aws' directly).
export type { AwsProviderConfig } from './aws';
export { fakeProvider, FakeSecretsClient, type FakeProviderConfig, type FakeProviderData } from './fake';
export { kubernetesProvider, KubernetesSecretsClient, type KubernetesProviderConfig } from './kubernetes';
export {
  webhookProvider,
  WebhookSecretsClient,
  WEBHOOK_SECRET_LABEL,
  type WebhookProviderConfig,
} from './webhook';
export { vaultProvider, VaultSecretsClient, type VaultProviderConfig } from './vault';
export type { SecretKeySelector, CAProvider, KubeSecret } from './storerefs';
