/**
 * AppProject permission checks, pure, as Argo CD's `AppProject.IsSourcePermitted` and
 * `IsDestinationPermitted`: `sourceRepos` and `destinations` entries are globs (`*` matches all; a
 * leading `!` denies), and an app outside the controller's namespace must be allowed by
 * `sourceNamespaces`.
 */
import picomatch from 'picomatch';
import { redactURL } from '../sources/credentials';

/** The AppProject fields the checks read. */
export interface ProjectSpec {
  sourceRepos?: string[];
  sourceNamespaces?: string[];
  destinations?: Array<{ server?: string; name?: string; namespace?: string }>;
}

const matches = (pattern: string, value: string): boolean =>
  pattern === '*' || picomatch.isMatch(value, pattern, { dot: true, nocase: false });

/** True when `value` is allowed by the glob list: some plain pattern matches and no `!` pattern does. */
export function globListPermits(patterns: string[] | undefined, value: string): boolean {
  const list = patterns ?? [];
  const deny = list.filter((p) => p.startsWith('!')).some((p) => matches(p.slice(1), value));
  return !deny && list.filter((p) => !p.startsWith('!')).some((p) => matches(p, value));
}

/** Normalises a repository URL for comparison (Argo CD ignores a trailing `.git` and `/`). */
export function normalizeRepoURL(url: string): string {
  return url
    .trim()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/**
 * True when the project's `sourceRepos` permit a repository URL (Argo CD's `IsSourcePermitted`): used for
 * `spec.source.repoURL` and for the remote bases a kustomization fetches.
 * @param sourceRepos - the project's globs; `*` permits every repository.
 * @param url - the repository URL; a trailing `.git` or `/` is ignored on both sides.
 */
export function sourceRepoPermitted(sourceRepos: string[] | undefined, url: string): boolean {
  return (sourceRepos ?? []).some((p) => p === '*' || matches(normalizeRepoURL(p), normalizeRepoURL(url)));
}

/**
 * Why the project does not permit the app; empty when it does.
 * @param app - the repo URLs of its sources, its destination, and its namespace.
 */
export function projectViolations(
  projectName: string,
  project: ProjectSpec,
  app: {
    repoURLs: string[];
    destination: { server?: string; name?: string; namespace?: string };
    namespace: string;
  },
  controllerNamespace: string,
): string[] {
  const out: string[] = [];
  for (const url of app.repoURLs) {
    if (!sourceRepoPermitted(project.sourceRepos, url))
      // The URL may embed credentials: the message goes to a condition, so they are redacted.
      out.push(`application repo ${redactURL(url)} is not permitted in project '${projectName}'`);
  }
  const d = app.destination;
  const destOk = (project.destinations ?? []).some(
    (p) =>
      (!d.server || !p.server || matches(p.server, d.server)) &&
      (!d.name || !p.name || matches(p.name, d.name)) &&
      (p.server !== undefined || p.name !== undefined) &&
      matches(p.namespace ?? '*', d.namespace ?? ''),
  );
  if (!destOk) {
    out.push(
      `application destination server '${d.server ?? d.name ?? ''}' and namespace '${d.namespace ?? ''}' do not match any of the allowed destinations in project '${projectName}'`,
    );
  }
  if (app.namespace !== controllerNamespace && !globListPermits(project.sourceNamespaces, app.namespace)) {
    out.push(
      `application in namespace '${app.namespace}' is not permitted by project '${projectName}' (sourceNamespaces)`,
    );
  }
  return out;
}
