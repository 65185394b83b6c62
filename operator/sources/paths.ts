/**
 * Repository path containment: every path that comes from a user's Application (the source `path`, Helm
 * value files, file parameters, local chart dependencies) and every symlink in a checkout must stay inside
 * the repository. A repository that can name `../../etc/passwd` as a value file, or commit a symlink to
 * `/var/run/secrets/...`, would otherwise read the operator's own files and render them into the cluster:
 * CVE-2022-24348 (value files) and CVE-2022-24730/24731 (symlinks) in Argo CD are exactly this.
 *
 * The checks compare real paths (symlinks resolved with `fs.realpathSync`), never only strings, so a path
 * that is lexically inside the repository but walks out through a symlink is refused too.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Thrown when a repository-relative path or a symlink resolves outside the repository. Terminal: retrying
 * the same commit gives the same answer, so callers report it as a condition and do not retry. */
export class PathEscapeError extends Error {
  override name = 'PathEscapeError';

  /**
   * @param message - a sentence naming what escaped, for example
   *   `value file "../../etc/passwd" resolves outside the repository`.
   * @param relPath - the path as the user wrote it (or, for a symlink, its repository-relative location).
   */
  constructor(
    message: string,
    readonly relPath: string,
  ) {
    super(message);
  }
}

/**
 * Resolves a path written in an Application against the repository and proves that it stays inside.
 *
 * Semantics (as Argo CD's `ResolveValueFilePathOrUrl` / `resolveFileOrDirectory`):
 * - a relative path is resolved from `from` (default: the repository root); value files and file
 *   parameters pass the chart directory here, because Argo CD resolves them relative to the chart;
 * - an absolute path is taken as relative to the repository root (`/envs/prod.yaml` is
 *   `<repo>/envs/prod.yaml`), never as a path on the operator's filesystem;
 * - `..` segments are allowed while the result stays inside the repository (`../shared/values.yaml`);
 * - symlinks on the way are resolved: the longest existing prefix is passed through `fs.realpathSync` and
 *   must lie inside the real repository root. A path that does not exist yet is accepted if its existing
 *   prefix is inside (callers decide whether a missing file is an error).
 *
 * @param root - the repository checkout (absolute or relative to the process cwd); must exist.
 * @param rel - the path as the user wrote it.
 * @param what - what the path is, for the error message: `app path`, `value file`, `file parameter`.
 * @param from - directory that relative paths start from (must be inside `root`); default `root`.
 * @returns the absolute, symlink-resolved path inside the real repository root.
 * @throws PathEscapeError when the path resolves outside the repository or contains a NUL byte.
 */
export function resolveInside(root: string, rel: string, what: string, from?: string): string {
  if (rel.includes('\0')) throw new PathEscapeError(`${what} "${rel}" contains a NUL byte`, rel);
  const realRoot = fs.realpathSync(root);
  const base = from === undefined ? realRoot : realPathOf(path.resolve(from));
  const candidate = path.isAbsolute(rel) ? path.join(realRoot, rel) : path.resolve(base, rel);
  const escape = new PathEscapeError(`${what} "${rel}" resolves outside the repository`, rel);
  // Lexical check first: `a/../../x` is refused even where the OS would resolve it differently.
  if (!isInside(realRoot, candidate)) throw escape;
  const real = realPathOf(candidate);
  if (!isInside(realRoot, real)) throw escape;
  return real;
}

/**
 * Walks `dir` (without following symlinked directories) and throws if any symlink points outside `root`.
 *
 * Each link's target is resolved physically (through further links, and as far as it exists for a
 * dangling link) and must land inside the real repository root, as Argo CD's `CheckOutOfBoundsSymlinks`
 * refuses a checkout with any out-of-bounds link (CVE-2022-24730). A link to another place inside the
 * repository is fine.
 *
 * @param root - the repository checkout.
 * @param dir - the directory to walk, inside `root` (the app path, or the repository root itself).
 * @throws PathEscapeError naming the first offending link (repository-relative, in walk order), or when
 *   `dir` itself is outside `root`.
 */
export function assertNoEscapingSymlinks(root: string, dir: string): void {
  const realRoot = fs.realpathSync(root);
  const start = realPathOf(path.resolve(dir));
  if (!isInside(realRoot, start)) {
    throw new PathEscapeError(`directory "${dir}" resolves outside the repository`, dir);
  }
  const pending = [start];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isSymbolicLink()) assertLinkInside(realRoot, full);
      else if (entry.isDirectory()) pending.push(full);
    }
  }
}

/** Throws when the symlink at `link` resolves to a place outside `realRoot`. */
function assertLinkInside(realRoot: string, link: string): void {
  const target = realPathOf(path.resolve(path.dirname(link), fs.readlinkSync(link)));
  if (isInside(realRoot, target)) return;
  const rel = path.relative(realRoot, link);
  throw new PathEscapeError(`symlink "${rel}" points outside the repository`, rel);
}

/** Bound on links followed while resolving one path, as the kernel's ELOOP limit (40). */
const MAX_LINK_HOPS = 40;

/**
 * The physical path of absolute, normalised `p`: `fs.realpathSync` where it exists; where it does not, the
 * real path of its parent plus the name, following a dangling symlink's target as far as that exists. So a
 * missing file is judged by the directory it would be created in, and a dangling link by where it points.
 */
function realPathOf(p: string, hops = 0): string {
  try {
    return fs.realpathSync(p);
  } catch {
    // Missing, or a dangling link somewhere on the way: resolve piece by piece below.
  }
  const parent = path.dirname(p);
  if (parent === p) return p;
  const here = path.join(realPathOf(parent, hops), path.basename(p));
  const link = readLinkOrUndefined(here);
  if (link === undefined || hops >= MAX_LINK_HOPS) return here;
  return realPathOf(path.resolve(path.dirname(here), link), hops + 1);
}

/** The target of the symlink at `p`, or undefined when `p` is missing or not a symlink. */
function readLinkOrUndefined(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** True when `p` is `root` or below it (both absolute and normalised). */
function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}
