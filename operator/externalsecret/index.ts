/**
 * The ExternalSecret family: ESO's `external-secrets.io/v1` ExternalSecret, SecretStore and
 * ClusterSecretStore, served by three operators in one process. A store names a provider; the store
 * operators validate it; an ExternalSecret reads values through its stores and writes one Secret:
 *
 * ```yaml
 * apiVersion: external-secrets.io/v1
 * kind: ExternalSecret
 * metadata: { name: db, namespace: app }
 * spec:
 *   refreshInterval: 15m                   # Go duration; 0: once; default 1h (+ up to 10 % jitter)
 *   secretStoreRef: { name: backend, kind: SecretStore }
 *   target:
 *     name: db-credentials                 # default: the ExternalSecret's name
 *     creationPolicy: Owner                # Owner | Orphan | Merge | None
 *     deletionPolicy: Retain               # Retain | Delete | Merge
 *     template:                            # Go templates as ESO (engineVersion: handlebars for Handlebars)
 *       data: { url: "postgres://{{ .username }}:{{ .password }}@db:5432" }
 *   data:
 *     - { secretKey: username, remoteRef: { key: /db, property: username } }
 *   dataFrom:
 *     - extract: { key: /db }
 *     - find: { name: { regexp: '^db-' } }
 *       rewrite: [{ regexp: { source: '^db-(.*)', target: '$1' } }]
 * ```
 *
 * Pure cores: `refresh` (when to fetch, jitter, backoff), `policies` (creation/deletion policies,
 * ownership, drift), `target` (the Secret to apply), `namespaces` (ClusterSecretStore conditions),
 * `rewrite`, `ratelimit`, `conditions`. Edges: `api`, `stores`, `clients`, `fetch`, `sources`, `write`,
 * `status`, `events`. Reconciles: `reconcile` (ExternalSecret), `store-reconcile` (stores). Operators:
 * `operator`, `store-operator`; `start` runs the three.
 */
export { startExternalSecretOperators, type StoppableOperator } from './start';
export {
  createContext,
  DEFAULT_SETTINGS,
  type ExternalSecretContext,
  type ExternalSecretSettings,
} from './context';
export { ExternalSecretOperator } from './operator';
export { SecretStoreOperator, ClusterSecretStoreOperator } from './store-operator';
export { reconcileExternalSecret } from './reconcile';
export { reconcileStore, validateStoreObject } from './store-reconcile';
export * from './constants';
