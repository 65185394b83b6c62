/**
 * The providers' shared secrets, from the `argocd-secret` Secret of the controller namespace under Argo
 * CD's keys (`webhook.github.secret`, `webhook.gitlab.secret`, `webhook.bitbucket.uuid`,
 * `webhook.bitbucketserver.secret`, `webhook.gogs.secret`, `webhook.azuredevops.username` and `.password`). Read with one GET at most every few seconds
 * (a change takes effect within that time) rather than watched: pushes are rare, and a watch would keep
 * a connection and the Secret's other keys in memory for nothing. Values are never logged.
 */
import { KubeClient, isNotFound } from '../kube/client';
import type { Provider } from './payload';
import { SECRET_KEYS, type WebhookSecrets } from './signature';

/** Argo CD's Secret of settings; capstan reads only the webhook keys of it. */
export const ARGOCD_SECRET = 'argocd-secret';

/** The secrets by provider from a Secret's `data` (base64); empty values count as unset. */
export function secretsFromData(data: Record<string, string> | undefined): WebhookSecrets {
  const out: WebhookSecrets = {};
  const read = (key: string): string => {
    const raw = data?.[key];
    return raw === undefined ? '' : Buffer.from(raw, 'base64').toString('utf8').trim();
  };
  for (const [provider, keys] of Object.entries(SECRET_KEYS) as Array<[Provider, string[]]>) {
    const values = keys.map(read);
    // Azure DevOps: user name and password, compared with basic auth's `user:password`.
    if (values.some(Boolean)) out[provider] = values.join(':');
  }
  return out;
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
    try {
      const s = await this.client.request<{ data?: Record<string, string> }>(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets/${ARGOCD_SECRET}`,
      );
      return secretsFromData(s.data);
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  }
}
