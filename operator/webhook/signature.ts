/**
 * Who sent a webhook request, and whether it carries the shared secret configured for that provider in
 * `argocd-secret`, as Argo CD's webhook handler (go-playground/webhooks):
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` with `webhook.github.secret`;
 * - GitLab: `X-Gitlab-Token` equal to `webhook.gitlab.secret`;
 * - Bitbucket Cloud: `X-Hook-UUID` equal to `webhook.bitbucket.uuid`;
 * - Bitbucket Server: `X-Hub-Signature: sha256=<hex HMAC-SHA256>` with `webhook.bitbucketserver.secret`;
 * - Gogs and Gitea: `X-Gogs-Signature` (Gitea also `X-Gitea-Signature`): hex HMAC-SHA256 with
 *   `webhook.gogs.secret`;
 * - Azure DevOps (`X-Vss-ActivityId`): HTTP basic auth with `webhook.azuredevops.username` and
 *   `webhook.azuredevops.password`.
 * A provider whose key is absent or empty is not verified (Argo CD: the secret is optional). Every
 * comparison is constant-time; nothing here logs, and no message names a secret or a signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Provider } from './payload';

/** Request headers, lower-case names (node's `IncomingMessage.headers`). */
export type Headers = Record<string, string | string[] | undefined>;

/**
 * The `argocd-secret` keys that hold each provider's shared secret (Argo CD's names); Azure DevOps has
 * two, a user name and a password, held as `username:password`.
 */
export const SECRET_KEYS: Record<Provider, string[]> = {
  github: ['webhook.github.secret'],
  gitlab: ['webhook.gitlab.secret'],
  bitbucket: ['webhook.bitbucket.uuid'],
  bitbucketserver: ['webhook.bitbucketserver.secret'],
  gogs: ['webhook.gogs.secret'],
  azuredevops: ['webhook.azuredevops.username', 'webhook.azuredevops.password'],
};

/** The shared secret of each provider; a missing or empty one means "not verified". */
export type WebhookSecrets = Partial<Record<Provider, string>>;

const header = (h: Headers, name: string): string => {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

/** A recognised request: the provider and its event name. */
export interface Detected {
  provider: Provider;
  /** The provider's event header: `push`, `Push Hook`, `repo:push`, `repo:refs_changed` ... */
  event: string;
}

/**
 * The provider of a request from its headers, in Argo CD's order: Azure DevOps first, Gogs (and Gitea) before GitHub, since
 * they also send GitHub's headers; Bitbucket Cloud (`X-Hook-UUID`) before Bitbucket Server (both send
 * `X-Event-Key`).
 * @returns undefined for a request of no known provider.
 */
export function detectProvider(h: Headers): Detected | undefined {
  // Azure DevOps names no event in its headers: the payload's eventType does (payload.ts).
  if (header(h, 'x-vss-activityid')) return { provider: 'azuredevops', event: '' };
  const gogs = header(h, 'x-gogs-event') || header(h, 'x-gitea-event');
  if (gogs) return { provider: 'gogs', event: gogs };
  if (header(h, 'x-github-event')) return { provider: 'github', event: header(h, 'x-github-event') };
  if (header(h, 'x-gitlab-event')) return { provider: 'gitlab', event: header(h, 'x-gitlab-event') };
  if (header(h, 'x-hook-uuid')) return { provider: 'bitbucket', event: header(h, 'x-event-key') };
  if (header(h, 'x-event-key')) return { provider: 'bitbucketserver', event: header(h, 'x-event-key') };
  return undefined;
}

/** Constant-time equality of two strings (false when the lengths differ). */
function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const hmacHex = (secret: string, body: Buffer): string =>
  createHmac('sha256', secret).update(body).digest('hex');

/** `sha256=<hex>` as GitHub and Bitbucket Server send it (the hex compared case-insensitively). */
function sha256Header(value: string, secret: string, body: Buffer): boolean {
  const m = /^sha256=([0-9a-fA-F]+)$/.exec(value.trim());
  return !!m && same(m[1].toLowerCase(), hmacHex(secret, body));
}

/**
 * Whether the request carries the provider's shared secret.
 * @param secrets - the providers' secrets from `argocd-secret`.
 * @param body - the raw request body, exactly as received (the HMAC is over these bytes).
 * @returns `unverified` when no secret is configured for the provider (accepted, as Argo CD), `ok` when
 *   it matches, `failed` when it is missing or wrong.
 */
export function verify(
  provider: Provider,
  h: Headers,
  body: Buffer,
  secrets: WebhookSecrets,
): 'ok' | 'failed' | 'unverified' {
  const secret = secrets[provider];
  if (!secret) return 'unverified';
  return CHECKS[provider](h, secret, body) ? 'ok' : 'failed';
}

/** Each provider's check of a request against its configured secret. */
const CHECKS: Record<Provider, (h: Headers, secret: string, body: Buffer) => boolean> = {
  github: (h, secret, body) => sha256Header(header(h, 'x-hub-signature-256'), secret, body),
  bitbucketserver: (h, secret, body) => sha256Header(header(h, 'x-hub-signature'), secret, body),
  gitlab: (h, secret) => same(header(h, 'x-gitlab-token'), secret),
  bitbucket: (h, secret) => same(header(h, 'x-hook-uuid'), secret),
  gogs: (h, secret, body) =>
    same(
      (header(h, 'x-gogs-signature') || header(h, 'x-gitea-signature')).trim().toLowerCase(),
      hmacHex(secret, body),
    ),
  azuredevops: (h, secret) => {
    const m = /^Basic\s+(\S+)$/i.exec(header(h, 'authorization').trim());
    return !!m && same(Buffer.from(m[1], 'base64').toString('utf8'), secret);
  },
};
