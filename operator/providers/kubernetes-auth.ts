/**
 * The identity the `kubernetes` provider reads remote Secrets with, as ESO's `providers/v1/kubernetes/auth.go`.
 *
 * The rule that matters: the remote Secrets are read with a client built here, from the store's own
 * server and credentials (a bearer token from a Secret, a service account token from the TokenRequest
 * API, a client certificate, or an `authRef` kubeconfig), never with the operator's identity. With no
 * `auth` the requests are anonymous. The operator's client only reads the credential Secrets and
 * requests service account tokens, exactly as ESO's controller client does.
 *
 * An `authRef` kubeconfig is accepted only with inline credentials: file paths (`tokenFile`,
 * `client-certificate`, `certificate-authority`), `exec` and `auth-provider` are refused, because they
 * would make the operator run commands or read its own files (its service account token) for a store user.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { KubeApiError } from '../kube/client';
import { boundedRequest, type TlsOptions } from './httpcall';
import { DEFAULT_PROVIDER_LIMITS, type NetworkPolicy, type Resolver } from './netpolicy';
import type { CAProvider, SecretKeySelector } from './storerefs';
import { fetchCA, isObject, readSecretKey, refNamespace } from './storerefs';
import type { ProviderContext } from './types';
import { ProviderError } from './types';

/** The target API server of a store. */
export interface RemoteCluster {
  /** server - base URL, `https://host:port`. */
  server: string;
  /** caData - PEM CA certificates; unset means the system roots (or `caFile`). */
  caData?: Buffer;
  /** caFile - a CA file path, only ever copied from the operator's own cluster entry (its trust, not its identity). */
  caFile?: string;
  /** skipTLSVerify - only from an `authRef` kubeconfig that asks for it, or the operator's own cluster entry. */
  skipTLSVerify?: boolean;
  /** tlsServerName - SNI/verification name override. */
  tlsServerName?: string;
}

/** The credentials of a store; all unset means anonymous. */
export interface RemoteUser {
  /** token - a bearer token. */
  token?: string;
  /** certData - PEM client certificate. */
  certData?: Buffer;
  /** keyData - PEM client key. */
  keyData?: Buffer;
}

/** The `auth` block of a kubernetes store: exactly one of the three. */
export interface KubernetesAuth {
  /** cert - client certificate and key from Secrets. */
  cert?: { clientCert: SecretKeySelector; clientKey: SecretKeySelector };
  /** token - a bearer token from a Secret. */
  token?: { bearerToken: SecretKeySelector };
  /** serviceAccount - a service account whose token is requested with the TokenRequest API. */
  serviceAccount?: { name: string; namespace?: string; audiences?: string[] };
}

/** `spec.provider.kubernetes` (ESO `KubernetesProvider`). */
export interface KubernetesProviderConfig {
  /** server - the target API server; unset `url` means the operator's own cluster. */
  server?: { url?: string; caBundle?: string; caProvider?: CAProvider };
  /** auth - how to authenticate; unset means anonymous. */
  auth?: KubernetesAuth;
  /** authRef - a Secret key holding a kubeconfig (inline credentials only); takes precedence over server/auth. */
  authRef?: SecretKeySelector;
  /** remoteNamespace - where the remote Secrets are read (default `default`). */
  remoteNamespace?: string;
}

/** The bounds of every call a {@link RemoteKubeClient} makes. */
export interface RemoteBounds {
  /** timeoutMs - overall deadline of one call (DNS, connect, TLS, the last byte), in ms. */
  timeoutMs: number;
  /** maxBytes - the largest response body, in bytes. */
  maxBytes: number;
  /** policy - the network policy, for a server the tenant chose (`server.url`, `authRef`); unset for the operator's own cluster. */
  policy?: NetworkPolicy;
  /** resolver - DNS for the policy check. */
  resolver?: Resolver;
}

/** Query parameters and JSON body of one API call. */
export interface RemoteRequestOptions {
  /** query - query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** body - serialised as JSON. */
  body?: unknown;
}

/** What the kubernetes provider needs of an API client: one JSON call (tests pass doubles). */
export interface RemoteApi {
  /**
   * Sends one call and parses the JSON answer.
   * @throws KubeApiError on a non-2xx answer; ProviderError (retryable) on a deadline, the size cap or a transport error.
   */
  request<T = unknown>(method: string, path: string, opts?: RemoteRequestOptions): Promise<T>;
}

/**
 * A JSON client of a remote API server with the store's identity, every call bounded by a deadline and a
 * response size cap (`httpcall.ts`), so that a slow-drip or oversized "API server" holds neither a
 * worker nor memory. It reads no kubeconfig and runs no auth plugin: TLS and the bearer token come from
 * the {@link RemoteCluster} and {@link RemoteUser} built here.
 */
export class RemoteKubeClient implements RemoteApi {
  private readonly tls: TlsOptions;

  /**
   * @param cluster - server and trust.
   * @param user - credentials (all unset: anonymous).
   * @param bounds - deadline, size cap, and the network policy for tenant-chosen servers.
   */
  constructor(
    readonly cluster: RemoteCluster,
    private readonly user: RemoteUser,
    private readonly bounds: RemoteBounds,
  ) {
    const ca = cluster.caData ?? (cluster.caFile ? fs.readFileSync(cluster.caFile) : undefined);
    this.tls = {
      ...(ca ? { ca } : {}),
      ...(user.certData ? { cert: user.certData } : {}),
      ...(user.keyData ? { key: user.keyData } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
      rejectUnauthorized: !cluster.skipTLSVerify,
    };
  }

  /** {@inheritDoc RemoteApi.request} */
  async request<T = unknown>(method: string, path: string, opts: RemoteRequestOptions = {}): Promise<T> {
    const url = new URL(this.cluster.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.user.token) headers.Authorization = `Bearer ${this.user.token}`;
    const answer = await boundedRequest({
      url,
      method,
      headers,
      body,
      tls: this.tls,
      deadlineMs: this.bounds.timeoutMs,
      maxBytes: this.bounds.maxBytes,
      sizeFlag: '--provider-max-response-bytes',
      policy: this.bounds.policy,
      resolver: this.bounds.resolver,
      what: `the API server ${url.origin}`,
    });
    const text = answer.body.toString('utf8');
    if (answer.status < 200 || answer.status >= 300) throw statusError(answer.status, text);
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw new ProviderError(
        `the API server ${url.origin} answered ${method} ${path} with something other than JSON`,
      );
    }
  }
}

/**
 * The error of a non-2xx answer: the reason and message of a Kubernetes `Status` object, else only the
 * HTTP status. Other bodies are never echoed, since a tenant-chosen "API server" may be any service.
 */
function statusError(status: number, text: string): KubeApiError {
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    if (s && s.kind === 'Status')
      return new KubeApiError(status, s.reason ?? 'Unknown', String(s.message ?? '').slice(0, 500));
  } catch {
    // not JSON: fall through
  }
  return new KubeApiError(status, 'Unknown', `HTTP ${status}`);
}

/**
 * Builds a bounded client for a remote cluster and user.
 * @param bounds - deadline and size cap; default {@link DEFAULT_PROVIDER_LIMITS}, no network policy.
 */
export function remoteKubeClient(
  cluster: RemoteCluster,
  user: RemoteUser,
  bounds: RemoteBounds = {
    timeoutMs: DEFAULT_PROVIDER_LIMITS.kubernetesTimeoutMs,
    maxBytes: DEFAULT_PROVIDER_LIMITS.maxResponseBytes,
  },
): RemoteKubeClient {
  return new RemoteKubeClient(cluster, user, bounds);
}

/** `host` -> `https://host`, as client-go's rest.Config does for a host without scheme. */
function normaliseServer(url: string): string {
  return /^https?:\/\//.test(url) ? url.replace(/\/$/, '') : `https://${url.replace(/\/$/, '')}`;
}

/** The operator's own cluster entry: server and trust, never its user. */
function ownCluster(ctx: ProviderContext): RemoteCluster {
  const c = ctx.kube.kubeConfig.getCurrentCluster();
  if (!c) throw new ProviderError('the operator has no current cluster to read Secrets from');
  return {
    server: c.server.replace(/\/$/, ''),
    caData: c.caData ? Buffer.from(c.caData, 'base64') : undefined,
    caFile: c.caFile,
    skipTLSVerify: c.skipTLSVerify,
    tlsServerName: c.tlsServerName,
  };
}

/** Requested token lifetime, as ESO (1 hour). */
const TOKEN_SECONDS = 3600;
/** Reuse a requested token until this long before it expires. */
const TOKEN_MARGIN_MS = 10 * 60_000;
const TOKEN_CACHE_MAX = 1000;
const tokenCache = new Map<string, { token: string; expiresAt: number }>();

/**
 * Requests a service account token with the TokenRequest API (ESO `serviceAccountToken`): the account
 * is in the ExternalSecret's namespace, or in `namespace` for a ClusterSecretStore. Tokens are reused
 * until 10 minutes before they expire, so that a refresh of many ExternalSecrets does not request one each.
 * @throws ProviderError naming the service account.
 */
export async function serviceAccountToken(
  ctx: ProviderContext,
  sa: { name: string; namespace?: string; audiences?: string[] },
): Promise<string> {
  const ns = refNamespace(ctx, sa.namespace, 'auth.serviceAccount');
  const key = `${ns}/${sa.name}/${(sa.audiences ?? []).join(',')}`;
  const cached = tokenCache.get(key);
  if (cached && cached.expiresAt - TOKEN_MARGIN_MS > Date.now()) return cached.token;
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(sa.name)}/token`;
  const body = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: sa.audiences, expirationSeconds: TOKEN_SECONDS },
  };
  let res: { status?: { token?: string; expirationTimestamp?: string } };
  try {
    res = await ctx.kube.request('POST', path, { body });
  } catch (err) {
    const status = err instanceof KubeApiError ? err.status : 0;
    const retryable = status === 0 || status === 429 || status >= 500;
    const reason = err instanceof KubeApiError ? `${err.status} ${err.reason}` : 'transport error';
    throw new ProviderError(
      `cannot create a token for service account "${ns}/${sa.name}" of store "${ctx.store.name}": ${reason}`,
      {
        retryable,
        cause: err,
      },
    );
  }
  const token = res.status?.token;
  if (!token)
    throw new ProviderError(`the TokenRequest for service account "${ns}/${sa.name}" returned no token`, {
      retryable: true,
    });
  const expiresAt = Date.parse(res.status?.expirationTimestamp ?? '') || Date.now() + TOKEN_SECONDS * 1000;
  if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.delete(tokenCache.keys().next().value as string);
  tokenCache.set(key, { token, expiresAt });
  return token;
}

/** Forgets cached service account tokens (tests; a store whose account was replaced). */
export function clearTokenCache(): void {
  tokenCache.clear();
}

/** Kubeconfig fields that would make the operator read its own files or run commands. */
const REFUSED_USER_FIELDS = [
  'tokenFile',
  'client-certificate',
  'client-key',
  'exec',
  'auth-provider',
  'username',
  'password',
  'as',
];

function named(list: unknown, name: unknown, field: string): Record<string, unknown> {
  const hit = Array.isArray(list) ? list.find((e: unknown) => isObject(e) && e.name === name) : undefined;
  const inner = isObject(hit) ? hit[field] : undefined;
  if (!isObject(inner))
    throw new ProviderError(`the authRef kubeconfig has no ${field} named "${String(name)}"`);
  return inner;
}

/**
 * Reads the current context's cluster and user from an `authRef` kubeconfig, inline credentials only.
 * @throws ProviderError (non-retryable) naming the refused or missing field (never a value).
 */
export function parseKubeconfigCredentials(text: string): { cluster: RemoteCluster; user: RemoteUser } {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch {
    throw new ProviderError('the authRef kubeconfig is not valid YAML');
  }
  if (!isObject(doc)) throw new ProviderError('the authRef kubeconfig is not a kubeconfig');
  const contexts = Array.isArray(doc.contexts) ? (doc.contexts as unknown[]) : [];
  const ctxName =
    doc['current-context'] ?? (contexts.length === 1 && isObject(contexts[0]) ? contexts[0].name : undefined);
  const context = named(doc.contexts, ctxName, 'context');
  const cluster = named(doc.clusters, context.cluster, 'cluster');
  const user = named(doc.users, context.user, 'user');
  if (cluster['certificate-authority'] !== undefined) {
    throw new ProviderError('the authRef kubeconfig must inline certificate-authority-data, not a file path');
  }
  const refused = REFUSED_USER_FIELDS.filter((f) => user[f] !== undefined);
  if (refused.length) {
    throw new ProviderError(
      `the authRef kubeconfig user uses ${refused.join(', ')}; capstan accepts token or client-certificate-data/client-key-data only`,
    );
  }
  if (typeof cluster.server !== 'string' || !cluster.server)
    throw new ProviderError('the authRef kubeconfig cluster has no server');
  const b64 = (v: unknown): Buffer | undefined =>
    typeof v === 'string' && v ? Buffer.from(v, 'base64') : undefined;
  return {
    cluster: {
      server: normaliseServer(cluster.server),
      caData: b64(cluster['certificate-authority-data']),
      skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
      tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    },
    user: {
      token: typeof user.token === 'string' ? user.token : undefined,
      certData: b64(user['client-certificate-data']),
      keyData: b64(user['client-key-data']),
    },
  };
}

/** The store's credentials (ESO `getAuth` switch). */
async function storeUser(ctx: ProviderContext, auth: KubernetesAuth | undefined): Promise<RemoteUser> {
  if (auth?.token) {
    return {
      token: (await readSecretKey(ctx, auth.token.bearerToken, 'auth.token.bearerToken'))
        .toString('utf8')
        .trim(),
    };
  }
  if (auth?.serviceAccount) return { token: await serviceAccountToken(ctx, auth.serviceAccount) };
  if (auth?.cert) {
    return {
      certData: await readSecretKey(ctx, auth.cert.clientCert, 'auth.cert.clientCert'),
      keyData: await readSecretKey(ctx, auth.cert.clientKey, 'auth.cert.clientKey'),
    };
  }
  return {};
}

/**
 * Builds the client that reads the remote Secrets (ESO `getAuth` + `NewForConfig`).
 * @param ctx - the provider context (its `kube` reads credentials only).
 * @param config - the validated `spec.provider.kubernetes`.
 * @throws ProviderError / InvalidStoreError when credentials cannot be resolved.
 */
export async function remoteClientFor(
  ctx: ProviderContext,
  config: KubernetesProviderConfig,
): Promise<RemoteKubeClient> {
  const limits = ctx.limits ?? DEFAULT_PROVIDER_LIMITS;
  const bounds: RemoteBounds = { timeoutMs: limits.kubernetesTimeoutMs, maxBytes: limits.maxResponseBytes };
  // a server the tenant chose is held to the network policy; the operator's own cluster is the admin's
  const tenantServer: RemoteBounds = { ...bounds, policy: limits.network, resolver: limits.resolver };
  if (config.authRef) {
    const text = (await readSecretKey(ctx, config.authRef, 'authRef')).toString('utf8');
    const { cluster, user } = parseKubeconfigCredentials(text);
    return remoteKubeClient(cluster, user, tenantServer);
  }
  const url = config.server?.url;
  const ca = await fetchCA(ctx, config.server?.caBundle, config.server?.caProvider, 'server');
  const user = await storeUser(ctx, config.auth);
  if (url) return remoteKubeClient({ server: normaliseServer(url), caData: ca }, user, tenantServer);
  const own = ownCluster(ctx);
  const cluster = ca ? { server: own.server, caData: ca, tlsServerName: own.tlsServerName } : own;
  return remoteKubeClient(cluster, user, bounds);
}
