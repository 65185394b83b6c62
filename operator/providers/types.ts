/**
 * The contract between the ExternalSecret controllers and the secret store providers, as ESO's
 * `esv1.Provider` and `esv1.SecretsClient`: a Provider validates a store's configuration and makes
 * clients; a SecretsClient reads secrets for one reconcile and is closed afterwards.
 *
 * Every error a provider throws is one of the three classes below, so that the controller can decide
 * without string matching: `NoSecretError` (apply `deletionPolicy`), `ProviderError` (retry with
 * backoff when `retryable`, else a terminal condition) and `InvalidStoreError` (the store's spec is
 * wrong: a terminal condition on the store and on the ExternalSecret). Messages name keys, stores and
 * Kubernetes objects, never a secret value or a response body.
 */
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { goJson } from './json';
import type { ProviderLimits } from './netpolicy';

/** How a fetched value is decoded before it is stored (ESO `decodingStrategy`; unset means `None`). */
export type DecodingStrategy = 'Auto' | 'Base64' | 'Base64URL' | 'None';

/** How `find` results' keys are made valid Secret keys (ESO `conversionStrategy`; unset means `Default`). */
export type ConversionStrategy = 'Default' | 'Unicode';

/**
 * One remote value: ESO `ExternalSecretDataRemoteRef` (`spec.data[].remoteRef`, `dataFrom[].extract`).
 * Field meanings are the provider's: for `kubernetes`, `key` is a Secret name and `property` a data key.
 */
export interface RemoteRef {
  /** key - the remote key (path, name) of the secret. */
  key: string;
  /** property - a field inside the remote secret (a data key, or a dotted JSON path). */
  property?: string;
  /** version - the remote version; unset means the current one (for `fake`: the entry without a version). */
  version?: string;
  /** decodingStrategy - applied by the controller after the fetch, see `decodeValue`. */
  decodingStrategy?: DecodingStrategy;
  /** metadataPolicy - `None` (default) or `Fetch` (read the remote object's labels/annotations instead). */
  metadataPolicy?: string;
  /** conversionStrategy - for `dataFrom.extract`: applied by the controller to the keys, see `convertKeys`. */
  conversionStrategy?: ConversionStrategy;
}

/** A search over the store: ESO `ExternalSecretFind` (`spec.dataFrom[].find`). */
export interface FindRef {
  /** name.regexp - an (unanchored) regular expression the remote key must match. */
  name?: { regexp: string };
  /** path - a prefix to search under (providers that have paths; ignored by fake/kubernetes as in ESO). */
  path?: string;
  /** tags - key/value pairs the remote secret must carry (for `kubernetes`: a label selector). */
  tags?: Record<string, string>;
  /** conversionStrategy - how found keys are made valid Secret keys (default `Default`: invalid chars -> `_`). */
  conversionStrategy?: ConversionStrategy;
  /** decodingStrategy - applied by the controller to every found value. */
  decodingStrategy?: DecodingStrategy;
}

/** Outcome of `SecretsClient.validate`, ESO's `ValidationResult` (drives the store's `Ready` condition). */
export interface ValidationResult {
  /** `Ready`: usable; `Unknown`: cannot tell yet (e.g. referent auth); `Error`: the store cannot work. */
  result: 'Ready' | 'Unknown' | 'Error';
  /** A sentence a person can act on (no secret values). */
  message?: string;
}

/**
 * The local Secret a PushSecret pushes from (ESO passes the whole `*corev1.Secret`): its decoded data,
 * type and metadata. Providers read `data[secretKey]`, or the whole data when no key is named.
 */
export interface PushSourceSecret {
  /** data - the Secret's keys and decoded values. */
  data: Record<string, Buffer>;
  /** type - the Secret's type (`Opaque` when unset). */
  type?: string;
  /** labels - the Secret's labels (providers that copy metadata, e.g. `kubernetes`). */
  labels?: Record<string, string>;
  /** annotations - the Secret's annotations. */
  annotations?: Record<string, string>;
}

/**
 * Where a pushed value goes: ESO `PushSecretRemoteRef` (`spec.data[].match.remoteRef`).
 * For `kubernetes`, `remoteKey` is a Secret name and `property` a data key.
 */
export interface PushRemoteRef {
  /** remoteKey - the remote key (name, path) to write. */
  remoteKey: string;
  /** property - a field inside the remote secret; unset means the remote secret as a whole. */
  property?: string;
}

/** One `spec.data[]` entry of a PushSecret: ESO `PushSecretData`. */
export interface PushSecretData extends PushRemoteRef {
  /** secretKey - the key of the local Secret to push; unset means the whole Secret (as JSON or as data). */
  secretKey?: string;
  /** metadata - the provider-specific `spec.data[].metadata` object (for example ESO's `PushSecretMetadata`). */
  metadata?: unknown;
}

/**
 * The bytes most providers write for one `PushSecretData`, as ESO's providers do: the value of
 * `secretKey`, or, when `secretKey` is unset, the whole Secret's data as a JSON object of strings.
 * @throws NoSecretError when `secretKey` is not a key of the Secret.
 */
export function pushValue(secret: PushSourceSecret, data: PushSecretData): Buffer {
  if (!data.secretKey) {
    const plain: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data)) plain[k] = v.toString('utf8');
    return Buffer.from(goJson(plain, { html: false })); // ESO's esutils.JSONMarshal: sorted, no HTML escaping
  }
  const value = secret.data[data.secretKey];
  if (value === undefined) throw new NoSecretError(`key "${data.secretKey}" not found in the source Secret`);
  return value;
}

/** Reads secrets from one store for one ExternalSecret. Create per reconcile, then `close()`. */
export interface SecretsClient {
  /**
   * Returns the value of one remote secret (ESO `GetSecret`).
   * @throws NoSecretError when the key, version or property does not exist; ProviderError otherwise.
   */
  getSecret(ref: RemoteRef): Promise<Buffer>;
  /**
   * Returns the key/value pairs of one remote secret, for `dataFrom.extract` (ESO `GetSecretMap`).
   * @throws NoSecretError when the key does not exist; ProviderError otherwise.
   */
  getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>>;
  /**
   * Returns every remote secret matching `find`, keyed by (converted) remote key (ESO `GetAllSecrets`).
   * @throws ProviderError (non-retryable) when the provider does not support the find operator.
   */
  getAllSecrets(find: FindRef): Promise<Record<string, Buffer>>;
  /**
   * Writes one value of a PushSecret (ESO `PushSecret`): creates the remote secret or updates it in
   * place; `data.property` writes one field and keeps the others. Optional: only providers whose
   * `capabilities` include writing implement it (a PushSecret to another store gets a clear condition).
   * @param secret - the local Secret (decoded data); see `pushValue` for the usual bytes to write.
   * @throws NoSecretError when `data.secretKey` is not in `secret`; ProviderError otherwise (never a value).
   */
  pushSecret?(secret: PushSourceSecret, data: PushSecretData): Promise<void>;
  /**
   * Removes what a PushSecret wrote (ESO `DeleteSecret`): the `property`, or the remote secret when no
   * property is named or it was the last one. Absent keys are not an error (idempotent, as ESO).
   * @throws ProviderError when the provider refuses.
   */
  deleteSecret?(ref: PushRemoteRef): Promise<void>;
  /**
   * Whether the remote secret (or its `property`) exists (ESO `SecretExists`), for `updatePolicy: IfNotExists`.
   * @throws ProviderError when the provider cannot tell.
   */
  secretExists?(ref: PushRemoteRef): Promise<boolean>;
  /** Checks that the store can be used with its credentials (ESO `Validate`); never throws. */
  validate(): Promise<ValidationResult>;
  /** Releases what the client holds (connections, tokens). Idempotent. */
  close(): Promise<void>;
}

/** The kind of store a client is made for. */
export type StoreKind = 'SecretStore' | 'ClusterSecretStore';

/** Which store a configuration belongs to, for checks that depend on the store's scope. */
export interface StoreIdentity {
  /** kind - `SecretStore` (namespaced) or `ClusterSecretStore`. */
  kind: StoreKind;
  /** name - the store's name (used in messages). */
  name: string;
  /** namespace - the SecretStore's namespace; unset for a ClusterSecretStore. */
  namespace?: string;
}

/** What `Provider.newClient` gets: the store, the ExternalSecret's namespace and the operator's client. */
export interface ProviderContext {
  /** store - the store object; `spec` is its whole `spec` (the provider reads `spec.provider.<name>`). */
  store: StoreIdentity & { spec: unknown };
  /**
   * namespace - the ExternalSecret's namespace. SecretStore credentials are read here; a ClusterSecretStore
   * reads them from the namespace in each reference (or here, for referent auth). Empty when the store
   * controller validates a ClusterSecretStore on its own.
   */
  namespace: string;
  /** kube - the operator's own client: used only to read store credentials, never the remote secrets. */
  kube: KubeClient;
  /** log - optional logger; providers log names and key names only. */
  log?: Logger;
  /**
   * limits - the operator's network policy, deadlines and response cap for calls made on the tenant's
   * behalf (flags of the platform admin); unset means `DEFAULT_PROVIDER_LIMITS`.
   */
  limits?: ProviderLimits;
}

/** Whether a provider can read, write (PushSecret) or both; writing clients implement `pushSecret`. */
export type ProviderCapabilities = 'ReadOnly' | 'WriteOnly' | 'ReadWrite';

/** A secret store provider: the single key under a store's `spec.provider` (ESO `esv1.Provider`). */
export interface Provider {
  /** name - the key under `spec.provider` (`fake`, `kubernetes`, `webhook`). */
  readonly name: string;
  /** capabilities - what the provider supports (`fake` and `kubernetes` are `ReadWrite`, `webhook` `ReadOnly`). */
  readonly capabilities: ProviderCapabilities;
  /**
   * Checks a store's `spec.provider.<name>` without contacting anything (ESO `ValidateStore`).
   * @param config - the value under `spec.provider.<name>`.
   * @param store - the store, for scope-dependent checks (namespaces in references); optional.
   * @returns problems as sentences naming fields (empty when valid); never secret values.
   */
  validateStore(config: unknown, store?: StoreIdentity): string[];
  /**
   * Makes a client for one reconcile: resolves credentials (reading Secrets with `ctx.kube`).
   * @throws InvalidStoreError when the configuration is invalid; ProviderError when credentials cannot be read.
   */
  newClient(ctx: ProviderContext): Promise<SecretsClient>;
}

/**
 * The remote secret (or its version or property) does not exist: ESO's `NoSecretErr`. The controller
 * applies `deletionPolicy` (Retain, Delete, Merge) instead of reporting a failure.
 */
export class NoSecretError extends Error {
  override name = 'NoSecretError';
  /** @param message - names the key/property and the store, e.g. `key "db" not found in store "fake"`. */
  constructor(message: string) {
    super(message);
  }
}

/** Reading from the provider failed; `retryable` tells whether the same call may succeed later. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  /** True for transient failures (timeouts, connection errors, 5xx, 429); false for configuration/permission errors. */
  readonly retryable: boolean;
  /**
   * @param message - a sentence naming the store and key, never a value or a response body.
   * @param options - `retryable` (default false) and the underlying `cause`.
   */
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** The store's spec is invalid or names something capstan does not support; terminal until the spec changes. */
export class InvalidStoreError extends Error {
  override name = 'InvalidStoreError';
  /** The individual problems (the message joins them with `; `). */
  readonly problems: string[];
  /** @param problems - one sentence per problem, naming fields. */
  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('; '));
    this.problems = list;
  }
}

/** True when `err` says the remote secret does not exist (see `NoSecretError`). */
export function isNoSecretError(err: unknown): err is NoSecretError {
  return err instanceof NoSecretError;
}

/** True when `err` is worth retrying with backoff: a retryable ProviderError, or an unknown error. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ProviderError) return err.retryable;
  return !(err instanceof InvalidStoreError || err instanceof NoSecretError);
}
