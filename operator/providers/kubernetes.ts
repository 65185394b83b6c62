/**
 * The `kubernetes` provider: Secrets of a namespace (`remoteNamespace`, default `default`) in this
 * cluster or another one, as ESO's `providers/v1/kubernetes`.
 *
 * ```yaml
 * spec:
 *   provider:
 *     kubernetes:
 *       remoteNamespace: team-a
 *       server:
 *         url: https://remote.example:6443        # unset: this cluster
 *         caProvider: { type: ConfigMap, name: kube-root-ca.crt, key: ca.crt }
 *       auth:
 *         serviceAccount: { name: secret-reader }  # or token.bearerToken, or cert
 * ```
 *
 * Mapping (ESO's): `remoteRef.key` is a Secret name. `property` picks a data key, or, when no key has
 * that name, `<key>.<gjson path>` into that key's JSON value; without `property` the value is the whole
 * data as a JSON object of strings (keys sorted). `extract` returns the data keys; with `property`, the
 * members of that key's JSON object, each JSON-encoded (strings keep their quotes, as ESO).
 * `metadataPolicy: Fetch` reads `labels`/`annotations` instead of data. `find.tags` is a label selector,
 * `find.name.regexp` matches Secret names (RE2); each found Secret is one key holding its data as JSON.
 * See `kubernetes-auth.ts` for the identity used (never the operator's).
 *
 * Writes (PushSecret, ESO's `PushSecret`/`DeleteSecret`/`SecretExists`): `remoteKey` names the remote
 * Secret; without `property` the local Secret's data replaces the remote data, with `property` one data
 * key is written (the `secretKey`'s value, or the whole local data as JSON when no `secretKey`);
 * `secretKey` without `property` is refused as in ESO. The remote Secret gets the local type, and
 * labels/annotations per the data entry's `metadata` (`kind: PushSecretMetadata`, `spec.labels`,
 * `spec.annotations`, `sourceMergePolicy: Merge|Replace`, `targetMergePolicy: Merge|Replace|Ignore`,
 * `remoteNamespace` for a ClusterSecretStore). Deleting a property removes that key, or the Secret
 * when it was the last; absent Secrets and keys are fine.
 *
 * Every API call made for a store is bounded (flags of the platform admin): an overall deadline
 * (`--provider-timeout`, connect to last byte) and a response cap (`--provider-max-response-bytes`), both
 * retryable errors; a server the tenant chose (`server.url`, `authRef`) must also pass the network policy
 * of `netpolicy.ts` (`--webhook-deny-cidrs`, by default link-local and cloud metadata addresses).
 */
import { KubeApiError } from '../kube/client';
import { convertKeys } from './decoding';
import { compileFindRegexp } from './find';
import { goJson, jsonGet, jsonRawMembers } from './json';
import { remoteClientFor, type KubernetesProviderConfig, type RemoteApi } from './kubernetes-auth';
import type { KubeSecret } from './storerefs';
import {
  isObject,
  secretData,
  validateCABundle,
  validateCAProvider,
  validateRefNamespace,
  validateSecretSelector,
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
  StoreKind,
  ValidationResult,
} from './types';
import { InvalidStoreError, NoSecretError, ProviderError, pushValue } from './types';

export type { KubernetesProviderConfig } from './kubernetes-auth';

/** Secrets per list page of `getAllSecrets`. */
const LIST_PAGE = 100;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const FIELD = 'spec.provider.kubernetes';

function validateServer(server: unknown, store: StoreIdentity | undefined): string[] {
  if (server === undefined) return [];
  if (!isObject(server)) return [`${FIELD}.server must be an object`];
  const problems: string[] = [];
  if (server.url !== undefined) {
    if (typeof server.url !== 'string' || !server.url) problems.push(`${FIELD}.server.url must be a URL`);
    else if (/^[a-z]+:\/\//i.test(server.url) && !/^https?:\/\//i.test(server.url)) {
      problems.push(`${FIELD}.server.url must be an http(s) URL`);
    }
  }
  problems.push(...validateCABundle(server.caBundle, `${FIELD}.server.caBundle`));
  problems.push(...validateCAProvider(server.caProvider, `${FIELD}.server.caProvider`, store));
  return problems;
}

function validateServiceAccount(sa: unknown, store: StoreIdentity | undefined): string[] {
  const field = `${FIELD}.auth.serviceAccount`;
  if (!isObject(sa)) return [`${field} must be an object`];
  const problems: string[] = [];
  if (typeof sa.name !== 'string' || !sa.name) problems.push(`${field}.name must be set`);
  if (
    sa.audiences !== undefined &&
    !(Array.isArray(sa.audiences) && sa.audiences.every((a) => typeof a === 'string'))
  ) {
    problems.push(`${field}.audiences must be a list of strings`);
  }
  problems.push(...validateRefNamespace(sa.namespace, field, store, true));
  return problems;
}

function validateAuth(auth: unknown, store: StoreIdentity | undefined): string[] {
  if (auth === undefined) return [];
  if (!isObject(auth)) return [`${FIELD}.auth must be an object`];
  const methods = Object.keys(auth).filter((k) => auth[k] !== undefined);
  if (methods.length !== 1) return [`${FIELD}.auth must set exactly one of cert, token, serviceAccount`];
  const f = `${FIELD}.auth`;
  const opts = { referent: true };
  switch (methods[0]) {
    case 'token':
      if (!isObject(auth.token)) return [`${f}.token must be an object`];
      return validateSecretSelector(auth.token.bearerToken, `${f}.token.bearerToken`, store, opts);
    case 'cert':
      if (!isObject(auth.cert)) return [`${f}.cert must be an object`];
      return [
        ...validateSecretSelector(auth.cert.clientCert, `${f}.cert.clientCert`, store, opts),
        ...validateSecretSelector(auth.cert.clientKey, `${f}.cert.clientKey`, store, opts),
      ];
    case 'serviceAccount':
      return validateServiceAccount(auth.serviceAccount, store);
    default:
      return [`${f}.${methods[0]} is not a kubernetes auth method (cert, token, serviceAccount)`];
  }
}

/**
 * Checks `spec.provider.kubernetes` as ESO's `ValidateStore`, plus shapes: one auth method, namespace
 * rules of references (a ClusterSecretStore may leave them unset: referent auth), caProvider rules.
 * @returns problems naming fields.
 */
export function validateKubernetesStore(config: unknown, store?: StoreIdentity): string[] {
  if (!isObject(config)) return [`${FIELD} must be an object`];
  const problems: string[] = [];
  const rns = config.remoteNamespace;
  if (rns !== undefined && (typeof rns !== 'string' || rns.length > 63 || !DNS_LABEL.test(rns))) {
    problems.push(`${FIELD}.remoteNamespace must be a valid namespace name`);
  }
  problems.push(...validateServer(config.server, store));
  problems.push(...validateAuth(config.auth, store));
  if (config.authRef !== undefined) {
    problems.push(...validateSecretSelector(config.authRef, `${FIELD}.authRef`, store, { referent: true }));
  }
  return problems;
}

/** True when some credential reference of a ClusterSecretStore has no namespace (ESO `isReferentSpec`). */
export function isReferentSpec(config: KubernetesProviderConfig): boolean {
  const a = config.auth;
  if (config.authRef && config.authRef.namespace === undefined) return true;
  if (!a) return false;
  if (a.cert && (a.cert.clientCert.namespace === undefined || a.cert.clientKey.namespace === undefined))
    return true;
  if (a.serviceAccount && a.serviceAccount.namespace === undefined) return true;
  return !!a.token && a.token.bearerToken.namespace === undefined;
}

/** A string map as ESO's `esutils.JSONMarshal` writes it (sorted keys, no HTML escaping). */
function stringMapJson(m: Record<string, Buffer | string> | undefined | null): string {
  if (!m) return 'null';
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) plain[k] = typeof v === 'string' ? v : v.toString('utf8');
  return goJson(plain, { html: false });
}

/** `labels.<key>[.<gjson path>]` / `annotations...` of a Secret (ESO `getFromSecretMetadata`). */
function metadataValue(secret: KubeSecret, property: string): Buffer | undefined {
  const path = property.split('.');
  if (path[0] !== 'labels' && path[0] !== 'annotations') return undefined;
  const meta = path[0] === 'labels' ? secret.metadata?.labels : secret.metadata?.annotations;
  if (path.length === 1) return Buffer.from(stringMapJson(meta));
  const v = meta?.[path[1]];
  if (v === undefined) return undefined;
  if (path.length === 2) return Buffer.from(v);
  const inner = jsonGet(v, path.slice(2).join('.'));
  return inner === undefined ? undefined : Buffer.from(inner);
}

/** A data key, or `<key>.<gjson path>` into a key's JSON value (ESO `getFromSecretData`). */
function dataValue(data: Record<string, Buffer>, property: string): Buffer | undefined {
  if (property in data) return data[property];
  const idx = property.indexOf('.');
  if (idx <= 0 || idx === property.length - 1) return undefined;
  const outer = data[property.slice(0, idx)];
  if (outer === undefined) return undefined;
  const inner = jsonGet(outer.toString('utf8'), property.slice(idx + 1));
  return inner === undefined ? undefined : Buffer.from(inner);
}

/**
 * The value `getSecret` returns for a fetched Secret (ESO `GetSecret`, pure part).
 * @param secret - the remote Secret as the API serves it.
 * @param ref - the remote ref (`key` already used to fetch `secret`).
 * @param where - `Secret "ns/name" of store "x"`, for messages.
 * @throws NoSecretError when `property` does not exist.
 */
export function secretValue(secret: KubeSecret, ref: RemoteRef, where: string): Buffer {
  const fetchMeta = ref.metadataPolicy === 'Fetch';
  if (!ref.property) {
    if (fetchMeta) {
      const m = secret.metadata ?? {};
      return Buffer.from(
        `{"annotations":${stringMapJson(m.annotations)},"labels":${stringMapJson(m.labels)}}`,
      );
    }
    return Buffer.from(stringMapJson(secretData(secret)));
  }
  const value = fetchMeta ? metadataValue(secret, ref.property) : dataValue(secretData(secret), ref.property);
  if (value === undefined) {
    throw new NoSecretError(
      `property "${ref.property}" does not exist in ${fetchMeta ? 'metadata' : 'data'} of ${where}`,
    );
  }
  return value;
}

/**
 * The map `getSecretMap` returns for a fetched Secret (ESO `GetSecretMap`, pure part): the data (or,
 * with `metadataPolicy: Fetch`, `labels` and `annotations` as JSON); with `property`, the members of
 * that entry's JSON object, each JSON-encoded as ESO does (`"seb"` keeps its quotes).
 * @throws NoSecretError when `property` does not exist; ProviderError when it is not a JSON object.
 */
export function secretMap(secret: KubeSecret, ref: RemoteRef, where: string): Record<string, Buffer> {
  const base: Record<string, Buffer> =
    ref.metadataPolicy === 'Fetch'
      ? {
          labels: Buffer.from(stringMapJson(secret.metadata?.labels)),
          annotations: Buffer.from(stringMapJson(secret.metadata?.annotations)),
        }
      : secretData(secret);
  if (!ref.property) return base;
  const entry = base[ref.property];
  if (entry === undefined) throw new NoSecretError(`property "${ref.property}" does not exist in ${where}`);
  const members = jsonRawMembers(entry.toString('utf8'));
  if (!members)
    throw new ProviderError(
      `property "${ref.property}" of ${where} is not a JSON object, so it cannot be extracted`,
    );
  const out: Record<string, Buffer> = {};
  for (const [k, raw] of members) out[k] = Buffer.from(goJson(JSON.parse(raw), { html: false }));
  return out;
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name !== '' && name.length <= 63 && LABEL_NAME.test(name);
}

/**
 * The label selector for `find.tags` (ESO `labels.ValidatedSelectorFromSet`): `k=v` pairs, sorted.
 * @throws ProviderError (non-retryable) for an invalid label key or value.
 */
export function labelSelector(tags: Record<string, string>): string {
  const keys = Object.keys(tags).sort();
  for (const k of keys) {
    const v = tags[k];
    if (!validLabelKey(k) || typeof v !== 'string' || v.length > 63 || !LABEL_NAME.test(v)) {
      throw new ProviderError(`find.tags "${k}" is not a valid label key/value pair`);
    }
  }
  return keys.map((k) => `${k}=${tags[k]}`).join(',');
}

/**
 * The result of `getAllSecrets` over listed Secrets (ESO `findByTags`/`findByName`, pure part): `tags`
 * wins over `name` as in ESO; each matching Secret becomes one key (its name, converted) holding its data as JSON.
 * @throws ProviderError (non-retryable) when neither `tags` nor `name` is set.
 */
export function findSecrets(secrets: KubeSecret[], find: FindRef): Record<string, Buffer> {
  let match: (s: KubeSecret) => boolean;
  if (find.tags) {
    const tags = find.tags;
    match = (s) => Object.entries(tags).every(([k, v]) => s.metadata?.labels?.[k] === v);
  } else if (find.name) {
    const matches = compileFindRegexp(find.name.regexp);
    match = (s) => matches(s.metadata?.name ?? '');
  } else {
    throw new ProviderError('the kubernetes provider supports find.name and find.tags');
  }
  const out: Record<string, Buffer> = {};
  for (const s of secrets)
    if (s.metadata?.name && match(s)) out[s.metadata.name] = Buffer.from(stringMapJson(secretData(s)));
  return convertKeys(out, find.conversionStrategy);
}

/**
 * Maps an API error of the remote cluster to the provider's errors: a bound or policy error keeps its
 * sentence and retryability, prefixed with what was read.
 */
function remoteError(err: unknown, what: string, verb = 'reading'): Error {
  if (err instanceof ProviderError)
    return new ProviderError(`${verb} ${what} failed: ${err.message}`, {
      retryable: err.retryable,
      cause: err,
    });
  if (!(err instanceof KubeApiError))
    return new ProviderError(`${verb} ${what} failed`, { retryable: true, cause: err });
  if (err.status === 404) return new NoSecretError(`${what} not found`);
  const retryable = err.status === 0 || err.status === 409 || err.status === 429 || err.status >= 500;
  const detail = err.status === 0 ? err.message : `${err.status} ${err.reason}: ${err.message.slice(0, 300)}`;
  return new ProviderError(`${verb} ${what} failed: ${detail}`, { retryable, cause: err });
}

/** `spec` of the kubernetes provider's `PushSecretMetadata` (ESO `PushSecretMetadataSpec`). */
export interface KubernetesPushMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** sourceMergePolicy - `Merge` (default: the local Secret's metadata plus these) or `Replace` (these only). */
  sourceMergePolicy?: 'Merge' | 'Replace';
  /** targetMergePolicy - `Merge` (default: the remote's plus the source's), `Replace` or `Ignore` (keep the remote's). */
  targetMergePolicy?: 'Merge' | 'Replace' | 'Ignore';
  /** remoteNamespace - another namespace to write to (ClusterSecretStore only). */
  remoteNamespace?: string;
}

/**
 * Reads `spec.data[].metadata` for the kubernetes provider (ESO `ParseMetadataParameters`).
 * @throws ProviderError (non-retryable) for another kind or a malformed spec.
 */
export function parsePushMetadata(metadata: unknown): KubernetesPushMetadata | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata) || (metadata.kind !== undefined && metadata.kind !== 'PushSecretMetadata')) {
    throw new ProviderError('unable to parse metadata parameters: kind must be PushSecretMetadata');
  }
  const spec = metadata.spec ?? {};
  if (!isObject(spec)) throw new ProviderError('unable to parse metadata parameters: spec must be an object');
  return spec as KubernetesPushMetadata;
}

type StringMaps = { labels: Record<string, string>; annotations: Record<string, string> };

/** One map after a merge policy: `Replace` takes `over` alone, otherwise `over` wins over `base`. */
function mergeMap(
  base: Record<string, string> | undefined,
  over: Record<string, string> | undefined,
  replace: boolean,
): Record<string, string> {
  return replace ? { ...(over ?? {}) } : { ...(base ?? {}), ...(over ?? {}) };
}

/**
 * The remote Secret's labels and annotations after a push (ESO `mergeSourceMetadata` then
 * `mergeTargetMetadata`), a pure function of the local and remote metadata and the push metadata.
 */
export function mergePushMetadata(
  local: PushSourceSecret,
  remote: KubeSecret['metadata'] | undefined,
  meta: KubernetesPushMetadata | undefined,
): StringMaps {
  const replaceSource = meta?.sourceMergePolicy === 'Replace';
  const source: StringMaps = {
    labels: mergeMap(local.labels, meta?.labels, replaceSource),
    annotations: mergeMap(local.annotations, meta?.annotations, replaceSource),
  };
  if (meta?.targetMergePolicy === 'Ignore') {
    return { labels: { ...(remote?.labels ?? {}) }, annotations: { ...(remote?.annotations ?? {}) } };
  }
  const replaceTarget = meta?.targetMergePolicy === 'Replace';
  return {
    labels: mergeMap(remote?.labels, source.labels, replaceTarget),
    annotations: mergeMap(remote?.annotations, source.annotations, replaceTarget),
  };
}

function b64map(data: Record<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = v.toString('base64');
  return out;
}

/**
 * The remote Secret a push produces from the current one (ESO `mergePushSecretData`, pure part).
 * @param current - the remote Secret, or undefined when it does not exist yet.
 * @throws NoSecretError when `data.secretKey` is not in the local Secret.
 */
export function pushedSecret(
  local: PushSourceSecret,
  data: PushSecretData,
  current: KubeSecret | undefined,
  meta: KubernetesPushMetadata | undefined,
): KubeSecret {
  const { labels, annotations } = mergePushMetadata(local, current?.metadata, meta);
  let remoteData: Record<string, string>;
  if (!data.property) remoteData = b64map(local.data);
  else {
    remoteData = { ...(current?.data ?? {}) };
    remoteData[data.property] = pushValue(local, data).toString('base64');
  }
  return {
    ...(current ?? {}),
    metadata: { ...(current?.metadata ?? {}), labels, annotations },
    type: local.type || 'Opaque',
    data: remoteData,
  };
}

/** A copy with object keys sorted, to compare Secrets regardless of key order. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortDeep(v[k]);
  return out;
}

interface RulesReview {
  status?: { resourceRules?: Array<{ verbs?: string[]; apiGroups?: string[]; resources?: string[] }> };
}

/** Reads Secrets of `remoteNamespace` with the store's own identity (see `kubernetes-auth.ts`). */
export class KubernetesSecretsClient implements SecretsClient {
  /**
   * @param remote - a client with the store's identity, or undefined for a referent ClusterSecretStore
   *   checked without an ExternalSecret (then `validate` answers Unknown and reads fail).
   * @param remoteNamespace - where the Secrets are read.
   * @param storeName - for messages.
   */
  constructor(
    private readonly remote: RemoteApi | undefined,
    private readonly remoteNamespace: string,
    private readonly storeName: string,
    private readonly storeKind: StoreKind = 'SecretStore',
  ) {}

  private where(name: string, namespace = this.remoteNamespace): string {
    return `Secret "${namespace}/${name}" of store "${this.storeName}"`;
  }

  private secretPath(name: string | undefined, namespace = this.remoteNamespace): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  /** The remote Secret, or undefined when it does not exist. */
  private async find(name: string, namespace = this.remoteNamespace): Promise<KubeSecret | undefined> {
    try {
      return await this.client().request<KubeSecret>('GET', this.secretPath(name, namespace));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw remoteError(err, this.where(name, namespace));
    }
  }

  /**
   * ESO `PushSecret`: creates or updates the Secret `remoteKey` (see the file comment); no call when
   * nothing changes. @throws ProviderError (non-retryable) for `secretKey` without `property`.
   */
  async pushSecret(secret: PushSourceSecret, data: PushSecretData): Promise<void> {
    if (!data.property && data.secretKey) {
      throw new ProviderError('requires property in remoteRef to push secret value if secret key is defined');
    }
    const meta = parsePushMetadata(data.metadata);
    let namespace = this.remoteNamespace;
    if (meta?.remoteNamespace) {
      if (this.storeKind !== 'ClusterSecretStore') {
        throw new ProviderError('remoteNamespace override is only supported with ClusterSecretStore');
      }
      namespace = meta.remoteNamespace;
    }
    const current = await this.find(data.remoteKey, namespace);
    const next = pushedSecret(secret, data, current, meta);
    const where = this.where(data.remoteKey, namespace);
    try {
      if (!current) {
        next.metadata = { ...next.metadata, name: data.remoteKey, namespace };
        await this.client().request('POST', this.secretPath(undefined, namespace), {
          body: { apiVersion: 'v1', kind: 'Secret', ...next },
        });
      } else if (JSON.stringify(sortDeep(current)) !== JSON.stringify(sortDeep(next))) {
        await this.client().request('PUT', this.secretPath(data.remoteKey, namespace), {
          body: { apiVersion: 'v1', kind: 'Secret', ...next },
        });
      }
    } catch (err) {
      throw remoteError(err, where, 'writing');
    }
  }

  /** ESO `DeleteSecret`: removes `property` (or the Secret when it is the last key or none is named). */
  async deleteSecret(ref: PushRemoteRef): Promise<void> {
    const current = await this.find(ref.remoteKey);
    if (!current) return;
    const where = this.where(ref.remoteKey);
    try {
      if (ref.property) {
        const data = { ...(current.data ?? {}) };
        if (!(ref.property in data)) return;
        if (Object.keys(data).length > 1) {
          delete data[ref.property];
          await this.client().request('PUT', this.secretPath(ref.remoteKey), {
            body: { apiVersion: 'v1', kind: 'Secret', ...current, data },
          });
          return;
        }
      }
      await this.client().request('DELETE', this.secretPath(ref.remoteKey));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw remoteError(err, where, 'deleting');
    }
  }

  /** ESO `SecretExists`: the Secret, or with `property` that data key. */
  async secretExists(ref: PushRemoteRef): Promise<boolean> {
    const current = await this.find(ref.remoteKey);
    if (!current) return false;
    return ref.property ? ref.property in (current.data ?? {}) : true;
  }

  private client(): RemoteApi {
    if (!this.remote) {
      throw new ProviderError(
        `store "${this.storeName}" uses referent auth and can only be read for an ExternalSecret`,
      );
    }
    return this.remote;
  }

  private async get(name: string): Promise<KubeSecret> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.remoteNamespace)}/secrets/${encodeURIComponent(name)}`;
    const remote = this.client();
    try {
      return await remote.request<KubeSecret>('GET', path);
    } catch (err) {
      throw remoteError(err, this.where(name));
    }
  }

  /** ESO `GetSecret`. @throws NoSecretError when the Secret or property does not exist. */
  async getSecret(ref: RemoteRef): Promise<Buffer> {
    return secretValue(await this.get(ref.key), ref, this.where(ref.key));
  }

  /** ESO `GetSecretMap`. @throws NoSecretError when the Secret or property does not exist. */
  async getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>> {
    return secretMap(await this.get(ref.key), ref, this.where(ref.key));
  }

  /**
   * ESO `GetAllSecrets`: lists Secrets of `remoteNamespace` (label-selected for `tags`), 100 a page, so
   * that a page of ordinary Secrets stays well below the response cap.
   */
  async getAllSecrets(find: FindRef): Promise<Record<string, Buffer>> {
    const selector = find.tags ? labelSelector(find.tags) : undefined;
    const path = `/api/v1/namespaces/${encodeURIComponent(this.remoteNamespace)}/secrets`;
    const remote = this.client();
    const items: KubeSecret[] = [];
    let cont: string | undefined;
    do {
      let page: { items?: KubeSecret[]; metadata?: { continue?: string } };
      try {
        page = await remote.request('GET', path, {
          query: { labelSelector: selector, limit: LIST_PAGE, continue: cont },
        });
      } catch (err) {
        throw remoteError(
          err,
          `the Secrets of namespace "${this.remoteNamespace}" of store "${this.storeName}"`,
        );
      }
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return findSecrets(items, find);
  }

  /**
   * ESO `Validate`: a SelfSubjectRulesReview in `remoteNamespace` that grants `get` on secrets, else a
   * SelfSubjectAccessReview for it. Unknown for a referent ClusterSecretStore or when the server cannot be reached.
   */
  async validate(): Promise<ValidationResult> {
    if (!this.remote)
      return { result: 'Unknown', message: 'referent auth: validated when an ExternalSecret uses the store' };
    try {
      const rules = await this.remote.request<RulesReview>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectRulesReview',
            spec: { namespace: this.remoteNamespace },
          },
        },
      );
      const has = (list: string[] | undefined, ...want: string[]): boolean =>
        !!list?.some((x) => want.includes(x));
      const granted = (rules.status?.resourceRules ?? []).some(
        (r) =>
          has(r.resources, 'secrets', '*') &&
          has(r.verbs, 'get', '*') &&
          (!r.apiGroups?.length || has(r.apiGroups, '', '*')),
      );
      if (granted) return { result: 'Ready' };
      const access = await this.remote.request<{ status?: { allowed?: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: { resource: 'secrets', namespace: this.remoteNamespace, verb: 'get' },
            },
          },
        },
      );
      if (access.status?.allowed) return { result: 'Ready' };
      return {
        result: 'Error',
        message: `the store's credentials may not get secrets in namespace "${this.remoteNamespace}"`,
      };
    } catch (err) {
      const status = err instanceof KubeApiError ? err.status : 0;
      const message = `could not verify the store's credentials: ${err instanceof Error ? err.message.slice(0, 300) : 'unknown error'}`;
      return { result: status === 401 || status === 403 ? 'Error' : 'Unknown', message };
    }
  }

  /** Nothing to release (no pooled connections are kept). */
  async close(): Promise<void> {}
}

/** The `kubernetes` provider (ESO `providers/v1/kubernetes`): reads and writes (PushSecret). */
export const kubernetesProvider: Provider = {
  name: 'kubernetes',
  capabilities: 'ReadWrite',
  validateStore: validateKubernetesStore,
  async newClient(ctx: ProviderContext): Promise<SecretsClient> {
    const config = (ctx.store.spec as { provider?: { kubernetes?: unknown } } | undefined)?.provider
      ?.kubernetes;
    const problems = validateKubernetesStore(config, ctx.store);
    if (problems.length) throw new InvalidStoreError(problems);
    const cfg = config as KubernetesProviderConfig;
    const remoteNamespace = cfg.remoteNamespace ?? 'default';
    // as ESO: a referent ClusterSecretStore validated on its own has no namespace to read credentials from
    if (ctx.store.kind === 'ClusterSecretStore' && !ctx.namespace && isReferentSpec(cfg)) {
      return new KubernetesSecretsClient(undefined, remoteNamespace, ctx.store.name, ctx.store.kind);
    }
    return new KubernetesSecretsClient(
      await remoteClientFor(ctx, cfg),
      remoteNamespace,
      ctx.store.name,
      ctx.store.kind,
    );
  },
};
