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
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { KubeClient, KubeApiError } from '../kube/client';
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

/** Builds a client for a remote cluster and user through client-node's KubeConfig (which applies TLS and token). */
export function remoteKubeClient(cluster: RemoteCluster, user: RemoteUser): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'remote',
        server: cluster.server,
        caData: cluster.caData?.toString('base64'),
        caFile: cluster.caFile,
        skipTLSVerify: cluster.skipTLSVerify ?? false,
        tlsServerName: cluster.tlsServerName,
      },
    ],
    // client-node applies no TLS options at all without a user: an anonymous user is still a user entry.
    users: [
      {
        name: 'remote',
        token: user.token,
        certData: user.certData?.toString('base64'),
        keyData: user.keyData?.toString('base64'),
      },
    ],
    contexts: [{ name: 'remote', cluster: 'remote', user: 'remote' }],
    currentContext: 'remote',
  });
  return new KubeClient(kc);
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
): Promise<KubeClient> {
  if (config.authRef) {
    const text = (await readSecretKey(ctx, config.authRef, 'authRef')).toString('utf8');
    const { cluster, user } = parseKubeconfigCredentials(text);
    return remoteKubeClient(cluster, user);
  }
  const url = config.server?.url;
  const ca = await fetchCA(ctx, config.server?.caBundle, config.server?.caProvider, 'server');
  let cluster: RemoteCluster;
  if (url) cluster = { server: normaliseServer(url), caData: ca };
  else {
    const own = ownCluster(ctx);
    cluster = ca ? { server: own.server, caData: ca, tlsServerName: own.tlsServerName } : own;
  }
  return remoteKubeClient(cluster, await storeUser(ctx, config.auth));
}
