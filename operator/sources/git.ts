/**
 * Git access for capstan: one local cache per repository URL, shared by all Applications.
 *
 * - `targetRevision` is resolved with a remote listing (`git ls-remote`), which costs one round trip and
 *   no object transfer; objects are fetched only when the resolved commit is not already in the local
 *   bare clone.
 * - Each commit is written out once as a read-only snapshot directory that every Application at that
 *   commit reads; the least recently used snapshots are evicted.
 * - A snapshot has ceilings (`--max-repo-files`, `--max-repo-bytes`): a commit beyond one is refused with a
 *   GitError naming the ceiling before anything renders it, and the refusal is remembered.
 * - A repository no caller used for `idleRepoMs` (`--repo-cache-idle`) is removed from disk, bare clone and
 *   snapshots, so that the cache holds only what Applications still use; never while an operation on it
 *   runs or waits.
 *
 * This is the only module of capstan that imports nodegit (libgit2), so that the native binding's quirks
 * stay in one place.
 *
 * Layout under `cacheDir` (one directory per repository URL, named by a hash of the URL without
 * credentials):
 * ```
 * <cacheDir>/<urlhash>/url          the URL, credentials removed (for people)
 * <cacheDir>/<urlhash>/repo.git     bare clone, refs/remotes/origin/* and refs/tags/*
 * <cacheDir>/<urlhash>/trees/<sha>  read-only snapshot of the tree of commit <sha>
 * <cacheDir>/<urlhash>/tmp/         snapshots being written (renamed into trees/ when complete)
 * ```
 *
 * Submodules are not fetched: a submodule (gitlink) entry becomes an empty directory, as in a clone
 * without `--recurse-submodules`. Git LFS pointers stay pointers (Argo CD's default). `.gitattributes`
 * filters (eol, ident) are not applied: files hold the blob bytes.
 */
import type * as NodeGit from 'nodegit';
import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';
import { Logger, silentLogger } from '../log';
import {
  CEILINGS,
  CheckoutLimits,
  DEFAULT_MAX_REPO_BYTES,
  DEFAULT_MAX_REPO_FILES,
  DEFAULT_REPO_CACHE_IDLE_MS,
  ceilingMessage,
} from '../common/limits';
import {
  CredentialFactory,
  RepoCredentials,
  credentialsCallback,
  redactURL,
  withoutUserinfo,
} from './credentials';
import { startGitRequest } from './metrics';
import { credentialsFingerprint, RevisionCache } from './revisioncache';

/**
 * A Git operation failed. The message says what failed and for which repository (credentials removed
 * from URLs), e.g. `failed to list refs of git://host/repo.git: <libgit2 message>` or
 * `revision "nope" not found in https://host/repo.git`.
 */
export class GitError extends Error {
  override name = 'GitError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(redactURL(message), options);
  }
}

/** A commit's tree is larger than a checkout ceiling; the message names the ceiling and its flag. */
export class CheckoutCeilingError extends GitError {
  override name = 'CheckoutCeilingError';
}

/** Construction options of {@link GitRepoCache}. */
export interface GitRepoCacheOptions {
  /** Root directory of the cache; created if missing. Reused across restarts. */
  cacheDir: string;
  log?: Logger;
  /** Snapshots kept per repository; least recently used beyond this are evicted (default 20). */
  maxTrees?: number;
  /**
   * A snapshot used within this many milliseconds is never evicted, even beyond `maxTrees`, so that a
   * caller still reading a path it got moments ago does not lose it (default 10 minutes).
   */
  evictGraceMs?: number;
  /** Timeout of a remote listing, connect included (default 30 s). */
  listTimeoutMs?: number;
  /** Timeout of a fetch (default 10 min: a first clone of a big repository takes a while). */
  fetchTimeoutMs?: number;
  /** Files and bytes one snapshot may hold (default 100 000 files, 512 MiB). */
  checkoutLimits?: Partial<CheckoutLimits>;
  /**
   * A repository that no `resolveRevision` or `checkout` used for this many milliseconds is removed from disk
   * by {@link GitRepoCache.evictIdle} (default 1 hour; 0 never). Never less than `evictGraceMs`, so a path
   * returned by `checkout` stays readable at least that long.
   */
  idleRepoMs?: number;
  /**
   * How long a resolved revision is reused, in ms (the operator's refresh interval; default 0: every
   * `resolveRevision` of a branch or tag lists the remote, concurrent ones sharing the listing). See
   * revisioncache.ts: one `ls-remote` per repository and revision per interval, {@link GitRepoCache.revisions}'s
   * `forget` on an explicit refresh.
   */
  revisionCacheMs?: number;
}

/** Counters of network operations since the cache was created (for metrics and tests). */
export interface GitStats {
  /** Fetches into a bare clone. */
  fetches: number;
  /** Remote listings (`ls-remote`). */
  listings: number;
}

/** One advertised remote reference, as `git ls-remote` prints it. */
export interface RemoteRef {
  /** Full name: `HEAD`, `refs/heads/main`, `refs/tags/v1`, `refs/tags/v1^{}` (peeled annotated tag). */
  name: string;
  /** 40-hex object id. */
  oid: string;
  /** For a symbolic ref (`HEAD`), the ref it points to, e.g. `refs/heads/main`; else `''`. */
  symrefTarget: string;
}

const FULL_SHA = /^[0-9a-f]{40}$/i;
/** Argo CD treats 7 to 39 hex digits that match no ref as an abbreviated commit SHA. */
const SHORT_SHA = /^[0-9a-f]{7,39}$/i;

/** The fetch refspecs of a bare clone: all branches (namespaced, so no branch can shadow HEAD) and tags. */
const BASE_REFSPECS = ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'];

/** Git file modes of tree entries (normalised by libgit2). */
const MODE = { TREE: 0o040000, BLOB: 0o100644, EXEC: 0o100755, LINK: 0o120000, GITLINK: 0o160000 } as const;

/** Per-repository state: where it lives, its lock, its open bare clone and its snapshots. */
interface RepoState {
  url: string;
  display: string;
  dir: string;
  /** Tail of the per-URL promise chain: operations touching the bare clone or trees/ run one at a time. */
  queue: Promise<unknown>;
  repo?: Promise<NodeGit.Repository>;
  /** Snapshot SHA -> last use (ms). Loaded from trees/ on first use, so it survives restarts. */
  trees?: Map<string, number>;
  /** Commit SHA -> ref outside heads/tags it was resolved from (e.g. refs/pull/1/head), to fetch it. */
  refHints: Map<string, string>;
  /** Native operations that timed out but still run (libgit2 cannot be interrupted while blocked on I/O). */
  hanging: number;
  /** Last time (ms) a caller started or finished using the repository. */
  lastUsed: number;
  /** Public operations in flight or waiting (a repository in use is never evicted). */
  busy: number;
  /** Commits refused for a ceiling -> the message (so a huge commit is not walked again on every refresh). */
  refused: Map<string, string>;
}

/**
 * The local Git cache: resolves revisions and provides snapshot directories of commits, per repository URL.
 *
 * Operations on the same URL that touch the local clone run one at a time (a per-URL promise chain);
 * different URLs run in parallel. Concurrent listings of the same URL with the same credentials share one
 * network round trip.
 *
 * URL schemes: `git://`, `http(s)://` (Basic auth), `ssh://` and scp-like `git@host:path` (SSH key),
 * `file://` and local paths.
 */
export class GitRepoCache {
  private readonly cacheDir: string;
  private readonly log: Logger;
  private readonly maxTrees: number;
  private readonly evictGraceMs: number;
  private readonly listTimeoutMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly checkoutLimits: CheckoutLimits;
  private readonly idleRepoMs: number;
  /** Repository directories found on disk were adopted (see {@link adoptOnDisk}). */
  private adopted = false;
  private readonly repos = new Map<string, RepoState>();
  private readonly listingsInFlight = new Map<string, Promise<RemoteRef[]>>();
  private readonly counters: GitStats = { fetches: 0, listings: 0 };
  /**
   * Resolved revisions reused for `revisionCacheMs` (revisioncache.ts); `forget` them for an explicit
   * refresh so that a push followed by a refresh is seen at once.
   */
  readonly revisions: RevisionCache;

  constructor(opts: GitRepoCacheOptions) {
    this.cacheDir = path.resolve(opts.cacheDir);
    this.log = opts.log ?? silentLogger();
    this.maxTrees = Math.max(1, opts.maxTrees ?? 20);
    this.evictGraceMs = opts.evictGraceMs ?? 10 * 60_000;
    this.listTimeoutMs = opts.listTimeoutMs ?? 30_000;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 10 * 60_000;
    this.checkoutLimits = {
      maxBytes: opts.checkoutLimits?.maxBytes ?? DEFAULT_MAX_REPO_BYTES,
      maxFiles: opts.checkoutLimits?.maxFiles ?? DEFAULT_MAX_REPO_FILES,
    };
    const idle = opts.idleRepoMs ?? DEFAULT_REPO_CACHE_IDLE_MS;
    this.idleRepoMs = idle > 0 ? Math.max(idle, this.evictGraceMs) : 0;
    this.revisions = new RevisionCache(opts.revisionCacheMs ?? 0);
  }

  /** The cache directory (`--cache-dir`); Helm chart archives live under its `helm/` (never a repo hash). */
  cacheRoot(): string {
    return this.cacheDir;
  }

  /** A copy of the network operation counters. */
  get stats(): GitStats {
    return { ...this.counters };
  }

  /**
   * Resolves an Argo CD `targetRevision` to a commit SHA, as Argo CD does:
   * - empty or `HEAD`: the commit of the remote's HEAD (its default branch);
   * - a branch name (`main`) or `refs/heads/main`; a branch wins over a tag of the same name;
   * - a tag name (`v1.2.0`) or `refs/tags/v1.2.0`; annotated tags are peeled to their commit;
   * - any other full ref name advertised by the server (e.g. `refs/pull/12/head`);
   * - a full 40-hex SHA: returned (lower-cased) once it is known to exist, fetching if needed;
   * - 7 to 39 hex digits that match no ref: an abbreviated SHA, expanded from the local clone (fetching if
   *   needed).
   * Semver constraints (`1.2.*`) are not supported yet; they resolve like any other name.
   *
   * Names are resolved with a remote listing (no fetch), reused for `revisionCacheMs` (see {@link revisions}):
   * the answer is the remote's at most that long ago.
   *
   * @returns the 40-hex commit SHA (lower case).
   * @throws GitError when the remote cannot be listed (unreachable, authentication, timeout), when the
   *   revision matches nothing, or when a SHA does not exist in the repository.
   */
  resolveRevision(
    repoURL: string,
    targetRevision: string | undefined,
    creds?: RepoCredentials,
  ): Promise<string> {
    return this.revisions.resolve(
      (url, rev, c) => {
        const state = this.state(url);
        return this.using(state, () => this.resolveIn(state, rev, c));
      },
      repoURL,
      targetRevision,
      creds,
    );
  }

  private async resolveIn(
    state: RepoState,
    targetRevision: string | undefined,
    creds: RepoCredentials | undefined,
  ): Promise<string> {
    const revision = (targetRevision ?? '').trim() || 'HEAD';
    if (FULL_SHA.test(revision)) {
      const sha = revision.toLowerCase();
      await this.exclusive(state, () => this.ensureCommit(state, sha, creds));
      return sha;
    }
    const refs = await this.listRefs(state, creds);
    const match = resolveFromRefs(refs, revision);
    if (match) {
      if (!/^refs\/(heads|tags)\//.test(match.ref) && match.ref !== 'HEAD') rememberHint(state, match);
      this.log.debug('resolved revision', { repo: state.display, revision, ref: match.ref, sha: match.sha });
      return match.sha;
    }
    if (SHORT_SHA.test(revision)) {
      return this.exclusive(state, () => this.expandShortSha(state, revision.toLowerCase(), creds));
    }
    if (revision === 'HEAD') {
      throw new GitError(`${state.display} advertises no HEAD (is the repository empty?)`);
    }
    throw new GitError(`revision "${revision}" not found in ${state.display}`);
  }

  /**
   * Provides the files of a commit: the absolute path of a read-only snapshot directory of its tree
   * (`<cacheDir>/<urlhash>/trees/<sha>`). The bare clone is fetched only when the commit is not already
   * present. Symlinks are kept as symlinks and executable bits as modes; files and directories are not
   * writable (copy before modifying: the snapshot is shared by every Application at that commit).
   * Symlinks are written as they are in the repository: callers must not follow them outside the snapshot.
   *
   * The snapshot stays available at least `evictGraceMs` after the last `checkout` that returned it.
   *
   * @param sha - a full 40-hex commit SHA (from {@link resolveRevision}).
   * @throws GitError when `sha` is not a full SHA, when fetching fails, when the commit does not exist in
   *   the repository, when the tree holds an unsafe path (`..`, `.git`, a `/` in a name), or when it holds
   *   more files or bytes than the checkout ceilings (`--max-repo-files`, `--max-repo-bytes`; the message
   *   names the flag; nothing is left on disk).
   */
  checkout(repoURL: string, sha: string, creds?: RepoCredentials): Promise<string> {
    const state = this.state(repoURL);
    return this.using(state, () => this.checkoutIn(state, sha, creds));
  }

  private async checkoutIn(
    state: RepoState,
    sha: string,
    creds: RepoCredentials | undefined,
  ): Promise<string> {
    if (!FULL_SHA.test(sha)) {
      throw new GitError(`checkout of ${state.display} needs a full commit SHA, got "${sha}"`);
    }
    const commit = sha.toLowerCase();
    const refused = state.refused.get(commit);
    if (refused) throw new CheckoutCeilingError(refused);
    const dest = path.join(state.dir, 'trees', commit);
    // Fast path without the lock: a snapshot is complete once it is in trees/ (renamed atomically).
    if (state.trees?.has(commit)) {
      this.touch(state, commit);
      return dest;
    }
    return this.exclusive(state, async () => {
      const trees = await this.loadTrees(state);
      if (!trees.has(commit)) {
        const repo = await this.ensureCommit(state, commit, creds);
        await this.writeSnapshot(state, repo, commit, dest);
      }
      this.touch(state, commit);
      await this.evict(state, commit);
      return dest;
    });
  }

  /**
   * The state of a URL, created on first use. The key and directory ignore credentials in the URL
   * ({@link withoutUserinfo}, exact, so that two repositories never share a clone); messages use the
   * display form ({@link redactURL}, which may drop more so that no part of a password shows).
   */
  private state(repoURL: string): RepoState {
    const url = repoURL.trim();
    if (!url) throw new GitError('repository URL is empty');
    const display = redactURL(url);
    const key = withoutUserinfo(url);
    let state = this.repos.get(key);
    if (!state) {
      const hash = urlHash(key);
      state = {
        url,
        display,
        dir: path.join(this.cacheDir, hash),
        queue: Promise.resolve(),
        refHints: new Map(),
        hanging: 0,
        lastUsed: Date.now(),
        busy: 0,
        refused: new Map(),
      };
      this.repos.set(key, state);
    }
    // Same repository, maybe other credentials embedded in the URL: the latest caller's URL is used.
    state.url = url;
    return state;
  }

  /** Runs a public operation, counting the repository as in use (never evicted) until it settles. */
  private async using<T>(state: RepoState, fn: () => Promise<T>): Promise<T> {
    state.busy += 1;
    state.lastUsed = Date.now();
    try {
      return await fn();
    } finally {
      state.busy -= 1;
      state.lastUsed = Date.now();
    }
  }

  /** Runs `fn` after every earlier exclusive operation of the same URL has settled. */
  private exclusive<T>(state: RepoState, fn: () => Promise<T>): Promise<T> {
    const run = state.queue.then(fn, fn);
    state.queue = run.catch(() => undefined);
    return run;
  }

  /** Lists the remote's refs; concurrent callers with the same URL and credentials share one listing. */
  private listRefs(state: RepoState, creds: RepoCredentials | undefined): Promise<RemoteRef[]> {
    const key = `${state.url}\0${credentialsFingerprint(creds)}`;
    let pending = this.listingsInFlight.get(key);
    if (!pending) {
      pending = this.doListRefs(state, creds).finally(() => this.listingsInFlight.delete(key));
      this.listingsInFlight.set(key, pending);
    }
    return pending;
  }

  /** `git ls-remote`: connect with a detached remote (no local repository needed) and read the advertisement. */
  private async doListRefs(state: RepoState, creds: RepoCredentials | undefined): Promise<RemoteRef[]> {
    this.counters.listings += 1;
    const started = Date.now();
    const done = startGitRequest(state.display, 'ls-remote');
    const { callbacks, explain } = remoteCallbacks(creds);
    let remote: NodeGit.Remote | undefined;
    let timedOut = false;
    try {
      this.assertNotHanging(state);
      remote = await nodegit().Remote.createDetached(state.url);
      const r = remote;
      const work = (async () => {
        // nodegit's binding reads (direction, callbacks, proxyOpts, customHeaders); pass all four so the
        // promise callback it appends is not taken for the proxy options.
        const connect = r.connect as unknown as (...args: unknown[]) => Promise<number>;
        await connect.call(r, nodegit().Enums.DIRECTION.FETCH, callbacks, null, []);
        return (await r.referenceList()) as NodeGitRemoteHead[];
      })();
      const heads = await withTimeout(work, this.listTimeoutMs, () => {
        timedOut = true;
        this.abandon(state, work, () => r.stop());
        // Disconnecting now would race the blocked native call on the same remote: do it once it settles.
        void work.catch(() => undefined).then(() => r.disconnect().catch(() => undefined));
      });
      const refs = heads.map((h) => ({
        name: h.name(),
        oid: h.oid().tostrS(),
        symrefTarget: h.symrefTarget() ?? '',
      }));
      this.log.debug('listed remote refs', {
        repo: state.display,
        refs: refs.length,
        ms: Date.now() - started,
      });
      return refs;
    } catch (err) {
      throw new GitError(`failed to list refs of ${state.display}: ${explain(err)}`, { cause: err });
    } finally {
      done();
      if (!timedOut) await remote?.disconnect().catch(() => undefined);
    }
  }

  /**
   * Refuses a new network operation while an earlier one of the same URL hangs after its timeout: libgit2
   * has no I/O timeout that nodegit can set, a hung operation holds one of nodegit's 10 worker threads until
   * the server closes the connection, and retrying into the same hang would take them all.
   */
  private assertNotHanging(state: RepoState): void {
    if (state.hanging > 0) {
      throw new Error(
        'an earlier operation on this repository timed out and is still waiting for the server',
      );
    }
  }

  /** Counts a timed-out operation as hanging until it settles, and asks libgit2 to stop it. */
  private abandon(state: RepoState, work: Promise<unknown>, stop: () => void): void {
    state.hanging += 1;
    const settled = (): void => {
      state.hanging -= 1;
    };
    work.then(settled, settled);
    stop();
  }

  /** Opens (or creates) the bare clone of a URL; a clone that cannot be opened is recreated. */
  private openRepo(state: RepoState): Promise<NodeGit.Repository> {
    if (!state.repo) {
      state.repo = this.doOpenRepo(state);
      // A failed open is retried by the next operation instead of being remembered.
      state.repo.catch(() => {
        state.repo = undefined;
      });
    }
    return state.repo;
  }

  private async doOpenRepo(state: RepoState): Promise<NodeGit.Repository> {
    const gitDir = path.join(state.dir, 'repo.git');
    try {
      await fs.mkdir(state.dir, { recursive: true });
      await fs.writeFile(path.join(state.dir, 'url'), state.display + '\n');
      if (await exists(path.join(gitDir, 'HEAD'))) {
        try {
          return await nodegit().Repository.openBare(gitDir);
        } catch (err) {
          this.log.warn('recreating unreadable git cache', { repo: state.display, error: errorMessage(err) });
          await fs.rm(gitDir, { recursive: true, force: true });
        }
      }
      return await nodegit().Repository.init(gitDir, 1);
    } catch (err) {
      const message = `failed to open the local clone of ${state.display} in ${gitDir}: ${errorMessage(err)}`;
      throw new GitError(message, { cause: err });
    }
  }

  /**
   * Makes sure a commit is in the bare clone, fetching once if it is not. Runs under the URL's lock.
   * @throws GitError when the fetch fails or the commit is still missing afterwards.
   */
  private async ensureCommit(
    state: RepoState,
    sha: string,
    creds: RepoCredentials | undefined,
  ): Promise<NodeGit.Repository> {
    const repo = await this.openRepo(state);
    if (await hasCommit(repo, sha)) return repo;
    await this.fetch(state, repo, creds, state.refHints.get(sha));
    if (await hasCommit(repo, sha)) return repo;
    throw new GitError(
      `commit ${sha} not found in ${state.display} (not reachable from its branches or tags)`,
    );
  }

  /** Expands an abbreviated SHA from the local clone, fetching once if it is unknown. Runs under the lock. */
  private async expandShortSha(
    state: RepoState,
    short: string,
    creds: RepoCredentials | undefined,
  ): Promise<string> {
    const repo = await this.openRepo(state);
    const local = await lookupShortSha(repo, short);
    if (local) return local;
    await this.fetch(state, repo, creds);
    const fetched = await lookupShortSha(repo, short);
    if (fetched) return fetched;
    throw new GitError(`revision "${short}" not found in ${state.display}`);
  }

  /** Fetches branches, tags and optionally one extra ref into the bare clone. */
  private async fetch(
    state: RepoState,
    repo: NodeGit.Repository,
    creds: RepoCredentials | undefined,
    extraRef?: string,
  ): Promise<void> {
    this.counters.fetches += 1;
    const started = Date.now();
    const done = startGitRequest(state.display, 'fetch');
    const refspecs = [...BASE_REFSPECS];
    if (extraRef) refspecs.push(`+${extraRef}:refs/capstan/${extraRef.replace(/^refs\//, '')}`);
    const { callbacks, explain } = remoteCallbacks(creds);
    try {
      this.assertNotHanging(state);
      const r = await nodegit().Remote.createAnonymous(repo, state.url);
      const opts: NodeGit.FetchOptions = {
        callbacks,
        // The tags refspec already brings every tag; auto-follow would only add work.
        downloadTags: nodegit().Remote.AUTOTAG_OPTION.DOWNLOAD_TAGS_NONE,
      };
      const work = r.fetch(refspecs, opts, 'capstan fetch');
      await withTimeout(work, this.fetchTimeoutMs, () => this.abandon(state, work, () => r.stop()));
      this.log.info('fetched repository', { repo: state.display, ms: Date.now() - started });
    } catch (err) {
      throw new GitError(`failed to fetch ${state.display}: ${explain(err)}`, { cause: err });
    } finally {
      done();
    }
  }

  /** Writes the tree of a commit into tmp/, then renames it into place so a snapshot is never partial. */
  private async writeSnapshot(
    state: RepoState,
    repo: NodeGit.Repository,
    sha: string,
    dest: string,
  ): Promise<void> {
    const started = Date.now();
    const tmpRoot = path.join(state.dir, 'tmp');
    const tmp = path.join(tmpRoot, `${sha}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.mkdir(tmpRoot, { recursive: true });
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const commit = await repo.getCommit(sha);
      const tree = await commit.getTree();
      const files = await writeTree(
        tree,
        tmp,
        this.checkoutLimits,
        `the checkout of ${state.display} at ${sha} has`,
      );
      await renameReplacing(tmp, dest);
      this.log.debug('wrote snapshot', { repo: state.display, sha, files, ms: Date.now() - started });
    } catch (err) {
      await removeTree(tmp).catch(() => undefined);
      if (err instanceof CheckoutCeilingError) rememberRefusal(state, sha, err.message);
      if (err instanceof GitError) throw err;
      const message = `failed to write the tree of ${sha} of ${state.display}: ${errorMessage(err)}`;
      throw new GitError(message, { cause: err });
    }
  }

  /** Loads the snapshot list from trees/ (last use = mtime) and clears leftovers of interrupted writes. */
  private async loadTrees(state: RepoState): Promise<Map<string, number>> {
    if (state.trees) return state.trees;
    const trees = new Map<string, number>();
    const dir = path.join(state.dir, 'trees');
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      if (!FULL_SHA.test(name)) continue;
      const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
      if (st?.isDirectory()) trees.set(name, st.mtimeMs);
    }
    await removeTree(path.join(state.dir, 'tmp')).catch(() => undefined);
    state.trees = trees;
    return trees;
  }

  /** Records a use of a snapshot (in memory, and as the directory's mtime for the next process). */
  private touch(state: RepoState, sha: string): void {
    const now = Date.now();
    state.trees?.set(sha, now);
    const when = new Date(now);
    fs.utimes(path.join(state.dir, 'trees', sha), when, when).catch(() => undefined);
  }

  /** Removes least recently used snapshots beyond `maxTrees`, sparing `keep` and those in their grace period. */
  private async evict(state: RepoState, keep: string): Promise<void> {
    const trees = state.trees;
    if (!trees || trees.size <= this.maxTrees) return;
    const now = Date.now();
    const candidates = [...trees.entries()]
      .filter(([sha, used]) => sha !== keep && now - used >= this.evictGraceMs)
      .sort((a, b) => a[1] - b[1]);
    for (const [sha] of candidates) {
      if (trees.size <= this.maxTrees) break;
      trees.delete(sha);
      await removeTree(path.join(state.dir, 'trees', sha)).catch((err: unknown) =>
        this.log.warn('failed to evict snapshot', { repo: state.display, sha, error: errorMessage(err) }),
      );
      this.log.debug('evicted snapshot', { repo: state.display, sha });
    }
  }

  /**
   * Removes from disk every repository (bare clone and snapshots) that no caller used for `idleRepoMs`, as
   * the clone cache's answer to Applications that moved to another repository or were deleted. A
   * repository with an operation in flight or waiting is kept. Directories left by an earlier process are
   * adopted on the first call and count as used at that moment, so they go one idle period later unless an
   * Application uses them again. A later use of an evicted repository clones it again.
   * @param now - the current time in ms (for tests).
   * @returns the URLs (credentials removed) of the repositories removed.
   */
  async evictIdle(now = Date.now()): Promise<string[]> {
    if (this.idleRepoMs <= 0) return [];
    await this.adoptOnDisk(now);
    const removed: string[] = [];
    for (const state of [...this.repos.values()]) {
      if (!this.isIdle(state, now)) continue;
      const done = await this.exclusive(state, () => this.removeRepo(state, now));
      if (done) removed.push(state.display);
    }
    return removed;
  }

  /**
   * Runs {@link evictIdle} periodically (every quarter of `idleRepoMs`, at most every 10 minutes) until the
   * returned handle is stopped; the timer does not keep the process alive.
   */
  startIdleEviction(): { stop(): void } {
    if (this.idleRepoMs <= 0) return { stop: () => undefined };
    const every = Math.max(1000, Math.min(this.idleRepoMs / 4, 10 * 60_000));
    const timer = setInterval(() => {
      this.evictIdle().catch((err: unknown) =>
        this.log.warn('Evicting idle repositories failed.', { error: errorMessage(err) }),
      );
    }, every);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  private isIdle(state: RepoState, now: number): boolean {
    return state.busy === 0 && state.hanging === 0 && now - state.lastUsed >= this.idleRepoMs;
  }

  /** Removes one idle repository; runs under its lock. Returns false when it was used meanwhile. */
  private async removeRepo(state: RepoState, now: number): Promise<boolean> {
    if (!this.isIdle(state, now)) return false;
    // Forget the open clone and the snapshot list first: the checkout fast path must not hand out a
    // directory being removed, and the next operation reopens (re-clones) from scratch.
    state.repo = undefined;
    state.trees = undefined;
    state.refHints.clear();
    state.refused.clear();
    await removeTree(state.dir);
    // A caller that arrived during the removal holds this state and will recreate the directory: keep it.
    if (state.busy === 0) this.repos.delete(withoutUserinfo(state.url));
    this.log.info('Removed an unused repository from the cache.', {
      repo: state.display,
      idleSeconds: Math.round((now - state.lastUsed) / 1000),
    });
    return true;
  }

  /**
   * Registers repository directories of the cache left by an earlier process (named by the hash of the URL
   * they record in `url`), used as of `now`. Directories that do not look like capstan's are left alone.
   */
  private async adoptOnDisk(now: number): Promise<void> {
    if (this.adopted) return;
    this.adopted = true;
    for (const name of await fs.readdir(this.cacheDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{16}$/.test(name)) continue;
      const display = (
        await fs.readFile(path.join(this.cacheDir, name, 'url'), 'utf8').catch(() => '')
      ).trim();
      if (!display || this.repos.has(display) || urlHash(display) !== name) continue;
      const state = this.state(display);
      state.lastUsed = now;
    }
  }
}

/** The cache directory name of a repository: a hash of its URL without credentials. */
function urlHash(display: string): string {
  return createHash('sha256').update(display).digest('hex').slice(0, 16);
}

/** How many refused commits a repository remembers. */
const MAX_REFUSALS = 64;

/** Remembers that a commit was refused for a ceiling; oldest forgotten first. */
function rememberRefusal(state: RepoState, sha: string, message: string): void {
  state.refused.set(sha, message);
  const oldest = state.refused.keys().next().value;
  if (state.refused.size > MAX_REFUSALS && oldest !== undefined) state.refused.delete(oldest);
}

/** How many ref hints a repository keeps (one per commit resolved from a ref like refs/pull/N/head). */
const MAX_REF_HINTS = 256;

/** Remembers which ref a commit came from, so that fetching it can ask for that ref; oldest forgotten first. */
function rememberHint(state: RepoState, match: { ref: string; sha: string }): void {
  state.refHints.delete(match.sha);
  state.refHints.set(match.sha, match.ref);
  const oldest = state.refHints.keys().next().value;
  if (state.refHints.size > MAX_REF_HINTS && oldest !== undefined) state.refHints.delete(oldest);
}

/**
 * Moves a finished snapshot into place. A leftover directory of the same commit (an eviction that failed
 * half-way) is replaced: the new one is complete, the old one may not be.
 */
async function renameReplacing(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await removeTree(to);
    await fs.rename(from, to);
  }
}

let nodegitModule: typeof NodeGit | undefined;

/**
 * nodegit (libgit2), loaded on the first git operation rather than at start: the native binding costs
 * about 30 MiB of RSS (issue 10 §2 P2), and a process that runs only the ExternalSecret operators, or an
 * Application operator with no app yet, never needs it.
 */
function nodegit(): typeof NodeGit {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (nodegitModule ??= require('nodegit') as typeof NodeGit);
}

/** The members of nodegit's RemoteHead that capstan uses (absent from @types/nodegit). */
interface NodeGitRemoteHead {
  name(): string;
  oid(): NodeGit.Oid;
  symrefTarget(): string | null;
}

/**
 * Resolves a revision against a remote's advertised refs, with Argo CD's precedence: the exact full ref
 * name, then `refs/heads/<rev>`, then `refs/tags/<rev>`. `HEAD` is the advertised HEAD (its symref target
 * when the target is advertised). An annotated tag resolves to its peeled commit (`<tag>^{}`).
 *
 * @returns the matching ref name and commit SHA, or `undefined` when nothing matches.
 */
export function resolveFromRefs(
  refs: ReadonlyArray<RemoteRef>,
  revision: string,
): { ref: string; sha: string } | undefined {
  const byName = new Map(refs.map((r) => [r.name, r]));
  const candidates =
    revision === 'HEAD' ? ['HEAD'] : [revision, `refs/heads/${revision}`, `refs/tags/${revision}`];
  for (const name of candidates) {
    const ref = byName.get(name);
    if (!ref || name.endsWith('^{}')) continue;
    if (name === 'HEAD' && ref.symrefTarget) {
      const target = byName.get(ref.symrefTarget);
      if (target) return { ref: target.name, sha: target.oid.toLowerCase() };
    }
    const peeled = byName.get(`${name}^{}`);
    return { ref: name, sha: (peeled ?? ref).oid.toLowerCase() };
  }
  return undefined;
}

/**
 * The nodegit callbacks for one remote operation, backed by nodegit's credential constructors, and a
 * function that turns the operation's failure into a message (preferring the credentials callback's own
 * error, which nodegit hides behind "Method connect has thrown an error.").
 */
function remoteCallbacks(creds: RepoCredentials | undefined): {
  callbacks: NodeGit.RemoteCallbacks;
  explain: (err: unknown) => string;
} {
  const factory: CredentialFactory<NodeGit.Credential> = {
    userpass: (u, p) => nodegit().Credential.userpassPlaintextNew(u, p),
    // libssh2 derives the public key from the private one when it is given as ''.
    sshKeyMemory: (u, key) => nodegit().Credential.sshKeyMemoryNew(u, '', key, ''),
    username: (u) => nodegit().Credential.usernameNew(u),
  };
  const cb = credentialsCallback(creds, factory);
  return {
    callbacks: { credentials: cb.credentials, certificateCheck: cb.certificateCheck },
    explain: (err) => scrub(cb.lastError()?.message ?? errorMessage(err), creds),
  };
}

/** True when the object exists in the clone and is a commit. */
async function hasCommit(repo: NodeGit.Repository, sha: string): Promise<boolean> {
  try {
    await repo.getCommit(sha);
    return true;
  } catch {
    return false;
  }
}

/**
 * Expands an abbreviated SHA to the full SHA of a commit in the clone.
 * @returns the full SHA, or `undefined` when no object has that prefix.
 * @throws GitError when the prefix is ambiguous or names something other than a commit.
 */
async function lookupShortSha(repo: NodeGit.Repository, short: string): Promise<string | undefined> {
  let obj: NodeGit.Object;
  try {
    obj = await nodegit().Revparse.single(repo, short);
  } catch (err) {
    if (/ambiguous/i.test(errorMessage(err))) {
      throw new GitError(`abbreviated SHA "${short}" is ambiguous`, { cause: err });
    }
    return undefined;
  }
  const commit = await obj.peel(nodegit().Object.TYPE.COMMIT).catch(() => undefined);
  if (!commit) throw new GitError(`"${short}" is not a commit`);
  return commit.id().tostrS();
}

/** A file or directory of a tree to write, collected before writing so writes can run in parallel. */
interface PlannedEntry {
  path: string;
  mode: number;
  entry: NodeGit.TreeEntry;
}

/**
 * Writes a tree under `root` (which must not exist): directories first, then files and symlinks with a few
 * writes in flight, then directories made read-only deepest first.
 * @param limits - ceilings: entries (files, symlinks and directories) are counted while the tree is walked,
 *   before any blob is read; bytes are summed as blobs are read, and writing stops at the first one past it.
 * @param what - the subject of a ceiling message: `the checkout of <url> at <sha> has`.
 * @returns the number of files and symlinks written.
 * @throws CheckoutCeilingError when a ceiling is passed (the caller removes the partial tree).
 */
async function writeTree(
  tree: NodeGit.Tree,
  root: string,
  limits: CheckoutLimits,
  what: string,
): Promise<number> {
  const dirs: string[] = [root];
  const files: PlannedEntry[] = [];
  const tooMany = (): void => {
    if (dirs.length - 1 + files.length > limits.maxFiles) {
      throw new CheckoutCeilingError(ceilingMessage(what, CEILINGS.repoFiles, limits.maxFiles));
    }
  };
  await planTree(tree, root, dirs, files, tooMany);
  for (const d of dirs) await fs.mkdir(d);
  let bytes = 0;
  await forEachLimit(files, 8, async (file) => {
    const blob = await file.entry.getBlob();
    bytes += blob.rawsize();
    if (bytes > limits.maxBytes) {
      throw new CheckoutCeilingError(ceilingMessage(what, CEILINGS.repoBytes, limits.maxBytes));
    }
    await writeEntry(file, blob.content());
  });
  for (const d of dirs.reverse()) await fs.chmod(d, 0o555);
  return files.length;
}

/**
 * Walks a tree depth-first, collecting directories and leaf entries, and rejecting unsafe names.
 * @param check - called after each entry is collected (throws at a ceiling).
 */
async function planTree(
  tree: NodeGit.Tree,
  dir: string,
  dirs: string[],
  files: PlannedEntry[],
  check: () => void,
): Promise<void> {
  for (const entry of tree.entries()) {
    const name = entry.name();
    assertSafeName(name, entry.path());
    const target = path.join(dir, name);
    const mode = entry.filemode() as number;
    if (mode === MODE.TREE) {
      dirs.push(target);
      await planTree(await entry.getTree(), target, dirs, files, check);
    } else if (mode === MODE.GITLINK) {
      dirs.push(target); // submodule: an empty directory, as an uninitialised submodule in a clone
    } else {
      files.push({ path: target, mode, entry });
    }
    check();
  }
}

/** Writes one blob: a symlink, an executable, or a regular file, all without write permission. */
async function writeEntry(file: PlannedEntry, content: Buffer): Promise<void> {
  if (file.mode === MODE.LINK) {
    await fs.symlink(content.toString('utf8'), file.path);
  } else {
    await fs.writeFile(file.path, content, { mode: file.mode === MODE.EXEC ? 0o555 : 0o444 });
  }
}

/**
 * Rejects tree entry names that would write outside the snapshot or plant a repository in it. Git itself
 * refuses these on checkout; libgit2 does not validate trees it reads, so a crafted repository could
 * hold them.
 */
function assertSafeName(name: string, where: string): void {
  const unsafe =
    name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.toLowerCase() === '.git';
  if (unsafe) throw new GitError(`unsafe path in repository tree: ${JSON.stringify(where || name)}`);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight. After a failure no new call starts, and the
 * first error is thrown once every call in flight has settled (so the caller can clean up behind them).
 */
async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Removes a snapshot: restores write permission on its directories first (read-only dirs block rm). */
async function removeTree(dir: string): Promise<void> {
  await makeWritable(dir);
  await fs.rm(dir, { recursive: true, force: true });
}

async function makeWritable(dir: string): Promise<void> {
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await fs.chmod(dir, 0o755);
  for (const name of await fs.readdir(dir)) await makeWritable(path.join(dir, name));
}

/** Rejects with a GitError after `ms`, calling `onTimeout` (to stop the native operation) first. */
async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        onTimeout();
      } catch {
        // stopping is best effort: the operation may already be finishing
      }
      reject(new Error(`timed out after ${ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`}`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined); // a late failure of the abandoned operation must not be unhandled
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** Removes a password or key that a message might quote (paranoia: libgit2 messages should not). */
function scrub(message: string, creds: RepoCredentials | undefined): string {
  let out = message;
  for (const secret of [creds?.password, creds?.sshPrivateKey]) {
    if (secret && secret.length >= 6) out = out.split(secret).join('***');
  }
  return out;
}

/** The message of an error from libgit2 or node, credentials removed. */
function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return redactURL(msg);
}
