/**
 * Helm repositories (the classic `index.yaml` kind, Argo CD's `type: helm` repositories): the index fetched
 * at most once per refresh interval per repository and credentials (shared by every app), chart versions
 * resolved from an exact version or a semver range as Argo CD's repo-server does, and chart archives
 * downloaded once and kept on disk by (repository, chart, version, digest).
 *
 * Version resolution (Argo CD `util/helm` `Entries.MaxVersion`, Masterminds semver): an exact version is
 * used as written when the repository has it; anything else is a constraint (`1.2.*`, `>=1.0 <2`, `~1.4`,
 * `^2`, `>=1.0, <2` with Masterminds' comma for AND, `*` or empty for the newest) and the highest
 * matching version wins. Pre-releases match only a constraint that names a pre-release, as in both
 * Masterminds and npm's `semver` (the library used here).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { redactURL } from './credentials';
import { helmHttpGet, type HelmHttpAuth } from './helmhttp';

/** A Helm repository or registry could not be read, or has no such chart or version. */
export class HelmRepoError extends Error {
  override name = 'HelmRepoError';
  /** True when a later attempt may succeed (network errors, 5xx); false for 401/403/404 and bad input. */
  readonly retryable: boolean;
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** Largest `index.yaml` read, in bytes (public indexes such as Bitnami's are tens of MiB). */
export const MAX_INDEX_BYTES = 128 * 1024 * 1024;
/** Largest chart archive downloaded, in bytes. */
export const MAX_CHART_BYTES = 64 * 1024 * 1024;

/** One `entries.<chart>[]` item of an index.yaml. */
export interface HelmIndexEntry {
  version: string;
  urls: string[];
  /** sha256 of the archive, hex, when the index has it. */
  digest?: string;
}

/** A parsed index.yaml: the versions of each chart. */
export interface HelmIndex {
  entries: Record<string, HelmIndexEntry[]>;
  /** The index.yaml as served (seeds helm's own repository cache for `helm dependency build`). */
  text: string;
}

/**
 * A map whose entries live `ttlMs` (per key, from the fetch that filled them), with one fetch in flight per
 * key: apps that ask at the same time share it. A failed fetch is not kept.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  /**
   * @param ttlMs - how long a value is served, in ms (the operator's refresh interval).
   * @param now - the clock, in ms (tests).
   */
  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The value under `key`, fetched when absent, older than the TTL, or `hard` (a hard refresh).
   * @throws whatever `fetch` throws.
   */
  async get(key: string, fetch: () => Promise<T>, hard = false): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && !hard && this.now() - hit.at < this.ttlMs) return hit.value;
    this.sweep();
    const value = fetch();
    const entry = { at: this.now(), value };
    this.entries.set(key, entry);
    try {
      return await value;
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
  }

  /** Drops expired entries, so an index no app asks for any more (tens of MiB for big ones) is freed. */
  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (now - entry.at >= this.ttlMs) this.entries.delete(key);
  }

  /** How many entries are held (tests). */
  get size(): number {
    return this.entries.size;
  }
}

/** A cache key for a repository and the credentials used on it (never the credentials themselves). */
export function repoKey(repoURL: string, auth: HelmHttpAuth | undefined): string {
  const secret = JSON.stringify([
    auth?.username,
    auth?.password,
    auth?.tlsClientCertData,
    auth?.insecure,
    auth?.caData,
  ]);
  return `${repoURL.replace(/\/+$/, '')}#${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`;
}

/**
 * Parses an index.yaml.
 * @throws HelmRepoError when it is not a Helm repository index.
 */
export function parseIndex(text: string, repoURL: string): HelmIndex {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new HelmRepoError(`${redactURL(repoURL)}/index.yaml does not parse: ${(err as Error).message}`);
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!entries || typeof entries !== 'object') {
    throw new HelmRepoError(`${redactURL(repoURL)}/index.yaml is not a Helm repository index (no entries)`);
  }
  const out: Record<string, HelmIndexEntry[]> = {};
  for (const [name, list] of Object.entries(entries as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    out[name] = list
      .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
      .map((e) => ({
        version: String(e.version ?? ''),
        urls: Array.isArray(e.urls) ? e.urls.map(String) : [],
        ...(typeof e.digest === 'string' && e.digest ? { digest: e.digest } : {}),
      }));
  }
  return { entries: out, text };
}

/** Maps an HTTP status of a repository to an error naming the repository and the likely cause. */
export function statusError(what: string, status: number): HelmRepoError {
  const hint =
    status === 401 || status === 403
      ? ' (authentication failed: check the repository Secret of type helm)'
      : status === 404
        ? ' (not found)'
        : '';
  return new HelmRepoError(`${what}: HTTP ${status}${hint}`, { retryable: status >= 500 || status === 429 });
}

/**
 * GETs a URL of a repository and maps every failure to a HelmRepoError.
 * @throws HelmRepoError: retryable for network failures and 5xx.
 */
export async function getOrFail(
  url: string,
  what: string,
  opts: { auth?: HelmHttpAuth; maxBytes: number; headers?: Record<string, string>; timeoutMs?: number },
): Promise<{ body: Buffer; headers: Record<string, unknown>; url: string }> {
  let answer;
  try {
    answer = await helmHttpGet(url, opts);
  } catch (err) {
    throw new HelmRepoError(`${what}: ${(err as Error).message} (repository unreachable)`, {
      retryable: true,
      cause: err,
    });
  }
  if (answer.status < 200 || answer.status > 299) throw statusError(what, answer.status);
  return answer;
}

/**
 * Resolves `targetRevision` against the versions a repository has (Argo CD's `MaxVersion`).
 * @param available - every version the repository lists for the chart (invalid ones are ignored for ranges).
 * @param revision - an exact version (`1.2.3`, `v1.2.3`) or a semver constraint; empty means `*`.
 * @param what - the chart, for messages (`chart "web" in https://charts.example.com`).
 * @returns the version string as the repository writes it.
 * @throws HelmRepoError when the revision is neither a version nor a range, or nothing matches.
 */
export function resolveChartVersion(available: string[], revision: string | undefined, what: string): string {
  const wanted = (revision ?? '').trim() || '*';
  if (semver.valid(wanted, { loose: true })) {
    const exact =
      available.find((v) => v === wanted) ??
      available.find((v) => semver.valid(v, { loose: true }) && semver.eq(v, wanted, true));
    if (exact) return exact;
    throw new HelmRepoError(`${what} has no version ${wanted}`);
  }
  // Masterminds separates AND terms with ',' or spaces; npm's semver with spaces only.
  const range = semver.validRange(wanted.replace(/\s*,\s*/g, ' '), { loose: true });
  if (!range) {
    throw new HelmRepoError(
      `targetRevision ${JSON.stringify(wanted)} of ${what} is neither a version nor a semver range`,
    );
  }
  const valid = available.filter((v) => semver.valid(v, { loose: true }));
  const best = semver.maxSatisfying(valid, range, { loose: true });
  if (!best) throw new HelmRepoError(`${what} has no version matching ${JSON.stringify(wanted)}`);
  return best;
}

/** What a Helm repository client needs: the cache directory and how long an index is fresh. */
export interface HelmRepoOptions {
  /** The operator's cache directory (`--cache-dir`); archives go to `<cacheDir>/helm/charts/`. */
  cacheDir: string;
  /** How long an index.yaml is served before it is fetched again, in ms (the refresh interval). */
  indexTtlMs: number;
  /** Deadline of one download, in ms. */
  timeoutMs?: number;
  /** The clock of the index cache, in ms (tests). */
  now?: () => number;
}

/**
 * The Helm repositories of one operator: an index cache shared by all apps and an on-disk archive cache.
 */
export class HelmRepoClient {
  private readonly indexes: TtlCache<HelmIndex>;

  constructor(private readonly opts: HelmRepoOptions) {
    this.indexes = new TtlCache(opts.indexTtlMs, opts.now);
  }

  /**
   * The index of a repository: fetched at most once per `indexTtlMs` per (repository, credentials),
   * unless `hard`.
   * @throws HelmRepoError naming the repository (unreachable, HTTP status, not an index).
   */
  index(repoURL: string, auth: HelmHttpAuth | undefined, hard = false): Promise<HelmIndex> {
    return this.indexes.get(repoKey(repoURL, auth), () => this.fetchIndex(repoURL, auth), hard);
  }

  private async fetchIndex(repoURL: string, auth: HelmHttpAuth | undefined): Promise<HelmIndex> {
    const url = `${repoURL.replace(/\/+$/, '')}/index.yaml`;
    const what = `Helm repository ${redactURL(repoURL)}`;
    const answer = await getOrFail(url, what, {
      auth,
      maxBytes: MAX_INDEX_BYTES,
      timeoutMs: this.opts.timeoutMs,
    });
    return parseIndex(answer.body.toString('utf8'), repoURL);
  }

  /**
   * Resolves a chart's version in a repository.
   * @throws HelmRepoError when the repository cannot be read, has no such chart or no matching version.
   */
  async resolve(
    repoURL: string,
    chart: string,
    revision: string | undefined,
    auth: HelmHttpAuth | undefined,
    hard = false,
  ): Promise<HelmIndexEntry> {
    const index = await this.index(repoURL, auth, hard);
    const what = `chart "${chart}" in ${redactURL(repoURL)}`;
    const entries = index.entries[chart];
    if (!entries?.length)
      throw new HelmRepoError(`Helm repository ${redactURL(repoURL)} has no chart "${chart}"`);
    const version = resolveChartVersion(
      entries.map((e) => e.version),
      revision,
      what,
    );
    return entries.find((e) => e.version === version) as HelmIndexEntry;
  }

  /**
   * The chart archive of one version: read from `<cacheDir>/helm/charts/` when downloaded before,
   * else downloaded (checked against the index's digest when it has one) and written there.
   * @returns the path of the `.tgz`.
   * @throws HelmRepoError when the download fails or the digest differs.
   */
  async archive(
    repoURL: string,
    chart: string,
    entry: HelmIndexEntry,
    auth: HelmHttpAuth | undefined,
  ): Promise<string> {
    const file = archivePath(this.opts.cacheDir, [repoURL, chart, entry.version, entry.digest ?? '']);
    if (await cachedArchive(file)) return file;
    const raw = entry.urls[0];
    if (!raw)
      throw new HelmRepoError(`chart "${chart}" ${entry.version} in ${redactURL(repoURL)} has no URL`);
    const base = `${repoURL.replace(/\/+$/, '')}/`;
    const url = new URL(raw, base).href;
    // As helm: credentials go with the download only when it is on the repository's own host.
    const sameHost = new URL(url).host === new URL(base).host;
    const what = `chart "${chart}" ${entry.version} from ${redactURL(repoURL)}`;
    const answer = await getOrFail(url, what, {
      auth: sameHost ? auth : undefined,
      maxBytes: MAX_CHART_BYTES,
      timeoutMs: this.opts.timeoutMs,
    });
    if (entry.digest) assertDigest(answer.body, entry.digest, what);
    return writeArchive(file, answer.body);
  }
}

/** Throws unless the sha256 of `data` is `digest` (hex, with or without `sha256:`). */
export function assertDigest(data: Buffer, digest: string, what: string): void {
  const want = digest.replace(/^sha256:/, '').toLowerCase();
  const got = createHash('sha256').update(data).digest('hex');
  if (got !== want) throw new HelmRepoError(`${what}: the archive's sha256 ${got} is not the digest ${want}`);
}

/** `<cacheDir>/helm/charts/<sha256 of the key parts>.tgz`. */
export function archivePath(cacheDir: string, key: string[]): string {
  const name = createHash('sha256').update(JSON.stringify(key)).digest('hex');
  return path.join(path.resolve(cacheDir), 'helm', 'charts', `${name}.tgz`);
}

/** A cached archive no app used for this long is deleted when another archive is written, in ms. */
export const ARCHIVE_IDLE_MS = 7 * 24 * 60 * 60_000;

/**
 * True when the archive is on disk; marks it used now (its mtime), so the sweep keeps it.
 * @param file - from {@link archivePath}.
 */
export async function cachedArchive(file: string): Promise<boolean> {
  const now = new Date();
  return fs.promises.utimes(file, now, now).then(
    () => true,
    () => false,
  );
}

/** Deletes archives of `dir` unused for {@link ARCHIVE_IDLE_MS} (best effort: errors are ignored). */
async function sweepArchives(dir: string, now = Date.now()): Promise<void> {
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const stat = await fs.promises.stat(file).catch(() => undefined);
    if (stat && now - stat.mtimeMs > ARCHIVE_IDLE_MS) await fs.promises.rm(file, { force: true });
  }
}

/**
 * Writes an archive atomically (temp file, then rename), so a reader never sees half of one, and sweeps
 * archives unused for a week, so the cache does not grow with every version ever rendered.
 */
export async function writeArchive(file: string, data: Buffer): Promise<string> {
  await sweepArchives(path.dirname(file));
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.promises.writeFile(tmp, data, { mode: 0o600 });
  await fs.promises.rename(tmp, file);
  return file;
}
