/**
 * The `vault` provider: HashiCorp Vault's KV secrets engine (v1 and v2), as ESO's `providers/v1/vault`.
 *
 * ```yaml
 * spec:
 *   provider:
 *     vault:
 *       server: https://vault.example:8200
 *       path: secret              # the KV mount
 *       version: v2               # default v2
 *       namespace: team-a         # X-Vault-Namespace (Vault Enterprise)
 *       caProvider: { type: ConfigMap, name: vault-ca, key: ca.crt }
 *       auth:
 *         kubernetes: { mountPath: kubernetes, role: app, serviceAccountRef: { name: app } }
 * ```
 *
 * Mapping (ESO's): `remoteRef.key` is a path under the mount (`path` and, for v2, `data/` are added
 * unless the key already starts with them: ESO's `buildPath`); `remoteRef.version` reads a KV v2
 * version. Without `property` the value is the whole secret as JSON (Go's `json.Marshal`: keys sorted,
 * HTML escaped); `property` names a top-level key first (strings raw, other values as JSON), else a
 * gjson dotted path (`db.password`). `dataFrom.extract` returns the top-level keys (or the members of
 * `property`'s object). `find` lists the mount recursively under `find.path` (ESO's `listSecrets`) and
 * keeps the names matching `name.regexp` (RE2), or, on v2, whose `custom_metadata` carries all `tags`.
 * `metadataPolicy: Fetch` reads v2 `custom_metadata` (plus created_time, current_version,
 * delete_version_after) instead of the data. PushSecret writes and deletes as ESO does: a secret capstan
 * (or ESO) did not create, marked by `custom_metadata.managed-by: external-secrets`, is never
 * overwritten or deleted; `checkAndSet.required` sends KV v2's `cas` version.
 *
 * The store's `validate` looks the token up (`auth/token/lookup-self`): a refused token makes the store
 * not Ready; a failed login (AppRole, Kubernetes, ...) already fails when the client is made. See
 * `vault-auth.ts` for the auth methods and the token cache.
 *
 * Every call is one bounded HTTP(S) request (`httpcall.ts`: overall deadline `--provider-timeout`,
 * response cap `--provider-max-response-bytes`), to a server that must pass the operator's network
 * policy (`--webhook-deny-cidrs` ...), as the other providers' tenant-chosen servers. Plain HTTP is used
 * rather than a Vault client library (`node-vault`): the KV and login APIs are a handful of JSON calls,
 * and these bounds, the network policy and per-store TLS are what matter here. Errors name the store,
 * the key and Vault's own error sentence (`permission denied`), never a value or a token.
 */
import { convertKeys } from './decoding';
import { compileFindRegexp } from './find';
import { boundedRequest, type TlsOptions } from './httpcall';
import { goFormatFloat, goJson, jsonGet } from './json';
import { DEFAULT_PROVIDER_LIMITS, type ProviderLimits } from './netpolicy';
import {
  fetchCA,
  isObject,
  readSecretKey,
  validateCABundle,
  validateCAProvider,
  validateSecretSelector,
  type CAProvider,
  type SecretKeySelector,
} from './storerefs';
import type {
  FindRef,
  Provider,
  ProviderContext,
  PushRemoteRef,
  PushSecretData,
  PushSourceSecret,
  RemoteRef,
  SecretsClient,
  StoreIdentity,
  ValidationResult,
} from './types';
import { InvalidStoreError, NoSecretError, ProviderError, pushValue } from './types';
import {
  dropVaultToken,
  isReferentVaultAuth,
  validateVaultAuth,
  vaultCacheKey,
  vaultToken,
  type VaultAuth,
  type VaultToken,
} from './vault-auth';

export type { VaultAuth } from './vault-auth';

/** `spec.provider.vault` (ESO `VaultProvider`). */
export interface VaultProviderConfig {
  /** server - the Vault address, `https://vault.example:8200`. */
  server: string;
  /** path - the KV mount (`secret`); unset: the key's first segment is the mount. */
  path?: string;
  /** version - the KV engine version, `v1` or `v2` (default). */
  version?: 'v1' | 'v2';
  /** namespace - sent as `X-Vault-Namespace` (Vault Enterprise). */
  namespace?: string;
  /** caBundle - base64 PEM CA certificates for an https server. */
  caBundle?: string;
  /** caProvider - CA certificates from a Secret or ConfigMap. */
  caProvider?: CAProvider;
  /** tls - a client certificate for servers that require mutual TLS (default keys tls.crt / tls.key). */
  tls?: { certSecretRef?: SecretKeySelector; keySecretRef?: SecretKeySelector };
  /** auth - how to get a token; unset: requests carry no token. */
  auth?: VaultAuth;
  /** headers - extra request headers. */
  headers?: Record<string, string>;
  /** readYourWrites - accepted; replication states are not tracked (Vault Enterprise). */
  readYourWrites?: boolean;
  /** forwardInconsistent - sends `X-Vault-Inconsistent: forward-active-node`. */
  forwardInconsistent?: boolean;
  /** checkAndSet - KV v2 `cas` on PushSecret writes when `required`. */
  checkAndSet?: { required?: boolean };
}

const FIELD = 'spec.provider.vault';
/** The KV mount: path segments, no `.`/`..`. */
const MOUNT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
/** ESO's ownership mark on pushed secrets (kept identical so that ESO and capstan recognise each other's). */
const MANAGED_BY = 'managed-by';
const MANAGED_BY_VALUE = 'external-secrets';
/** System metadata keys ESO returns with `metadataPolicy: Fetch` (KV v2). */
const SYSTEM_METADATA_KEYS = ['created_time', 'current_version', 'delete_version_after'];
/** The most secrets one `find` reads (each is a call); more is an error naming the limit. */
const FIND_MAX_SECRETS = 1000;

/** `tls`: a client certificate and key, both or neither. */
function validateTls(tls: unknown, store: StoreIdentity | undefined): string[] {
  if (tls === undefined) return [];
  if (!isObject(tls)) return [`${FIELD}.tls must be an object`];
  const problems: string[] = [];
  if ((tls.certSecretRef === undefined) !== (tls.keySecretRef === undefined))
    problems.push(`${FIELD}.tls must set both certSecretRef and keySecretRef`);
  const opts = { keyRequired: false, referent: true };
  for (const f of ['certSecretRef', 'keySecretRef'])
    if (tls[f] !== undefined)
      problems.push(...validateSecretSelector(tls[f], `${FIELD}.tls.${f}`, store, opts));
  return problems;
}

/** `headers`, the two booleans and `checkAndSet`. */
function validateOptions(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const headers = config.headers;
  if (
    headers !== undefined &&
    !(isObject(headers) && Object.values(headers).every((v) => typeof v === 'string'))
  )
    problems.push(`${FIELD}.headers must map header names to strings`);
  for (const b of ['readYourWrites', 'forwardInconsistent'])
    if (config[b] !== undefined && typeof config[b] !== 'boolean')
      problems.push(`${FIELD}.${b} must be a boolean`);
  if (config.checkAndSet !== undefined && !isObject(config.checkAndSet))
    problems.push(`${FIELD}.checkAndSet must be an object`);
  return problems;
}

/**
 * Checks `spec.provider.vault` as ESO's `ValidateStore`, plus shapes.
 * @returns problems naming fields (empty when valid).
 */
export function validateVaultStore(config: unknown, store?: StoreIdentity): string[] {
  if (!isObject(config)) return [`${FIELD} must be an object`];
  const problems: string[] = [];
  if (typeof config.server !== 'string' || !/^https?:\/\/[^/]/i.test(config.server))
    problems.push(`${FIELD}.server must be an http(s) URL`);
  if (
    config.path !== undefined &&
    config.path !== '' &&
    (typeof config.path !== 'string' ||
      !MOUNT.test(config.path.replace(/\/$/, '')) ||
      config.path.split('/').includes('..'))
  )
    problems.push(`${FIELD}.path must be a Vault mount path such as "secret"`);
  if (config.version !== undefined && config.version !== 'v1' && config.version !== 'v2')
    problems.push(`${FIELD}.version must be v1 or v2`);
  if (config.namespace !== undefined && typeof config.namespace !== 'string')
    problems.push(`${FIELD}.namespace must be a string`);
  problems.push(...validateCABundle(config.caBundle, `${FIELD}.caBundle`));
  problems.push(...validateCAProvider(config.caProvider, `${FIELD}.caProvider`, store));
  problems.push(...validateTls(config.tls, store), ...validateOptions(config));
  problems.push(...validateVaultAuth(config.auth, store));
  return problems;
}

/** The store's KV layout: the mount (unset: the key's first segment) and the engine version. */
export interface KvLayout {
  /** mount - `path` of the store without a trailing slash; undefined when unset or empty. */
  mount?: string;
  /** version - `v1` or `v2`. */
  version: 'v1' | 'v2';
}

/** The layout of a validated config. */
export function kvLayout(config: VaultProviderConfig): KvLayout {
  const mount = config.path ? config.path.replace(/\/$/, '') : undefined;
  return { mount, version: config.version ?? 'v2' };
}

/**
 * The API path of a key's data, ESO's `buildPath`: with a mount, the mount (and a leading `data/` on
 * v2) is stripped from the key if present and put back in front (`secret/data/<key>` on v2,
 * `secret/<key>` on v1); without one, v2 inserts `data` after the first segment unless the key has `/data/`.
 * @param key - `remoteRef.key` or a PushSecret `remoteKey`.
 */
export function buildDataPath(layout: KvLayout, key: string): string {
  const v2 = layout.version === 'v2';
  if (layout.mount !== undefined) {
    let out = key;
    const cut = `${layout.mount}/`;
    if (out.startsWith(cut)) {
      out = out.slice(cut.length);
      if (v2 && out.startsWith('data/')) out = out.slice('data/'.length);
    }
    return [layout.mount, ...(v2 ? ['data'] : []), out].join('/');
  }
  if (v2 && !key.includes('/data/')) {
    const [first, ...rest] = key.split('/');
    return [first, 'data', ...rest].join('/');
  }
  return key;
}

/**
 * The API path of a key's metadata (KV v2) or of the key itself (v1), ESO's `buildMetadataPath`.
 * @throws ProviderError for a v2 store without mount whose key has no `data` segment.
 */
export function buildMetadataPath(layout: KvLayout, key: string): string {
  if (layout.version === 'v1') return layout.mount !== undefined ? `${layout.mount}/${key}` : key;
  if (layout.mount === undefined) {
    if (!key.includes('data'))
      throw new ProviderError(`key "${key}" is not a KV v2 path (set the store's path)`);
    return key.replace('/data/', '/metadata/');
  }
  let out = key;
  const cut = `${layout.mount}/`;
  if (out.startsWith(cut)) {
    out = out.slice(cut.length);
    if (out.startsWith('data/')) out = out.slice('data/'.length);
  }
  return `${layout.mount}/metadata/${out}`;
}

/**
 * ESO's `esutils.GetByteValue`: strings as they are, numbers in Go's `'f'` form, booleans as words,
 * `null` empty, objects and arrays as Go's `json.Marshal`.
 */
export function byteValue(v: unknown): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (typeof v === 'number') return Buffer.from(goFormatFloat(v));
  if (typeof v === 'boolean') return Buffer.from(String(v));
  return Buffer.from(goJson(v));
}

/**
 * The value of a secret's data for `property` (ESO `getSecretValue`): the whole data as JSON without
 * property; a top-level key first; else a gjson dotted path.
 * @param where - names key and store, for messages.
 * @throws ProviderError (non-retryable) when the property does not exist, as ESO (not a NoSecretError).
 */
export function secretValue(
  data: Record<string, unknown>,
  property: string | undefined,
  where: string,
): Buffer {
  const json = goJson(data);
  if (!property) return Buffer.from(json);
  if (Object.prototype.hasOwnProperty.call(data, property)) return byteValue(data[property]);
  const v = jsonGet(json, property);
  if (v === undefined) throw new ProviderError(`property "${property}" does not exist in ${where}`);
  return Buffer.from(v);
}

/**
 * `dataFrom.extract`'s map (ESO `GetSecretMap`): the JSON object `secretValue` returns, one entry per member.
 * @throws ProviderError when that value is not a JSON object.
 */
export function secretMap(value: Buffer, where: string): Record<string, Buffer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!isObject(parsed))
    throw new ProviderError(`the value of ${where} is not a JSON object, so it cannot be extracted`);
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(parsed)) out[k] = byteValue(v);
  return out;
}

/**
 * The data to write for a push (ESO `reconcileData`): the whole secret from a JSON object value, or
 * the existing data with `property` set to the value (as a string).
 * @returns the data and whether it differs from `current`.
 * @throws ProviderError when a whole-secret value is not a JSON object.
 */
export function mergePushData(
  current: Record<string, unknown> | undefined,
  value: Buffer,
  property: string | undefined,
): { data: Record<string, unknown>; changed: boolean } {
  if (!property) {
    let incoming: unknown;
    try {
      incoming = JSON.parse(value.toString('utf8'));
    } catch {
      incoming = undefined;
    }
    if (!isObject(incoming))
      throw new ProviderError('the pushed value must be a JSON object when no property is given');
    return { data: incoming, changed: goJson(incoming) !== goJson(current ?? null) };
  }
  const text = value.toString('utf8');
  const changed = current?.[property] !== text;
  return { data: { ...(current ?? {}), [property]: text }, changed };
}

/**
 * The KV v2 `custom_metadata` of a push (ESO `reconcileKV2Metadata`): the ownership mark plus the
 * `PushSecretMetadata` `spec.customMetadata`, merged into the remote ones (`mergePolicy: Merge`, the
 * default) or replacing them (`Replace`).
 * @param remote - the remote metadata (`readMetadata`), undefined for a new secret.
 * @param metadata - the PushSecret entry's `metadata` object.
 * @throws ProviderError for another merge policy.
 */
export function pushCustomMetadata(
  remote: Record<string, string> | undefined,
  metadata: unknown,
): { custom: Record<string, string>; changed: boolean } {
  const spec = isObject(metadata) && isObject(metadata.spec) ? metadata.spec : {};
  const policy = spec.mergePolicy ?? 'Merge';
  if (policy !== 'Merge' && policy !== 'Replace')
    throw new ProviderError(`metadata.spec.mergePolicy "${String(policy)}" must be Merge or Replace`);
  const remoteCustom = { ...(remote ?? {}) };
  for (const k of SYSTEM_METADATA_KEYS) delete remoteCustom[k];
  const custom: Record<string, string> = remote && policy === 'Merge' ? { ...remoteCustom } : {};
  if (isObject(spec.customMetadata))
    for (const [k, v] of Object.entries(spec.customMetadata)) custom[k] = String(v);
  custom[MANAGED_BY] = MANAGED_BY_VALUE;
  return { custom, changed: !remote || goJson(custom) !== goJson(remoteCustom) };
}

/** Refuses keys that would leave the mount once the URL is normalised (`..`, `.`, empty segments). */
function checkKey(key: string, store: string): void {
  if (!key || key.split('/').some((s) => s === '..' || s === '.'))
    throw new ProviderError(`key "${key}" of store "${store}" is not a valid Vault path`);
}

/** One answer of Vault: the HTTP status and the parsed JSON body (undefined when empty). */
interface VaultAnswer {
  status: number;
  json: Record<string, unknown> | undefined;
}

/** Vault's `errors` sentences of an error body (Vault's words, never a secret), capped. */
function vaultErrors(json: Record<string, unknown> | undefined): string {
  const errs = Array.isArray(json?.errors)
    ? (json.errors as unknown[]).filter((e) => typeof e === 'string')
    : [];
  const text = (errs as string[]).join('; ').replace(/\s+/g, ' ').slice(0, 200);
  return text ? `: ${text}` : '';
}

/** The bounded HTTP side of a store: base URL, TLS, headers and limits. */
export class VaultHttp {
  /**
   * @param server - the Vault address (no trailing slash).
   * @param tls - CA and client certificate.
   * @param headers - extra headers of the store (namespace and token are added per call).
   * @param limits - deadline, response cap and network policy.
   * @param storeName - for messages.
   */
  constructor(
    private readonly server: string,
    private readonly tls: TlsOptions,
    private readonly headers: Record<string, string>,
    private readonly limits: ProviderLimits,
    readonly storeName: string,
  ) {}

  /**
   * Sends one call to `/v1/<path>`.
   * @returns status and JSON body for 2xx and 404 (the caller decides what absent means).
   * @throws ProviderError for other statuses (retryable for 429, 5xx and transport errors), naming the
   *   store and Vault's error sentence; `status` is kept on the error's `cause` for 403 handling.
   */
  async call(
    method: string,
    path: string,
    o: { token?: string; namespace?: string; query?: Record<string, string>; body?: unknown } = {},
  ): Promise<VaultAnswer> {
    const url = new URL(`${this.server}/v1/${path.split('/').map(encodeURIComponent).join('/')}`);
    for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      ...this.headers,
      Accept: 'application/json',
      'X-Vault-Request': 'true',
    };
    if (o.token) headers['X-Vault-Token'] = o.token;
    if (o.namespace) headers['X-Vault-Namespace'] = o.namespace;
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const what = `Vault ${url.origin} of store "${this.storeName}"`;
    const answer = await boundedRequest({
      url,
      method,
      headers,
      body,
      tls: this.tls,
      deadlineMs: this.limits.kubernetesTimeoutMs,
      maxBytes: this.limits.maxResponseBytes,
      sizeFlag: '--provider-max-response-bytes',
      policy: this.limits.network,
      resolver: this.limits.resolver,
      what,
    });
    let json: Record<string, unknown> | undefined;
    const text = answer.body.toString('utf8');
    try {
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      json = isObject(parsed) ? parsed : undefined;
    } catch {
      json = undefined;
    }
    if ((answer.status >= 200 && answer.status < 300) || answer.status === 404)
      return { status: answer.status, json };
    const retryable = answer.status === 429 || answer.status >= 500;
    throw new ProviderError(`${what} answered ${answer.status}${vaultErrors(json)}`, {
      retryable,
      cause: { status: answer.status },
    });
  }
}

const statusOf = (err: unknown): number | undefined =>
  err instanceof ProviderError && isObject(err.cause) && typeof err.cause.status === 'number'
    ? err.cause.status
    : undefined;

/** Reads and writes one store's KV secrets with its token. */
export class VaultSecretsClient implements SecretsClient {
  private readonly layout: KvLayout;

  /**
   * @param http - the store's bounded HTTP side.
   * @param config - the validated config.
   * @param token - the token (undefined: no auth, or a referent store checked on its own).
   * @param relogin - gets a fresh token after Vault refused a cached one; undefined when not cached.
   * @param referent - a referent ClusterSecretStore validated without an ExternalSecret.
   */
  constructor(
    private readonly http: VaultHttp,
    private readonly config: VaultProviderConfig,
    private token: VaultToken | undefined,
    private readonly relogin: (() => Promise<VaultToken | undefined>) | undefined,
    private readonly referent = false,
  ) {
    this.layout = kvLayout(config);
  }

  private get store(): string {
    return this.http.storeName;
  }

  private where(key: string): string {
    return `key "${key}" of store "${this.store}"`;
  }

  /** One data call with the token; a 403 on a cached login token logs in again once. */
  private async call(
    method: string,
    path: string,
    o: { query?: Record<string, string>; body?: unknown } = {},
  ): Promise<VaultAnswer> {
    if (this.referent)
      throw new ProviderError(
        `store "${this.store}" uses referent auth and can only be read for an ExternalSecret`,
      );
    const send = (): Promise<VaultAnswer> =>
      this.http.call(method, path, { ...o, token: this.token?.token, namespace: this.config.namespace });
    try {
      return await send();
    } catch (err) {
      if (statusOf(err) !== 403 || !this.token?.cacheKey || !this.relogin) throw err;
      dropVaultToken(this.token.cacheKey);
      this.token = await this.relogin();
      return send();
    }
  }

  /** A key's data (ESO `readSecret`). @throws NoSecretError when absent (or a deleted v2 version). */
  private async readSecret(key: string, version?: string): Promise<Record<string, unknown>> {
    checkKey(key, this.store);
    const query = version ? { version } : undefined;
    const answer = await this.call('GET', buildDataPath(this.layout, key), { query });
    const data = answer.json?.data;
    if (answer.status === 404 && !isObject(data)) throw new NoSecretError(`${this.where(key)} not found`);
    if (this.layout.version === 'v1') {
      if (!isObject(data)) throw new NoSecretError(`${this.where(key)} not found`);
      return data;
    }
    if (!isObject(data) || !('data' in data))
      throw new ProviderError(`${this.where(key)}: Vault's answer has no data field (is the mount KV v2?)`);
    if (!isObject(data.data))
      throw new NoSecretError(
        `${this.where(key)}${version ? ` version ${version}` : ''} not found (deleted or destroyed)`,
      );
    return data.data;
  }

  /** ESO `readSecretMetadata`: v2 custom_metadata plus system keys; v1 the `custom_metadata` member. */
  private async readMetadata(key: string): Promise<Record<string, string>> {
    checkKey(key, this.store);
    const answer = await this.call('GET', buildMetadataPath(this.layout, key));
    const data = answer.json?.data;
    if (!isObject(data)) throw new NoSecretError(`metadata of ${this.where(key)} not found`);
    const out: Record<string, string> = {};
    if (this.layout.version === 'v2')
      for (const k of SYSTEM_METADATA_KEYS)
        if (data[k] !== undefined && data[k] !== null) out[k] = byteValue(data[k]).toString('utf8');
    if (isObject(data.custom_metadata))
      for (const [k, v] of Object.entries(data.custom_metadata)) out[k] = byteValue(v).toString('utf8');
    return out;
  }

  private async value(ref: RemoteRef): Promise<Buffer> {
    let data: Record<string, unknown>;
    if (ref.metadataPolicy === 'Fetch') {
      if (this.layout.version === 'v1')
        throw new ProviderError(`store "${this.store}": metadataPolicy Fetch needs a KV v2 store`);
      data = await this.readMetadata(ref.key);
    } else data = await this.readSecret(ref.key, ref.version);
    return secretValue(data, ref.property, this.where(ref.key));
  }

  /** ESO `GetSecret`. @throws NoSecretError when the key (or version) does not exist. */
  async getSecret(ref: RemoteRef): Promise<Buffer> {
    return this.value(ref);
  }

  /** ESO `GetSecretMap`. @throws NoSecretError when the key does not exist. */
  async getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>> {
    return secretMap(await this.value(ref), this.where(ref.key));
  }

  /** ESO `listSecrets`: every key under `path` (ending with `/` or empty), recursively. */
  private async list(path: string, out: string[]): Promise<void> {
    const answer = await this.call('GET', buildMetadataPath(this.layout, path), { query: { list: 'true' } });
    if (answer.status === 404) {
      if (path === '') throw new NoSecretError(`no secrets to list in store "${this.store}"`);
      return;
    }
    const data = answer.json?.data;
    const keys = isObject(data) && Array.isArray(data.keys) ? data.keys : [];
    for (const k of keys) {
      if (typeof k !== 'string') continue;
      const full = path + k;
      if (k.endsWith('/')) await this.list(full, out);
      else out.push(full);
      if (out.length > FIND_MAX_SECRETS)
        throw new ProviderError(
          `find in store "${this.store}" lists more than ${FIND_MAX_SECRETS} secrets; narrow find.path`,
        );
    }
  }

  /** ESO `GetAllSecrets`: by name (RE2, unanchored) or by KV v2 `custom_metadata` tags. */
  async getAllSecrets(find: FindRef): Promise<Record<string, Buffer>> {
    if (this.layout.version === 'v1' && find.tags)
      throw new ProviderError(`store "${this.store}": find by tags needs a KV v2 store`);
    if (!find.name && !find.tags)
      throw new ProviderError('the vault provider supports find.name and find.tags');
    const candidates: string[] = [];
    const start = find.path ? `${find.path.replace(/\/$/, '')}/` : '';
    if (start) checkKey(start.slice(0, -1), this.store);
    await this.list(start, candidates);
    const matches = find.name ? compileFindRegexp(find.name.regexp) : undefined;
    const out: Record<string, Buffer> = {};
    for (const name of candidates) {
      if (matches && !matches(name)) continue;
      if (!matches && find.tags) {
        const meta = await this.readMetadata(name);
        if (!Object.entries(find.tags).every(([k, v]) => meta[k] === v)) continue;
      }
      try {
        out[name] = await this.getSecret({ key: name });
      } catch (err) {
        if (!(err instanceof NoSecretError)) throw err;
      }
    }
    return convertKeys(out, find.conversionStrategy);
  }

  private async isManaged(key: string): Promise<boolean> {
    try {
      return (await this.readMetadata(key))[MANAGED_BY] === MANAGED_BY_VALUE;
    } catch (err) {
      if (err instanceof NoSecretError) return false;
      throw err;
    }
  }

  /**
   * ESO `PushSecret`: creates the secret (marked `managed-by: external-secrets`), or updates one capstan or
   * ESO created; with `property`, one key of it. KV v2 `metadata` (`PushSecretMetadata` `spec.customMetadata`,
   * `mergePolicy` Merge|Replace) is written to custom_metadata.
   * @throws ProviderError when the secret exists and is not managed, or Vault refuses.
   */
  async pushSecret(secret: PushSourceSecret, data: PushSecretData): Promise<void> {
    const value = pushValue(secret, data);
    let current: Record<string, unknown> | undefined;
    try {
      current = await this.readSecret(data.remoteKey);
    } catch (err) {
      if (!(err instanceof NoSecretError)) throw err;
    }
    if (this.layout.version === 'v1') return this.pushKv1(current, value, data);
    return this.pushKv2(current, value, data);
  }

  private notManaged(key: string): ProviderError {
    return new ProviderError(
      `${this.where(key)} exists and was not written by a PushSecret; refusing to overwrite it`,
    );
  }

  /** KV v1 keeps ESO's ownership mark inside the data, as a `custom_metadata` member. */
  private async pushKv1(
    current: Record<string, unknown> | undefined,
    value: Buffer,
    data: PushSecretData,
  ): Promise<void> {
    let existing = current;
    if (existing) {
      const cm = existing.custom_metadata;
      if (!isObject(cm) || cm[MANAGED_BY] !== MANAGED_BY_VALUE) throw this.notManaged(data.remoteKey);
      existing = { ...existing };
      delete existing.custom_metadata;
    }
    const merged = mergePushData(existing, value, data.property);
    if (existing && !merged.changed) return;
    await this.call('POST', buildDataPath(this.layout, data.remoteKey), {
      body: { ...merged.data, custom_metadata: { [MANAGED_BY]: MANAGED_BY_VALUE } },
    });
  }

  /** KV v2: the mark and `customMetadata` go to the metadata endpoint, first (ESO's order), then the data. */
  private async pushKv2(
    current: Record<string, unknown> | undefined,
    value: Buffer,
    data: PushSecretData,
  ): Promise<void> {
    const key = data.remoteKey;
    const merged = mergePushData(current, value, data.property);
    const remoteMeta = current ? await this.readMetadata(key) : undefined;
    if (current && remoteMeta?.[MANAGED_BY] !== MANAGED_BY_VALUE) throw this.notManaged(key);
    const meta = pushCustomMetadata(remoteMeta, data.metadata);
    if (!merged.changed && !meta.changed) return;
    if (meta.changed)
      await this.call('POST', buildMetadataPath(this.layout, key), {
        body: { custom_metadata: meta.custom },
      });
    if (!merged.changed) return;
    const body: Record<string, unknown> = { data: merged.data };
    if (this.config.checkAndSet?.required)
      body.options = { cas: current ? Number(remoteMeta?.current_version ?? 1) : 0 };
    await this.call('POST', buildDataPath(this.layout, key), { body });
  }

  /**
   * ESO `DeleteSecret`: removes `property` (or the whole secret, and its v2 metadata, when none is left)
   * of a secret a PushSecret created; absent or unmanaged secrets are left alone.
   */
  async deleteSecret(ref: PushRemoteRef): Promise<void> {
    let current: Record<string, unknown>;
    try {
      current = await this.readSecret(ref.remoteKey);
    } catch (err) {
      if (err instanceof NoSecretError) return;
      throw err;
    }
    if (!(await this.isManaged(ref.remoteKey))) return;
    const dataPath = buildDataPath(this.layout, ref.remoteKey);
    if (ref.property) {
      const rest = { ...current };
      delete rest[ref.property];
      if (this.layout.version === 'v1' && Object.keys(rest).length === 1 && 'custom_metadata' in rest)
        delete rest.custom_metadata;
      if (Object.keys(rest).length > 0) {
        await this.call('POST', dataPath, { body: this.layout.version === 'v2' ? { data: rest } : rest });
        return;
      }
    }
    await this.call('DELETE', dataPath);
    if (this.layout.version === 'v2')
      await this.call('DELETE', buildMetadataPath(this.layout, ref.remoteKey));
  }

  /** ESO `SecretExists`: the secret (or its `property`) exists. */
  async secretExists(ref: PushRemoteRef): Promise<boolean> {
    let data: Record<string, unknown>;
    try {
      data = await this.readSecret(ref.remoteKey);
    } catch (err) {
      if (err instanceof NoSecretError) return false;
      throw err;
    }
    return !ref.property || jsonGet(goJson(data), ref.property) !== undefined || ref.property in data;
  }

  /**
   * ESO `Validate`: looks the token up (`auth/token/lookup-self`). Unknown for a referent
   * ClusterSecretStore (no namespace to read credentials from yet), without auth, or when Vault cannot be
   * reached; Error when Vault refuses the token.
   */
  async validate(): Promise<ValidationResult> {
    if (this.referent)
      return { result: 'Unknown', message: 'referent auth: validated when an ExternalSecret uses the store' };
    if (!this.token) return { result: 'Unknown', message: 'no auth configured: nothing to check' };
    try {
      const answer = await this.call('GET', 'auth/token/lookup-self');
      if (answer.status === 404) return { result: 'Unknown', message: 'Vault has no token lookup endpoint' };
      return { result: 'Ready' };
    } catch (err) {
      const status = statusOf(err);
      const message = `the store's Vault token could not be verified: ${err instanceof Error ? err.message : 'unknown error'}`;
      return { result: status === 401 || status === 403 ? 'Error' : 'Unknown', message };
    }
  }

  /** Nothing to release: login tokens stay cached for the store's next reconcile. */
  async close(): Promise<void> {}
}

/** The store's TLS settings: CA (caBundle / caProvider) and client certificate (`tls`). */
async function storeTls(ctx: ProviderContext, cfg: VaultProviderConfig): Promise<TlsOptions> {
  const ca = await fetchCA(ctx, cfg.caBundle, cfg.caProvider, FIELD);
  const tls: TlsOptions = { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  if (cfg.tls?.certSecretRef && cfg.tls.keySecretRef) {
    const c = cfg.tls.certSecretRef;
    const k = cfg.tls.keySecretRef;
    tls.cert = await readSecretKey(ctx, { ...c, key: c.key || 'tls.crt' }, `${FIELD}.tls.certSecretRef`);
    tls.key = await readSecretKey(ctx, { ...k, key: k.key || 'tls.key' }, `${FIELD}.tls.keySecretRef`);
  }
  return tls;
}

/** The `vault` provider (ESO `providers/v1/vault`): reads, and writes for PushSecret. */
export const vaultProvider: Provider = {
  name: 'vault',
  capabilities: 'ReadWrite',
  validateStore: validateVaultStore,
  async newClient(ctx: ProviderContext): Promise<SecretsClient> {
    const config = (ctx.store.spec as { provider?: { vault?: unknown } } | undefined)?.provider?.vault;
    const problems = validateVaultStore(config, ctx.store);
    if (problems.length) throw new InvalidStoreError(problems);
    const cfg = config as VaultProviderConfig;
    const limits = ctx.limits ?? DEFAULT_PROVIDER_LIMITS;
    const headers: Record<string, string> = { ...(cfg.headers ?? {}) };
    if (cfg.forwardInconsistent) headers['X-Vault-Inconsistent'] = 'forward-active-node';
    const referent =
      ctx.store.kind === 'ClusterSecretStore' && !ctx.namespace && isReferentVaultAuth(cfg.auth);
    const tls = referent ? { rejectUnauthorized: true } : await storeTls(ctx, cfg);
    const http = new VaultHttp(cfg.server.replace(/\/+$/, ''), tls, headers, limits, ctx.store.name);
    if (referent) return new VaultSecretsClient(http, cfg, undefined, undefined, true);
    const cacheKey = vaultCacheKey(ctx, { server: cfg.server, namespace: cfg.namespace, auth: cfg.auth });
    const loginNamespace = cfg.auth?.namespace ?? cfg.namespace;
    const login = async (path: string, body: Record<string, unknown>) => {
      const answer = await http.call('POST', path, { body, namespace: loginNamespace });
      if (answer.status === 404)
        throw new ProviderError(`no auth method is mounted at ${path.replace(/\/login.*$/, '')}`);
      return (answer.json ?? {}) as { auth?: { client_token?: string; lease_duration?: number } };
    };
    const token = () => vaultToken(ctx, cfg.auth, cacheKey, login);
    return new VaultSecretsClient(http, cfg, await token(), cfg.auth?.tokenSecretRef ? undefined : token);
  },
};
