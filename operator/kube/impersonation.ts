/**
 * Kubernetes user impersonation for syncs ("sync with impersonation", Argo CD 2.13+): with
 * `--impersonation`, every write of an app's sync (apply, prune, hooks) is sent with the header
 * `Impersonate-User: system:serviceaccount:<ns>:<name>`, so the API server authorizes it as that
 * service account, not as capstan. capstan's own identity then needs only the `impersonate` verb on
 * `serviceaccounts` for the writes; a project can be least-privilege at the API server itself.
 *
 * The API server adds a service account's groups (`system:serviceaccounts`,
 * `system:serviceaccounts:<ns>`, `system:authenticated`) when it impersonates a service account user
 * name without explicit groups, so capstan sends the user name only.
 */
import { KubeClient } from './client';

/** Prefix of every service account's user name (Kubernetes' `serviceaccount.MakeUsername`). */
export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';

/** A namespace or service account name: a DNS-1123 subdomain (at most 253 characters). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The user name of a service account, as the API server spells it.
 * @param namespace - the service account's namespace.
 * @param name - its name.
 * @returns `system:serviceaccount:<namespace>:<name>`.
 * @throws Error naming the part that is not a valid Kubernetes name (so a header never carries junk).
 */
export function serviceAccountUser(namespace: string, name: string): string {
  for (const [what, v] of [
    ['namespace', namespace],
    ['name', name],
  ] as const) {
    if (v.length > 253 || !DNS1123_SUBDOMAIN.test(v))
      throw new Error(`service account ${what} "${v}" is not a valid Kubernetes name`);
  }
  return `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${name}`;
}

/**
 * The client a sync writes with: `client` itself, or one that impersonates `user`.
 * @param client - capstan's client (its write fence is kept).
 * @param user - the user to act as (`system:serviceaccount:<ns>:<name>`), or undefined for none.
 */
export function clientActingAs(client: KubeClient, user: string | undefined): KubeClient {
  return user === undefined ? client : client.impersonating(user);
}
