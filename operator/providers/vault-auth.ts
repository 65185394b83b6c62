/**
 * How the `vault` provider gets a Vault token, as ESO's `providers/v1/vault/auth*.go`:
 *
 * - `tokenSecretRef`: the token is read from a Secret on every reconcile (no login, nothing cached);
 * - `appRole`: `POST /v1/auth/<path>/login` with `role_id` (`roleId`, or `roleRef` from a Secret) and
 *   `secret_id` (`secretRef`);
 * - `kubernetes`: `POST /v1/auth/<mountPath>/login` with `role` and a service account JWT, requested with
 *   the TokenRequest API for `serviceAccountRef` or read from `secretRef` (default key `token`);
 * - `userPass` and `ldap`: `POST /v1/auth/<path>/login/<username>` with the password of `secretRef`;
 * - `jwt`: `POST /v1/auth/<path>/login` with `role` and a JWT from `secretRef` or from a TokenRequest
 *   (`kubernetesServiceAccountToken`).
 *
 * `cert`, `iam` and `gcp` are refused with a clear condition. Unlike ESO, a `kubernetes` auth without
 * `serviceAccountRef` and `secretRef` is refused too: ESO then sends the operator's own service account
 * token, which would let any store author log in to Vault as the operator.
 *
 * Tokens obtained by a login are cached per store (kind, namespace, name, the ExternalSecret's namespace
 * for referent stores, and a digest of the server and auth configuration) until shortly before their
 * lease ends, so that a refresh of many ExternalSecrets logs in once (ESO's optional Vault client cache).
 * A data call refused with 403 drops the cached token and logs in again once (see `vault.ts`).
 */
import crypto from 'node:crypto';
import { serviceAccountToken } from './kubernetes-auth';
import {
  isObject,
  readSecretKey,
  validateRefNamespace,
  validateSecretSelector,
  type SecretKeySelector,
} from './storerefs';
import type { ProviderContext, StoreIdentity } from './types';
import { InvalidStoreError, ProviderError } from './types';

/** ESO `ServiceAccountSelector`: a service account whose token is requested with the TokenRequest API. */
export interface ServiceAccountSelector {
  /** name - the ServiceAccount's name. */
  name: string;
  /** namespace - for a ClusterSecretStore, where it lives (unset: the ExternalSecret's, referent auth). */
  namespace?: string;
  /** audiences - the token's `aud` claim (unset: the API server's default audience). */
  audiences?: string[];
}

/** `spec.provider.vault.auth` (ESO `VaultAuth`): exactly one method, plus an optional login namespace. */
export interface VaultAuth {
  /** namespace - the Vault (Enterprise) namespace to log in to; default the store's `namespace`. */
  namespace?: string;
  /** tokenSecretRef - a Secret key holding a Vault token. */
  tokenSecretRef?: SecretKeySelector;
  /** appRole - AppRole login (`path` default `approle`). */
  appRole?: { path?: string; roleId?: string; roleRef?: SecretKeySelector; secretRef: SecretKeySelector };
  /** kubernetes - Kubernetes auth (`mountPath` default `kubernetes`). */
  kubernetes?: {
    mountPath?: string;
    role: string;
    serviceAccountRef?: ServiceAccountSelector;
    secretRef?: SecretKeySelector;
  };
  /** userPass - userpass login (`path` default `userpass`). */
  userPass?: { path?: string; username: string; secretRef: SecretKeySelector };
  /** ldap - LDAP login (`path` default `ldap`). */
  ldap?: { path?: string; username: string; secretRef: SecretKeySelector };
  /** jwt - JWT/OIDC login (`path` default `jwt`). */
  jwt?: {
    path?: string;
    role?: string;
    secretRef?: SecretKeySelector;
    kubernetesServiceAccountToken?: {
      serviceAccountRef: ServiceAccountSelector;
      audiences?: string[];
      expirationSeconds?: number;
    };
  };
  /** cert, iam, gcp - accepted by the schema, refused by capstan. */
  cert?: unknown;
  iam?: unknown;
  gcp?: unknown;
}

/** The auth methods capstan implements, in ESO's order. */
export const VAULT_AUTH_METHODS = ['tokenSecretRef', 'appRole', 'kubernetes', 'userPass', 'ldap', 'jwt'];
const REFUSED_METHODS = ['cert', 'iam', 'gcp'];
const FIELD = 'spec.provider.vault.auth';

/** A mount path: segments of letters, digits, `-`, `_`, `.` separated by single slashes. */
const MOUNT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

function validateMount(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  return typeof v === 'string' && MOUNT.test(v) && !v.split('/').includes('..')
    ? []
    : [`${field} must be a Vault mount path such as "approle"`];
}

function validateSa(sa: unknown, field: string, store: StoreIdentity | undefined): string[] {
  if (!isObject(sa)) return [`${field} must be an object with name`];
  const problems: string[] = [];
  if (typeof sa.name !== 'string' || !sa.name) problems.push(`${field}.name must be set`);
  if (
    sa.audiences !== undefined &&
    !(Array.isArray(sa.audiences) && sa.audiences.every((a) => typeof a === 'string'))
  )
    problems.push(`${field}.audiences must be a list of strings`);
  problems.push(...validateRefNamespace(sa.namespace, field, store, true));
  return problems;
}

/** `Secret` references may omit `key` where ESO has a default (`token` for kubernetes.secretRef). */
function selector(
  ref: unknown,
  field: string,
  store: StoreIdentity | undefined,
  keyRequired = true,
): string[] {
  return validateSecretSelector(ref, field, store, { keyRequired, referent: true });
}

/**
 * Checks `spec.provider.vault.auth` (ESO `ValidateStore` for the auth part, plus shapes).
 * @param auth - the value of `auth` (unset: no token is sent, as ESO).
 * @param store - the store, for the namespace rules of references.
 * @returns problems naming fields (empty when valid).
 */
export function validateVaultAuth(auth: unknown, store?: StoreIdentity): string[] {
  if (auth === undefined) return [];
  if (!isObject(auth)) return [`${FIELD} must be an object`];
  const problems: string[] = [];
  if (auth.namespace !== undefined && (typeof auth.namespace !== 'string' || !auth.namespace))
    problems.push(`${FIELD}.namespace must be a Vault namespace name`);
  const methods = Object.keys(auth).filter(
    (k) => k !== 'namespace' && auth[k] !== undefined && auth[k] !== null,
  );
  const refused = methods.filter((m) => REFUSED_METHODS.includes(m));
  if (refused.length)
    return [
      `${FIELD}.${refused[0]} is not supported by capstan; use one of ${VAULT_AUTH_METHODS.join(', ')}`,
    ];
  if (methods.length !== 1) return [`${FIELD} must set exactly one of ${VAULT_AUTH_METHODS.join(', ')}`];
  const m = methods[0];
  const f = `${FIELD}.${m}`;
  const v = auth[m];
  if (m === 'tokenSecretRef') return [...problems, ...selector(v, f, store)];
  if (!isObject(v)) return [...problems, `${f} must be an object`];
  switch (m) {
    case 'appRole':
      problems.push(...validateMount(v.path, `${f}.path`));
      if (v.roleId !== undefined && (typeof v.roleId !== 'string' || !v.roleId))
        problems.push(`${f}.roleId must be a non-empty string`);
      if (v.roleId === undefined && v.roleRef === undefined) problems.push(`${f} must set roleId or roleRef`);
      if (v.roleId !== undefined && v.roleRef !== undefined)
        problems.push(`${f} must set only one of roleId, roleRef`);
      if (v.roleRef !== undefined) problems.push(...selector(v.roleRef, `${f}.roleRef`, store));
      problems.push(...selector(v.secretRef, `${f}.secretRef`, store));
      break;
    case 'kubernetes':
      problems.push(...validateMount(v.mountPath, `${f}.mountPath`));
      if (typeof v.role !== 'string' || !v.role) problems.push(`${f}.role must be set`);
      if (v.serviceAccountRef !== undefined)
        problems.push(...validateSa(v.serviceAccountRef, `${f}.serviceAccountRef`, store));
      else if (v.secretRef !== undefined)
        problems.push(...selector(v.secretRef, `${f}.secretRef`, store, false));
      else
        problems.push(
          `${f} must set serviceAccountRef or secretRef (capstan never logs in with its own service account token)`,
        );
      break;
    case 'userPass':
    case 'ldap':
      problems.push(...validateMount(v.path, `${f}.path`));
      if (typeof v.username !== 'string' || !v.username) problems.push(`${f}.username must be set`);
      problems.push(...selector(v.secretRef, `${f}.secretRef`, store));
      break;
    case 'jwt': {
      problems.push(...validateMount(v.path, `${f}.path`));
      const k8s = v.kubernetesServiceAccountToken;
      if (k8s !== undefined) {
        if (!isObject(k8s)) problems.push(`${f}.kubernetesServiceAccountToken must be an object`);
        else
          problems.push(
            ...validateSa(
              k8s.serviceAccountRef,
              `${f}.kubernetesServiceAccountToken.serviceAccountRef`,
              store,
            ),
          );
      } else if (v.secretRef !== undefined) problems.push(...selector(v.secretRef, `${f}.secretRef`, store));
      else problems.push(`${f} must set secretRef or kubernetesServiceAccountToken`);
      break;
    }
    default:
      problems.push(`${f} is not a Vault auth method (${VAULT_AUTH_METHODS.join(', ')})`);
  }
  return problems;
}

/**
 * True when a ClusterSecretStore's auth reads a credential from the ExternalSecret's namespace (a
 * reference without `namespace`: ESO's referent authentication); such a store is checked per ExternalSecret.
 */
export function isReferentVaultAuth(auth: VaultAuth | undefined): boolean {
  if (!auth) return false;
  const refs: Array<{ namespace?: string } | undefined> = [
    auth.tokenSecretRef,
    auth.appRole?.roleRef,
    auth.appRole?.secretRef,
    auth.kubernetes?.serviceAccountRef,
    auth.kubernetes?.secretRef,
    auth.userPass?.secretRef,
    auth.ldap?.secretRef,
    auth.jwt?.secretRef,
    auth.jwt?.kubernetesServiceAccountToken?.serviceAccountRef,
  ];
  return refs.some((r) => r !== undefined && r.namespace === undefined);
}

/** One login call, made by `vault.ts` with the store's bounds, TLS, headers and namespace. */
export type VaultLoginCall = (
  path: string,
  body: Record<string, unknown>,
) => Promise<{ auth?: { client_token?: string; lease_duration?: number } }>;

/** A token and how long it may be reused. */
export interface VaultToken {
  /** token - the Vault token (never logged). */
  token: string;
  /** expiresAt - epoch ms after which it is not reused; undefined for a token from a Secret (not cached). */
  expiresAt?: number;
  /** cacheKey - where a login token is cached (to drop it after a 403); undefined when not cached. */
  cacheKey?: string;
}

/** Login tokens by store; see the module comment. */
const cache = new Map<string, { token: string; expiresAt: number }>();
const CACHE_MAX = 1000;

/** Reuse a token until this share of its lease has passed (and at least 5 s before it ends). */
const REUSE_SHARE = 0.8;

/** Forgets one cached token (after Vault refused it) or all of them (tests). */
export function dropVaultToken(cacheKey?: string): void {
  if (cacheKey === undefined) cache.clear();
  else cache.delete(cacheKey);
}

/** The cache key of a store's login: its identity, the ExternalSecret's namespace and a digest of the config. */
export function vaultCacheKey(ctx: ProviderContext, config: unknown): string {
  const digest = crypto.createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 32);
  const s = ctx.store;
  return `${s.kind}/${s.namespace ?? ''}/${s.name}/${ctx.namespace}/${digest}`;
}

const trimmed = (b: Buffer): string => b.toString('utf8').trim();

/** The login path and body of the configured method (reads the credential Secrets / requests a token). */
async function loginRequest(
  ctx: ProviderContext,
  auth: VaultAuth,
): Promise<{ path: string; body: Record<string, unknown>; method: string }> {
  if (auth.appRole) {
    const a = auth.appRole;
    const roleId = a.roleId ?? trimmed(await readSecretKey(ctx, a.roleRef!, `${FIELD}.appRole.roleRef`));
    const secretId = trimmed(await readSecretKey(ctx, a.secretRef, `${FIELD}.appRole.secretRef`));
    return {
      method: 'appRole',
      path: `auth/${a.path ?? 'approle'}/login`,
      body: { role_id: roleId, secret_id: secretId },
    };
  }
  if (auth.kubernetes) {
    const k = auth.kubernetes;
    const jwt = k.serviceAccountRef
      ? await serviceAccountToken(ctx, k.serviceAccountRef)
      : trimmed(
          await readSecretKey(
            ctx,
            { ...k.secretRef!, key: k.secretRef!.key || 'token' },
            `${FIELD}.kubernetes.secretRef`,
          ),
        );
    return {
      method: 'kubernetes',
      path: `auth/${k.mountPath ?? 'kubernetes'}/login`,
      body: { role: k.role, jwt },
    };
  }
  const up = auth.userPass ?? auth.ldap;
  if (up) {
    const method = auth.userPass ? 'userPass' : 'ldap';
    const password = trimmed(await readSecretKey(ctx, up.secretRef, `${FIELD}.${method}.secretRef`));
    const mount = up.path ?? (auth.userPass ? 'userpass' : 'ldap');
    return { method, path: `auth/${mount}/login/${up.username}`, body: { password } };
  }
  if (auth.jwt) {
    const j = auth.jwt;
    const sa = j.kubernetesServiceAccountToken;
    const jwt = sa
      ? await serviceAccountToken(ctx, {
          ...sa.serviceAccountRef,
          audiences: sa.serviceAccountRef.audiences ?? sa.audiences ?? ['vault'],
        })
      : trimmed(await readSecretKey(ctx, j.secretRef!, `${FIELD}.jwt.secretRef`));
    return { method: 'jwt', path: `auth/${j.path ?? 'jwt'}/login`, body: { role: j.role, jwt } };
  }
  throw new InvalidStoreError(`${FIELD} names no supported method`);
}

/**
 * The token of a store for one reconcile: from `tokenSecretRef`, from the cache, or by logging in.
 * @param ctx - the provider context (credential Secrets and TokenRequests use the operator's client).
 * @param auth - the validated `auth` block; undefined means no token.
 * @param cacheKey - see {@link vaultCacheKey}.
 * @param login - sends one login call (bounded, with the store's TLS and namespace).
 * @returns the token, or undefined without auth.
 * @throws ProviderError naming the store and the method when the login is refused (never a credential).
 */
export async function vaultToken(
  ctx: ProviderContext,
  auth: VaultAuth | undefined,
  cacheKey: string,
  login: VaultLoginCall,
): Promise<VaultToken | undefined> {
  if (!auth) return undefined;
  if (auth.tokenSecretRef)
    return { token: trimmed(await readSecretKey(ctx, auth.tokenSecretRef, `${FIELD}.tokenSecretRef`)) };
  const hit = cache.get(cacheKey);
  if (hit && hit.expiresAt > Date.now()) return { token: hit.token, expiresAt: hit.expiresAt, cacheKey };
  const req = await loginRequest(ctx, auth);
  let answer: Awaited<ReturnType<VaultLoginCall>>;
  try {
    answer = await login(req.path, req.body);
  } catch (err) {
    const e = err instanceof ProviderError ? err : undefined;
    throw new ProviderError(
      `${req.method} login to Vault for store "${ctx.store.name}" failed: ${e?.message ?? 'unknown error'}`,
      { retryable: e?.retryable ?? true, cause: err },
    );
  }
  const token = answer.auth?.client_token;
  if (!token)
    throw new ProviderError(`${req.method} login to Vault for store "${ctx.store.name}" returned no token`, {
      retryable: true,
    });
  // lease_duration 0 means a token without expiry (root-like); reuse it for an hour at most
  const leaseMs = (answer.auth?.lease_duration || 3600) * 1000;
  const expiresAt = Date.now() + Math.max(0, Math.min(leaseMs * REUSE_SHARE, leaseMs - 5000));
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(cacheKey, { token, expiresAt });
  return { token, expiresAt, cacheKey };
}
