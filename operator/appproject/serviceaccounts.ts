/**
 * Which service account an app's sync runs as under `--impersonation`: the project's
 * `destinationServiceAccounts`, with Argo CD's rules (`DeriveServiceAccountToImpersonate`, 2.13+):
 *
 * - entries are tried in order and the FIRST whose `server` glob matches the destination cluster's
 *   server URL and whose `namespace` glob matches the app's `spec.destination.namespace` wins (an
 *   empty pattern matches only the empty string; put a catch-all `namespace: '*'` last);
 * - `defaultServiceAccount` is `name` (in the app's destination namespace, or the Application's own
 *   namespace when the destination has none) or `namespace:name`;
 * - a blank name or one holding any of `! * [ ] { } \ /` is an error, as is a malformed glob;
 * - no matching entry is an error: the sync fails, it never falls back to capstan's own identity.
 *
 * Globs are gobwas globs without separators, as Argo CD's `glob.Match` (`*` also matches `/` and `.`).
 */
import { globMatch } from '../render/glob';
import { serviceAccountUser } from '../kube/impersonation';

/** One `spec.destinationServiceAccounts[]` entry of an AppProject (Argo CD's field names). */
export interface DestinationServiceAccount {
  /** Glob of the destination cluster's API server URL. */
  server?: string;
  /** Glob of the app's destination namespace. */
  namespace?: string;
  /** `name` or `namespace:name` of the service account to act as. */
  defaultServiceAccount?: string;
}

/** Characters Argo CD refuses in `defaultServiceAccount` (globs and path separators). */
const DISALLOWED = /[!*[\]{}\\/]/;

/** Why no service account could be chosen; the message is Argo CD's. */
export class ServiceAccountError extends Error {
  override name = 'ServiceAccountError';
}

/** gobwas glob match; a malformed pattern is an error naming the field, as Argo CD's `MatchWithError`. */
function matchField(pattern: string, value: string, field: 'server' | 'namespace'): boolean {
  try {
    return globMatch(pattern, value);
  } catch (err) {
    throw new ServiceAccountError(`invalid glob pattern for destination ${field}: ${(err as Error).message}`);
  }
}

/**
 * The user an app's sync impersonates.
 * @param entries - the project's `spec.destinationServiceAccounts` (undefined: none).
 * @param app - the Application's namespace and `spec.destination.namespace`.
 * @param destServer - the API server URL of the app's destination cluster (resolved from a name).
 * @returns `system:serviceaccount:<ns>:<name>`.
 * @throws ServiceAccountError when no entry matches ("no matching service account found for
 *   destination server S and namespace N"), when the matching entry's service account is blank or
 *   holds a forbidden character, or when a glob is malformed.
 */
export function serviceAccountToImpersonate(
  entries: readonly DestinationServiceAccount[] | undefined,
  app: { namespace: string; destinationNamespace?: string },
  destServer: string,
): string {
  const destNamespace = app.destinationNamespace ?? '';
  // Argo CD: the destination namespace, else the Application's own namespace.
  const saNamespace = destNamespace || app.namespace;
  for (const item of entries ?? []) {
    const serverOk = matchField(item.server ?? '', destServer, 'server');
    const namespaceOk = matchField(item.namespace ?? '', destNamespace, 'namespace');
    if (!serverOk || !namespaceOk) continue;
    const sa = item.defaultServiceAccount ?? '';
    if (sa.trim() === '' || DISALLOWED.test(sa))
      throw new ServiceAccountError(`default service account contains invalid chars '${sa}'`);
    const colon = sa.indexOf(':');
    try {
      return colon >= 0
        ? serviceAccountUser(sa.slice(0, colon), sa.slice(colon + 1))
        : serviceAccountUser(saNamespace, sa);
    } catch (err) {
      throw new ServiceAccountError(`default service account '${sa}': ${(err as Error).message}`);
    }
  }
  throw new ServiceAccountError(
    `no matching service account found for destination server ${destServer} and namespace ${saNamespace}`,
  );
}

/** Argo CD's prefix of the operation message when no service account can be chosen. */
export const NO_SERVICE_ACCOUNT_PREFIX = 'failed to find a matching service account to impersonate';
