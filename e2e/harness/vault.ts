/**
 * A real HashiCorp Vault dev server for the `vault` provider's end-to-end suite: the binary
 * `scripts/build-vault.sh` builds from Go modules (`make setup`), started as
 * `vault server -dev -dev-root-token-id=<random> -dev-listen-address=127.0.0.1:<free port>`, stopped by PID.
 *
 * Dev mode gives an unsealed in-memory server with KV v2 at `secret/`. {@link startVault} adds what the
 * suite needs: KV v1 at `kv1/`, the AppRole auth method at `approle/`, and the Kubernetes auth method
 * at `kubernetes/` configured against the run's own API server (its URL and CA, and a token reviewer JWT
 * of a ServiceAccount bound to `system:auth-delegator`), so that Vault reviews service account tokens with
 * the real API server. Nothing here imitates Vault.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../../operator/kube/client';
import { freePorts, ManagedProcess } from './process';
import { waitFor } from './wait';

/** The Vault version `scripts/build-vault.sh` builds. */
export const VAULT_VERSION = process.env.VAULT_VERSION ?? 'v1.21.0';

/** Where `scripts/build-vault.sh` caches the binary (`$CAPSTAN_VAULT_BIN` overrides). */
export function vaultBinary(): string {
  if (process.env.CAPSTAN_VAULT_BIN) return process.env.CAPSTAN_VAULT_BIN;
  const cache = process.env.CAPSTAN_CACHE ?? path.join(os.homedir(), '.cache', 'capstan');
  return path.join(cache, `vault-${VAULT_VERSION}`, 'bin', 'vault');
}

/** A running dev server. */
export interface VaultServer {
  /** addr - `http://127.0.0.1:<port>`. */
  addr: string;
  /** rootToken - the dev root token (random per run; tests use it only to set Vault up). */
  rootToken: string;
  /**
   * Calls Vault's HTTP API as root.
   * @param method - HTTP method (`LIST` is sent as GET with `?list=true`).
   * @param apiPath - the path after `/v1/`.
   * @param body - JSON body.
   * @returns the parsed JSON answer (undefined for 204).
   * @throws Error with the status and Vault's `errors` for a non-2xx answer.
   */
  api<T = Record<string, unknown>>(method: string, apiPath: string, body?: unknown): Promise<T>;
  /** The server's log tail, for failures. */
  tail(lines?: number): string;
  /** Stops the server by PID and removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts a dev server and enables KV v1 at `kv1/`, AppRole at `approle/` and, when `kube` is given,
 * Kubernetes auth at `kubernetes/` against that API server.
 * @param opts.kube - the run's admin client: used to create the reviewer ServiceAccount and read the server URL/CA.
 * @throws Error when the binary is missing (run `make setup`) or the server does not come up within 60 s.
 */
export async function startVault(opts: { kube?: KubeClient } = {}): Promise<VaultServer> {
  const bin = vaultBinary();
  if (!fs.existsSync(bin)) throw new Error(`missing ${bin}; run scripts/build-vault.sh (make setup) first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-vault-'));
  const [port] = await freePorts(1);
  const rootToken = `root-${crypto.randomBytes(12).toString('hex')}`;
  const addr = `http://127.0.0.1:${port}`;
  const proc = ManagedProcess.start({
    name: 'vault',
    command: bin,
    args: ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`],
    logPath: path.join(dir, 'vault.log'),
    cwd: dir,
    // HOME keeps the CLI's token helper files out of the user's home
    env: { PATH: process.env.PATH ?? '', HOME: dir, VAULT_ADDR: addr },
  });
  const api = async <T>(method: string, apiPath: string, body?: unknown): Promise<T> => {
    const list = method === 'LIST';
    const res = await fetch(`${addr}/v1/${apiPath}${list ? '?list=true' : ''}`, {
      method: list ? 'GET' : method,
      headers: {
        'X-Vault-Token': rootToken,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      let errors = '';
      try {
        errors = JSON.stringify((JSON.parse(text) as { errors?: unknown }).errors ?? '');
      } catch {
        errors = '(no JSON)';
      }
      throw new Error(`Vault ${method} ${apiPath}: ${res.status} ${errors}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const server: VaultServer = {
    addr,
    rootToken,
    api,
    tail: (lines = 40) => proc.tail(lines),
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        proc.assertRunning();
        const res = await fetch(`${addr}/v1/sys/health`).catch(() => undefined);
        return res?.status === 200;
      },
      { timeoutMs: 60_000, what: 'the Vault dev server to be healthy' },
    );
    await api('POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
    await api('POST', 'sys/auth/approle', { type: 'approle' });
    if (opts.kube) await configureKubernetesAuth(server, opts.kube);
    return server;
  } catch (err) {
    const tail = proc.tail(30);
    await server.stop();
    throw new Error(`${(err as Error).message}\n--- vault log ---\n${tail}`);
  }
}

/** Namespace and name of the token reviewer ServiceAccount. */
const REVIEWER_NS = 'kube-system';
const REVIEWER = 'vault-token-reviewer';

/**
 * Enables Kubernetes auth at `kubernetes/` with the API server of `kube`: its URL and CA, and the JWT
 * of a ServiceAccount bound to `system:auth-delegator` (so Vault may create TokenReviews).
 */
async function configureKubernetesAuth(vault: VaultServer, kube: KubeClient): Promise<void> {
  const cluster = kube.kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the run kubeconfig has no current cluster');
  const ca = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster.caFile
      ? fs.readFileSync(cluster.caFile, 'utf8')
      : undefined;
  const ignoreExists = (err: unknown): void => {
    if ((err as { status?: number }).status !== 409) throw err;
  };
  await kube
    .request('POST', `/api/v1/namespaces/${REVIEWER_NS}/serviceaccounts`, {
      body: {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: REVIEWER, namespace: REVIEWER_NS },
      },
    })
    .catch(ignoreExists);
  await kube
    .request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: REVIEWER },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'system:auth-delegator',
        },
        subjects: [{ kind: 'ServiceAccount', name: REVIEWER, namespace: REVIEWER_NS }],
      },
    })
    .catch(ignoreExists);
  const tr = await kube.request<{ status?: { token?: string } }>(
    'POST',
    `/api/v1/namespaces/${REVIEWER_NS}/serviceaccounts/${REVIEWER}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      },
    },
  );
  if (!tr.status?.token) throw new Error('no token for the Vault token reviewer');
  await vault.api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await vault.api('POST', 'auth/kubernetes/config', {
    kubernetes_host: cluster.server,
    ...(ca ? { kubernetes_ca_cert: ca } : {}),
    token_reviewer_jwt: tr.status.token,
    disable_local_ca_jwt: true,
  });
}
