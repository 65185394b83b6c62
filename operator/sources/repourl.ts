/**
 * Which repository URLs an Application may name as `spec.source.repoURL`. capstan keeps one clone cache
 * per URL for all apps, so a local repository (`file:///var/cache/capstan/...`, `/abs/path`, `./rel`,
 * `C:\repo`) would let an app author read any repository on the operator's disk, including the cached
 * clones of other apps and their credentials-bearing remotes. Local repositories are therefore refused
 * unless the platform admin turns on `--allow-local-repos` (useful for demos and tests only) AND the app's
 * AppProject lists the local repository explicitly in `sourceRepos` (an entry that is itself a
 * `file://` URL or a path, see {@link isLocalRepoPattern}; `*` does not count). Argo CD's projects have
 * no field for local repositories, so capstan asks for both the operator flag and the project entry.
 *
 * Accepted remote forms are git's network transports: `https://`, `http://`, `ssh://`, `git://`
 * (also `git+ssh://` and `ssh+git://`) and the scp-like `user@host:path` / `host:path`. Any other scheme
 * (`ext::`, `fd::`, `ftp://`, ...) is refused always: git's `ext::` transport runs a command.
 */

/** A repository URL an Application may not use; the message names the field and the way out. */
export class RepoURLError extends Error {
  override name = 'RepoURLError';
}

/** Network transports of git an app may use. */
const REMOTE_SCHEMES = ['https', 'http', 'ssh', 'git', 'git+ssh', 'ssh+git'];

/** How a repository URL reaches its repository. */
export type RepoURLKind = 'remote' | 'local' | 'unsupported';

/** `scheme://` (RFC 3986 scheme) and git's `transport::address` remote-helper form. */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
const HELPER = /^([a-zA-Z][a-zA-Z0-9+.-]*)::/;
/** scp-like `[user@]host:path`: a colon before any slash, a host of more than one character. */
const SCP_LIKE = /^(?:[^@/\s]+@)?([^@/:\s]{2,}):(?!\/\/)/;

/**
 * Classifies a repository URL as git would read it.
 * @param url - `spec.source.repoURL` as written (surrounding blanks ignored).
 * @returns `remote` for a network transport, `local` for `file://` and file-system paths (absolute,
 *   relative, `~`, Windows drives and UNC paths), `unsupported` for any other scheme or helper.
 */
export function repoURLKind(url: string): RepoURLKind {
  const u = url.trim();
  const scheme = SCHEME.exec(u)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'file') return 'local';
    return REMOTE_SCHEMES.includes(scheme) ? 'remote' : 'unsupported';
  }
  if (HELPER.test(u)) return 'unsupported';
  // A one-letter "host" is a Windows drive (`C:\repo`, `C:/repo`), which git reads as a local path.
  if (SCP_LIKE.test(u)) return 'remote';
  return 'local';
}

/**
 * True when a `sourceRepos` entry names local repositories explicitly: a `file://` URL or a path
 * (absolute, `./`, `../`, `~`, a Windows drive), globs allowed after that start. `*`, `**` and remote
 * globs are not explicit, and a `!` entry never allows.
 * @param pattern - one entry of an AppProject's `spec.sourceRepos`.
 */
export function isLocalRepoPattern(pattern: string): boolean {
  const p = pattern.trim();
  return /^file:\/\//i.test(p) || /^(\/|\.\.?\/|~)/.test(p) || /^[a-zA-Z]:[\\/]/.test(p);
}

/** The app's project as far as local repositories are concerned. */
export interface LocalRepoScope {
  /** The project's name, for the message. */
  project: string;
  /** True when the project lists this local URL explicitly (see {@link isLocalRepoPattern}). */
  permits: (url: string) => boolean;
}

/**
 * Why an app may not use this repository URL, or undefined when it may.
 * @param url - the repository URL.
 * @param field - where it is written, for the message: `spec.source.repoURL`, `spec.sources[1].repoURL`.
 * @param opts - `allowLocalRepos`: the `--allow-local-repos` flag; `scope`: the app's project, which
 *   must also list a local repository explicitly (callers always pass it; without it the flag alone
 *   decides, for callers that have no project).
 * @returns a sentence naming the field, or undefined.
 */
export function repoURLProblem(
  url: string,
  field: string,
  opts: { allowLocalRepos: boolean; scope?: LocalRepoScope },
): string | undefined {
  if (url.includes('\0')) return `${field} contains a NUL byte`;
  const kind = repoURLKind(url);
  if (kind === 'remote') return undefined;
  if (kind === 'local') {
    if (opts.allowLocalRepos && (!opts.scope || opts.scope.permits(url))) return undefined;
    if (opts.allowLocalRepos && opts.scope) {
      return (
        `${field} "${url}" is a local repository and project '${opts.scope.project}' does not list it in ` +
        "sourceRepos; a local repository needs an entry that is its file:// URL or path ('*' does not allow it)"
      );
    }
    return (
      `${field} "${url}" is a local repository (a file:// URL or a path on the operator's disk); ` +
      'capstan only clones remote repositories (https, http, ssh, git) unless it runs with --allow-local-repos'
    );
  }
  return `${field} "${url}" uses an unsupported transport; use https://, http://, ssh://, git:// or user@host:path`;
}

/**
 * Throws when an app may not use this repository URL (see {@link repoURLProblem}).
 * @throws RepoURLError naming the field.
 */
export function assertRepoURLAllowed(url: string, field: string, opts: { allowLocalRepos: boolean }): void {
  const problem = repoURLProblem(url, field, opts);
  if (problem) throw new RepoURLError(problem);
}
