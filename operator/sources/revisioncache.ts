/**
 * Resolved revisions shared by every caller of one {@link GitRepoCache} for one refresh interval: the
 * first comparison that resolves `main` of a repository runs the `git ls-remote`, the others within the
 * interval reuse its answer, and concurrent callers share one listing (single flight). At 1,000 apps on
 * one repository that is one listing per interval instead of about three per app.
 *
 * As Argo CD's repo-server (`--revision-cache-expiration`, 3 min by default, revisions resolved from
 * cached `ls-remote` references): a new commit is seen at the latest one interval after it was pushed
 * plus the app's own refresh. An explicit refresh (the refresh annotation) or a manual sync forgets
 * the cached answers of the app's repositories first ({@link RevisionCache.forget}), so that a push
 * followed by a refresh is applied at once; only answers whose listing started before the request was
 * first seen are forgotten, so refreshes asked together (a webhook push, a refresh of every app) share
 * one listing. Failures are never cached.
 *
 * Part of the git source (git.ts's `resolveRevision` answers through it; `GitRepoCacheOptions.revisionCacheMs`
 * sets the interval, the operator passes `--refresh-interval`).
 */
import { createHash } from 'node:crypto';
import type { RepoCredentials } from './credentials';

/** What a {@link RevisionCache} answers from: the uncached resolution (GitRepoCache's listing). */
export type ResolveRevision = (
  repoURL: string,
  targetRevision: string | undefined,
  creds?: RepoCredentials,
) => Promise<string>;

interface Entry {
  sha: Promise<string>;
  /** When the listing started (epoch ms): it sees every commit pushed before then. */
  startedAt: number;
  /** When the answer arrived (epoch ms); undefined while the listing runs. */
  at?: number;
}

/** A time-bounded, single-flight cache of resolved revisions by (repository, revision, credentials). */
export class RevisionCache {
  private readonly entries = new Map<string, Entry>();

  /**
   * @param ttlMs - how long an answer is reused, in ms (the refresh interval); 0 turns caching off
   *   (concurrent callers still share one listing).
   * @param now - clock in epoch ms (tests).
   */
  constructor(
    public ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The commit `targetRevision` resolves to, from a listing at most `ttlMs` old.
   * @param resolve - the uncached resolution, called on a miss.
   * @throws whatever `resolve` throws (GitError); the failure is not cached.
   */
  resolve(
    resolve: ResolveRevision,
    repoURL: string,
    targetRevision: string | undefined,
    creds?: RepoCredentials,
  ): Promise<string> {
    const key = `${repoURL}\0${targetRevision ?? ''}\0${credentialsFingerprint(creds)}`;
    const hit = this.entries.get(key);
    if (hit && (hit.at === undefined || this.now() - hit.at < this.ttlMs)) return hit.sha;
    const entry: Entry = { sha: resolve(repoURL, targetRevision, creds), startedAt: this.now() };
    this.entries.set(key, entry);
    entry.sha.then(
      () => {
        entry.at = this.now();
        if (this.ttlMs <= 0 && this.entries.get(key) === entry) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.sha;
  }

  /**
   * Forgets the answers for these repositories (an explicit refresh or a manual sync of an app) whose
   * listing started before `since`: a listing that started later, done or still running, already sees
   * every commit pushed before the request and is kept, so that many refreshes asked at about the same
   * time (a webhook push, `argocd app get --refresh` over many apps) share one listing.
   * @param since - when the request was made or first seen, in epoch ms (default: now).
   */
  forget(repoURLs: Iterable<string>, since: number = this.now()): void {
    const urls = new Set(repoURLs);
    for (const [key, entry] of this.entries) {
      if (entry.startedAt < since && urls.has(key.slice(0, key.indexOf('\0')))) this.entries.delete(key);
    }
  }
}

/** A stable, non-reversible key for a set of credentials (a hash: a key never holds a secret). */
export function credentialsFingerprint(creds: RepoCredentials | undefined): string {
  return creds ? createHash('sha256').update(JSON.stringify(creds)).digest('hex') : '';
}
