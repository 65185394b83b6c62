/**
 * The providers' shared secrets, from the `argocd-secret` Secret of the controller namespace under Argo
 * CD's keys (`webhook.github.secret`, `webhook.gitlab.secret`, `webhook.bitbucket.uuid`,
 * `webhook.bitbucketserver.secret`, `webhook.gogs.secret`, `webhook.azuredevops.username` and
 * `.password`); a value `$<secret>:<key>` stands for a key of another Secret (Argo CD's reference).
 * Read with a GET at most every few seconds (a change takes effect within that time) rather than
 * watched: pushes are rare, and a watch would keep a connection and the Secret's other keys in memory
 * for nothing. Values are never logged.
 */
import { KubeClient, isNotFound } from '../kube/client';
import type { Provider } from './payload';
import { SECRET_KEYS, type WebhookSecrets } from './signature';

/** Argo CD's Secret of settings; capstan reads only the webhook keys of it. */
export const ARGOCD_SECRET = 'argocd-secret';

type Data = Record<string, string> | undefined;

const decode = (data: Data, key: string): string => {
  const raw = data?.[key];
  return raw === undefined ? '' : Buffer.from(raw, 'base64').toString('utf8').trim();
};

/** Argo CD's label a Secret must carry to be referenced from `argocd-secret`. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';

/** A `$<secret>:<key>` reference that cannot be resolved; the message names Secrets and keys only. */
export class SecretReferenceError extends Error {
  override name = 'SecretReferenceError';
}

/** `$<secret name>:<key>`, Argo CD's reference from `argocd-secret` to another Secret. */
const REFERENCE = /^\$([a-z0-9]([-a-z0-9.]*[a-z0-9])?):(.+)$/;

/**
 * The webhook values of `argocd-secret`'s data, by key, with Argo CD's references resolved: a value
 * `$<secret>:<key>` is that key of that Secret in the same namespace, which must carry the label
 * `app.kubernetes.io/part-of: argocd` (as Argo CD).
 * @param read - reads a Secret of the namespace (undefined when it does not exist).
 * @throws SecretReferenceError for a reference to a missing Secret, key or label: the request is then
 *   refused, never accepted unverified (nor checked against the reference's text).
 */
export async function webhookValues(
  data: Data,
  read: (
    name: string,
  ) => Promise<{ metadata?: { labels?: Record<string, string> }; data?: Data } | undefined>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of Object.values(SECRET_KEYS).flat()) {
    const value = decode(data, key);
    const ref = REFERENCE.exec(value);
    if (!ref) {
      out[key] = value;
      continue;
    }
    const [, name, , refKey] = ref;
    const secret = await read(name);
    if (secret?.metadata?.labels?.[PART_OF_LABEL] !== 'argocd' || !decode(secret.data, refKey))
      throw new SecretReferenceError(
        `${ARGOCD_SECRET} key ${key} refers to Secret ${name} key ${refKey}, which does not exist ` +
          `or lacks the label ${PART_OF_LABEL}: argocd`,
      );
    out[key] = decode(secret.data, refKey);
  }
  return out;
}

/** The secrets by provider from the webhook values by key; empty values count as unset. */
export function secretsFromValues(values: Record<string, string>): WebhookSecrets {
  const out: WebhookSecrets = {};
  for (const [provider, keys] of Object.entries(SECRET_KEYS) as Array<[Provider, string[]]>) {
    const parts = keys.map((k) => values[k] ?? '');
    // Azure DevOps: user name and password, compared with basic auth's `user:password`.
    if (parts.some(Boolean)) out[provider] = parts.join(':');
  }
  return out;
}

/** The secrets by provider from a Secret's `data` (base64), without references; empty values count as unset. */
export function secretsFromData(data: Data): WebhookSecrets {
  return secretsFromValues(
    Object.fromEntries(
      Object.values(SECRET_KEYS)
        .flat()
        .map((k) => [k, decode(data, k)]),
    ),
  );
}

/** Reads {@link ARGOCD_SECRET} and keeps the answer for `ttlMs`. */
export class WebhookSecretSource {
  private cached?: { at: number; secrets: Promise<WebhookSecrets> };

  /**
   * @param ttlMs - how long an answer is reused, in ms.
   * @param now - clock in epoch ms (tests).
   */
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The providers' secrets; `{}` when `argocd-secret` does not exist (no provider is verified).
   * @throws KubeApiError when the Secret cannot be read (forbidden, API down): the caller must refuse
   *   the request rather than accept it unverified. A failure is not cached.
   */
  get(): Promise<WebhookSecrets> {
    const hit = this.cached;
    if (hit && this.now() - hit.at < this.ttlMs) return hit.secrets;
    const secrets = this.read();
    const entry = { at: this.now(), secrets };
    this.cached = entry;
    secrets.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return secrets;
  }

  private async read(): Promise<WebhookSecrets> {
    const s = await this.secret(ARGOCD_SECRET);
    if (!s) return {};
    return secretsFromValues(await webhookValues(s.data, (name) => this.secret(name)));
  }

  /** A Secret of the namespace; undefined when it does not exist. */
  private async secret(
    name: string,
  ): Promise<{ metadata?: { labels?: Record<string, string> }; data?: Record<string, string> } | undefined> {
    try {
      return await this.client.request(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets/${encodeURIComponent(name)}`,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
