/**
 * The namespaces capstan watches (`--watch-namespaces`), for a tenant install whose RBAC is Roles in a
 * few namespaces instead of ClusterRoles: Argo CD's namespaced install (`application.namespaces`, no
 * ClusterRole) and ESO's `scopedNamespace`. An empty list is the cluster-wide default: every watch and
 * list spans all namespaces. A non-empty list makes every watch and list capstan makes namespaced:
 * - Applications (and the AppProject operator's index of them) in the controller namespace and the
 *   listed ones; AppProjects and repository Secrets in the controller namespace (as always);
 * - ExternalSecrets, SecretStores and the Secrets they write in the listed namespaces only;
 *   ClusterSecretStores are not watched;
 * - the live cache of managed objects: one informer per namespaced resource type and listed
 *   namespace; cluster-scoped managed objects are not watched (an Application may not render them).
 * Discovery (`/api`, `/apis`) is not namespaced and needs no grant (system:discovery).
 */

/** The flag's name, quoted in every condition and error a scoped install gives. */
export const WATCH_NAMESPACES_FLAG = '--watch-namespaces';

/**
 * Parses the flag's value: a comma-separated list of namespace names, trimmed, duplicates dropped;
 * `''` is the cluster-wide default (`[]`).
 * @throws Error naming the flag when an entry is not a DNS-1123 label (a namespace name).
 */
export function parseWatchNamespaces(value: string | undefined): string[] {
  const names = [
    ...new Set(
      (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const bad = names.filter((n) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) || n.length > 63);
  if (bad.length)
    throw new Error(`${WATCH_NAMESPACES_FLAG}: not a namespace name: ${bad.map((b) => `"${b}"`).join(', ')}`);
  return names;
}

/** True when `--watch-namespaces` restricts capstan to some namespaces (a tenant install). */
export function isScoped(
  watchNamespaces: readonly string[] | undefined,
): watchNamespaces is readonly string[] {
  return !!watchNamespaces && watchNamespaces.length > 0;
}

/**
 * The namespaces one watch of a namespaced resource type runs in: `[undefined]` (one watch over all
 * namespaces) when cluster-wide, else `extra` (e.g. the controller namespace) and the listed ones,
 * each once.
 */
export function watchTargets(
  watchNamespaces: readonly string[] | undefined,
  extra: readonly string[] = [],
): Array<string | undefined> {
  return isScoped(watchNamespaces) ? [...new Set([...extra, ...watchNamespaces])] : [undefined];
}

/** True when objects of `namespace` are in scope (always when cluster-wide). */
export function inScope(
  watchNamespaces: readonly string[] | undefined,
  namespace: string | undefined,
): boolean {
  return !isScoped(watchNamespaces) || (!!namespace && watchNamespaces.includes(namespace));
}

/**
 * The namespaces Applications are watched in: all (undefined) by default; with `--watch-namespaces`
 * the controller namespace and the listed ones (Argo CD's namespaced install watches its own
 * namespace, plus `application.namespaces` for apps in any namespace).
 */
export function appNamespaces(
  controllerNamespace: string,
  watchNamespaces: readonly string[] | undefined,
): string[] | undefined {
  return isScoped(watchNamespaces)
    ? (watchTargets(watchNamespaces, [controllerNamespace]) as string[])
    : undefined;
}
