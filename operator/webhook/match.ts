/**
 * Which Applications a push refreshes, as Argo CD's webhook handler (`HandleEvent`): an app is refreshed
 * when one of its sources
 * 1. names the pushed repository: the same host and path, whatever the scheme, user, port or `.git`
 *    suffix, case-insensitively (Argo CD's `GetWebURLRegex`, which also lets an `ssh.` or `altssh.` host
 *    stand for the web host; capstan also accepts `git://`, which Argo CD's pattern does not);
 * 2. tracks the pushed revision (`sourceRevisionHasChanged`): `HEAD` or an empty targetRevision when the
 *    default branch moved, else the branch or tag name, with or without `refs/heads/` / `refs/tags/`
 *    (a branch and a tag of the same name are not told apart, as Argo CD);
 * and, when the app has the `argocd.argoproj.io/manifest-generate-paths` annotation and the payload lists
 * changed files, at least one changed file is under one of those paths (`AppFilesHaveChanged`).
 * Everything here is pure.
 */
import picomatch from 'picomatch';
import path from 'node:path';
import { refName, type PushEvent } from './payload';

/** Argo CD's annotation: `;`-separated paths (relative to each source's path, or `/`-absolute) that matter. */
export const MANIFEST_GENERATE_PATHS_ANNOTATION = 'argocd.argoproj.io/manifest-generate-paths';

/** The fields of an Application's source the match reads. */
export interface SourceRef {
  repoURL?: string;
  targetRevision?: string;
  path?: string;
}

/** The fields of an Application the match reads. */
export interface AppRef {
  metadata: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { source?: SourceRef; sources?: SourceRef[] };
}

/** A repository location: lower-case host and path, without scheme, user, port, slashes or `.git`. */
interface RepoLocation {
  host: string;
  path: string;
}

/** `[user@]host:path`, git's scp-like form. */
const SCP_LIKE = /^(?:[^@/\s]+@)?([^@/:\s]+):(?!\/\/)(.*)$/;

/**
 * The host and path of a repository URL (`https://`, `http://`, `ssh://`, `git://`, `git+ssh://`, or
 * scp-like `git@host:org/repo.git`); undefined for anything else (local paths, helm repositories are
 * compared as URLs too and simply never equal a git host's path).
 */
export function repoLocation(url: string): RepoLocation | undefined {
  const u = url.trim();
  let host: string;
  let p: string;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(u);
  if (scheme) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return undefined;
    }
    host = parsed.hostname;
    p = decodeURIComponent(parsed.pathname);
  } else {
    const m = SCP_LIKE.exec(u);
    if (!m) return undefined;
    [, host, p] = m;
  }
  p = p.replace(/^\/+|\/+$/g, '').replace(/\.git$/i, '');
  if (!host || !p) return undefined;
  return { host: host.toLowerCase(), path: p.toLowerCase() };
}

/**
 * True when the app's `repoURL` names the repository of the payload's `pushedURL` (see the module comment).
 */
export function sameRepository(pushedURL: string, repoURL: string): boolean {
  const pushed = repoLocation(pushedURL);
  const app = repoLocation(repoURL);
  if (!pushed || !app || pushed.path !== app.path) return false;
  return (
    app.host === pushed.host || app.host === `ssh.${pushed.host}` || app.host === `altssh.${pushed.host}`
  );
}

/**
 * True when a source tracking `targetRevision` moves with this push (Argo CD's `sourceRevisionHasChanged`).
 * A full commit SHA never does.
 */
export function revisionMatches(targetRevision: string | undefined, push: PushEvent): boolean {
  const target = refName((targetRevision ?? '').trim());
  if (target === '' || target === 'HEAD') return push.touchedHead;
  return target === push.revision;
}

/** The sources of an app: `spec.sources`, or `spec.source` (Argo CD's `GetSources`). */
export function appSourceRefs(app: AppRef): SourceRef[] {
  const s = app.spec ?? {};
  if (s.sources?.length) return s.sources;
  return s.source ? [s.source] : [];
}

/**
 * The repository paths a change must touch to refresh the app, from its manifest-generate-paths
 * annotation (Argo CD's `GetAppRefreshPaths`): `/x` is `x` from the repository root, anything else is
 * joined to every source's `path`; `.` means the source's path itself. Empty without the annotation.
 */
export function refreshPaths(app: AppRef): string[] {
  const value = app.metadata.annotations?.[MANIFEST_GENERATE_PATHS_ANNOTATION] ?? '';
  const out: string[] = [];
  for (const item of value.split(';').map((s) => s.trim())) {
    if (!item) continue;
    if (item.startsWith('/')) out.push(item.slice(1));
    else
      for (const s of appSourceRefs(app)) out.push(path.posix.normalize(path.posix.join(s.path ?? '', item)));
  }
  return out;
}

const abs = (p: string): string => (p.startsWith('/') ? p : `/${p}`);

/**
 * True when a refresh is due for these changed files (Argo CD's `AppFilesHaveChanged`): always when the
 * payload lists no files or the app names no paths; otherwise when a file is one of the paths, lies
 * under one, or matches one as a glob (`*` within a path segment).
 */
export function filesChanged(paths: string[], changedFiles: string[]): boolean {
  if (!changedFiles.length || !paths.length) return true;
  const roots = paths.map((p) => abs(path.posix.normalize(p)).replace(/\/+$/, '') || '/');
  const globs = roots.map((r) => picomatch(r, { dot: true }));
  return changedFiles.some((file) => {
    const f = abs(path.posix.normalize(file));
    return roots.some((r, i) => f === r || r === '/' || f.startsWith(`${r}/`) || globs[i](f));
  });
}

/**
 * True when this push refreshes the app (see the module comment); a source must match repository and
 * revision, then the changed files must touch the app's refresh paths.
 */
export function pushRefreshesApp(push: PushEvent, app: AppRef): boolean {
  const tracked = appSourceRefs(app).some(
    (s) =>
      !!s.repoURL &&
      revisionMatches(s.targetRevision, push) &&
      push.repoURLs.some((u) => sameRepository(u, s.repoURL!)),
  );
  return tracked && filesChanged(refreshPaths(app), push.changedFiles);
}

/**
 * The repoURLs, as the apps write them, of every source that names the pushed repository (whatever its
 * revision): their shared `ls-remote` answers are stale after the push.
 */
export function pushedRepoURLs(push: PushEvent, apps: AppRef[]): string[] {
  const urls = new Set<string>();
  for (const app of apps) {
    for (const s of appSourceRefs(app)) {
      if (s.repoURL && push.repoURLs.some((u) => sameRepository(u, s.repoURL!))) urls.add(s.repoURL);
    }
  }
  return [...urls];
}
