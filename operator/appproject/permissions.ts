/**
 * AppProject permission checks of an Application as a whole, pure, with Argo CD's semantics
 * (`AppProject.IsSourcePermitted`, `IsDestinationPermitted`, `IsAppNamespacePermitted` in
 * `pkg/apis/application/v1alpha1/app_project_types.go`, and `util/glob`):
 *
 * - every entry is a gobwas glob (`*`, `?`, `[a-z]`, `[!a-z]`, `{a,b}`, `\x`); `*` alone matches anything;
 *   `sourceRepos` globs use `/` as separator (`*` stays inside one path segment, `**` crosses them), the
 *   others have no separator. A malformed glob matches nothing (Argo CD logs it and moves on).
 * - an entry starting with `!` denies. Deny wins: an app is permitted only when some entry allows it and no
 *   deny entry matches it.
 *
 * Per-object checks (resource white/blacklists, an object's own namespace) are in ./resources.ts.
 */
import { RE2JS } from 're2js';
import { gobwasMatch } from '../common/gobwas';
import { normalizeRepoURL, redactURL } from '../sources/credentials';

/** One `destinations[]` entry of a project, or the destination of an app or object. */
export interface Destination {
  server?: string;
  name?: string;
  namespace?: string;
}

/** One entry of `clusterResourceWhitelist` / `clusterResourceBlacklist` (`name` is optional). */
export interface ClusterResourceItem {
  group?: string;
  kind?: string;
  name?: string;
}

/** One entry of `namespaceResourceWhitelist` / `namespaceResourceBlacklist`. */
export interface GroupKindItem {
  group?: string;
  kind?: string;
}

/** The AppProject fields the checks read (a subset of the generated `AppProjectSpec`). */
export interface ProjectSpec {
  sourceRepos?: string[];
  sourceNamespaces?: string[];
  destinations?: Destination[];
  clusterResourceWhitelist?: ClusterResourceItem[];
  clusterResourceBlacklist?: ClusterResourceItem[];
  namespaceResourceWhitelist?: GroupKindItem[];
  namespaceResourceBlacklist?: GroupKindItem[];
}

/** Argo CD's in-cluster destination: the server URL and the name both stand for it. */
const IN_CLUSTER = { server: 'https://kubernetes.default.svc', name: 'in-cluster' };

/** Argo CD's `glob.Match`: see {@link gobwasMatch}. */
export const globMatch = gobwasMatch;

const isDeny = (pattern: string | undefined): boolean => !!pattern && pattern.startsWith('!');

/**
 * True when a list of single-value globs permits `value`: some plain entry matches and no `!` entry does.
 * A list of only `!` entries permits nothing (it has no allow). Used for `sourceRepos` and
 * `sourceNamespaces`.
 * @param patterns - the entries, `!` prefixed ones deny.
 * @param match - how one (plain) pattern matches the value.
 */
export function allowedUnlessDenied(
  patterns: readonly string[] | undefined,
  match: (pattern: string) => boolean,
): boolean {
  let allowed = false;
  for (const p of patterns ?? []) {
    if (isDeny(p)) {
      if (match(p.slice(1))) return false;
    } else if (!allowed && match(p)) allowed = true;
  }
  return allowed;
}

/** Compatibility name of {@link allowedUnlessDenied} with plain glob matching (no separator). */
export function globListPermits(patterns: string[] | undefined, value: string): boolean {
  return allowedUnlessDenied(patterns, (p) => globMatch(p, value));
}

/**
 * True when the project's `sourceRepos` permit a repository URL (Argo CD's `IsSourcePermitted`): used for
 * `spec.source(s).repoURL`, an operation's or rollback's source, and the remote bases a kustomization
 * fetches. Both sides are normalised as Argo CD's `NormalizeGitURL` (case, a trailing `.git` or `/`, the
 * scp-like SSH form); globs use `/` as separator, so `https://host/org/*` does not reach
 * `https://host/org/group/repo` (`**` does).
 *
 * Deny entries (`!https://host/org/secret`) refuse what they match, whatever else allows it. One point
 * differs from Argo CD's code and follows its documentation instead: a `!` entry never allows by itself,
 * so `['https://host/org/*', '!https://host/org/secret']` permits only the first glob minus the secret
 * repository (Argo CD's code also lets every other host through, because a non-matching deny counts as
 * a match there).
 * @param sourceRepos - the project's entries; `*` permits every repository.
 * @param url - the repository URL.
 */
export function sourceRepoPermitted(sourceRepos: string[] | undefined, url: string): boolean {
  const value = normalizeRepoURL(url);
  return allowedUnlessDenied(sourceRepos, (p) => p === '*' || globMatch(normalizeRepoURL(p), value, '/'));
}

/** A glob of a destination field; `!` means "anything but", as Argo CD's `globMatch(..., allowNegation)`. */
function fieldMatches(pattern: string | undefined, value: string): boolean {
  const p = pattern ?? '';
  return isDeny(p) ? !globMatch(p.slice(1), value) : globMatch(p, value);
}

/**
 * True when the project's `destinations` permit a destination (server or name, and namespace), exactly as
 * Argo CD's `isDestinationMatched`: an entry allows when its server or its name matches and its namespace
 * matches (a `!x` field matches everything but `x`), and any entry whose `!` field matches the
 * destination (the field's own glob, without `!`) refuses it whatever the other entries allow.
 *
 * The in-cluster destination is known by both its server URL and its name (`in-cluster`), as Argo CD
 * fills in the server of a named destination before checking.
 * @param destinations - the project's entries.
 * @param dst - the app's destination, or an object's (the app's server/name with the object's namespace).
 */
export function destinationPermitted(destinations: Destination[] | undefined, dst: Destination): boolean {
  const d = withInCluster(dst);
  let anyMatched = false;
  for (const item of destinations ?? []) {
    const nameMatched = !!d.name && fieldMatches(item.name, d.name);
    const serverMatched = !!d.server && fieldMatches(item.server, d.server);
    const namespaceMatched = fieldMatches(item.namespace, d.namespace ?? '');
    if ((serverMatched || nameMatched) && namespaceMatched) anyMatched = true;
    else if (
      (!nameMatched && isDeny(item.name)) ||
      (!serverMatched && isDeny(item.server)) ||
      (!namespaceMatched && isDeny(item.namespace))
    ) {
      return false;
    }
  }
  return anyMatched;
}

/** The destination with both the in-cluster server and name when it names the in-cluster one. */
function withInCluster(d: Destination): Destination {
  const server = d.server?.replace(/\/+$/, '');
  if (server === IN_CLUSTER.server || (!server && d.name === IN_CLUSTER.name)) {
    return { ...IN_CLUSTER, namespace: d.namespace };
  }
  return d;
}

/**
 * True when an app in `namespace` may use the project (Argo CD's `IsAppNamespacePermitted`): apps in the
 * controller's namespace always may; others only when `sourceNamespaces` permits their namespace. An
 * entry is a gobwas glob, or a regular expression between slashes (`/^team-[a-z]+$/`, RE2 syntax,
 * unanchored as Go's `MatchString`); capstan adds `!` deny entries, which Argo CD does not have (there a
 * leading `!` is a literal that no namespace name can contain, so no Argo CD project changes meaning).
 */
export function sourceNamespacePermitted(
  sourceNamespaces: string[] | undefined,
  namespace: string,
  controllerNamespace: string,
): boolean {
  if (!namespace || namespace === controllerNamespace) return true;
  return allowedUnlessDenied(sourceNamespaces, (p) => namespacePatternMatches(p, namespace));
}

function namespacePatternMatches(pattern: string, namespace: string): boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    try {
      return RE2JS.compile(pattern.slice(1, -1)).matcher(namespace).find();
    } catch {
      return false;
    }
  }
  return globMatch(pattern, namespace);
}

/**
 * Why the project does not permit the app; empty when it does. Messages are Argo CD's.
 * @param projectName - the project's name, for the messages.
 * @param project - its spec.
 * @param app.repoURLs - the repository URLs of its sources (an operation's source included).
 * @param app.destination - its destination.
 * @param app.namespace - the namespace the Application lives in.
 * @param controllerNamespace - capstan's namespace (apps there skip `sourceNamespaces`).
 */
export function projectViolations(
  projectName: string,
  project: ProjectSpec,
  app: { repoURLs: string[]; destination: Destination; namespace: string },
  controllerNamespace: string,
): string[] {
  const out: string[] = [];
  if (!sourceNamespacePermitted(project.sourceNamespaces, app.namespace, controllerNamespace)) {
    out.push(
      `application in namespace '${app.namespace}' is not permitted to use project '${projectName}' (sourceNamespaces)`,
    );
  }
  out.push(...sourceViolations(projectName, project, app.repoURLs));
  const d = app.destination;
  if (!destinationPermitted(project.destinations, d)) {
    out.push(
      `application destination server '${d.server ?? d.name ?? ''}' and namespace '${d.namespace ?? ''}' do not match any of the allowed destinations in project '${projectName}'`,
    );
  }
  return out;
}

/**
 * Why the project refuses some of these repository URLs (one message per URL); empty when all are
 * permitted. Also used for an operation's source and a rollback's.
 */
export function sourceViolations(projectName: string, project: ProjectSpec, repoURLs: string[]): string[] {
  // The URL may embed credentials: the message goes to a condition, so they are redacted.
  return repoURLs
    .filter((url) => !sourceRepoPermitted(project.sourceRepos, url))
    .map((url) => `application repo ${redactURL(url)} is not permitted in project '${projectName}'`);
}
