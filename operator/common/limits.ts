/**
 * Resource ceilings: every input an app author controls (rendered manifests, repository checkouts) has a
 * bound in bytes or count, set by a flag, so that one app cannot exhaust the memory or disk every other app
 * shares. Hitting a ceiling is an error on that app only (a `ComparisonError`, as Argo CD reports a
 * manifest generation failure), whose message names the ceiling and the flag that raises it.
 *
 * Defaults, and why:
 * - `--max-manifest-bytes` 32 MiB per app: the largest common charts render 2 to 5 MB (kube-prometheus-stack
 *   with its CRDs about 4 MB); Argo CD caps a Directory app's combined manifests at 10 MB
 *   (`reposerver.max.combined.directory.manifests.size`). Parsed into JavaScript objects, manifests take
 *   roughly 3 to 6 times their text size, so 32 MiB keeps one app's worst case near 200 MB, inside the
 *   chart's 1 GiB memory limit while other apps render too.
 * - `--max-objects` 10 000 per app: Argo CD documents apps of a few thousand resources as already slow to
 *   compare and sync; each object costs a dry-run apply and an entry in every cache.
 * - `--max-repo-bytes` 512 MiB and `--max-repo-files` 100 000 per checkout: typical GitOps repositories are
 *   a few MB with hundreds of files; a large monorepo is below both. A snapshot is written to the cache
 *   volume per commit, so the byte ceiling bounds the disk one push can take.
 * - `--render-cache-bytes` 64 MiB (estimated, see {@link estimateBytes}): the typical app renders 10 to 100
 *   KB, so the cache holds a thousand apps; a miss only costs a re-render.
 * - `--repo-cache-idle` 1 hour: a repository no app resolved for that long (30 refresh intervals at the
 *   default 120 s) is removed from the disk cache; a later use clones it again.
 */

/** One ceiling's identity, for messages: the flag that sets it and what it counts. */
export interface CeilingName {
  /** The command-line flag, `--max-manifest-bytes`. */
  flag: string;
  /** `bytes` values are printed as KiB/MiB/GiB; the others as plain counts of that unit. */
  unit: 'bytes' | 'objects' | 'files';
  /** What the bytes are of, for messages: `of manifests`. */
  of?: string;
}

/** The ceilings capstan enforces, by name. */
export const CEILINGS = {
  manifestBytes: { flag: '--max-manifest-bytes', unit: 'bytes', of: 'of manifests' },
  objects: { flag: '--max-objects', unit: 'objects' },
  repoBytes: { flag: '--max-repo-bytes', unit: 'bytes', of: 'of files' },
  repoFiles: { flag: '--max-repo-files', unit: 'files' },
} as const satisfies Record<string, CeilingName>;

const MiB = 1024 * 1024;

/** Default rendered manifest bytes per app (sum over its sources): 32 MiB. */
export const DEFAULT_MAX_MANIFEST_BYTES = 32 * MiB;
/** Default rendered objects per app (sum over its sources, hooks included): 10 000. */
export const DEFAULT_MAX_OBJECTS = 10_000;
/** Default bytes of one repository checkout (the blobs of one commit's tree): 512 MiB. */
export const DEFAULT_MAX_REPO_BYTES = 512 * MiB;
/** Default files (blobs and symlinks) of one repository checkout: 100 000. */
export const DEFAULT_MAX_REPO_FILES = 100_000;
/** Default estimated bytes of cached renders: 64 MiB. */
export const DEFAULT_RENDER_CACHE_BYTES = 64 * MiB;
/** Default time after which an unused repository is removed from the clone cache: 1 hour, in ms. */
export const DEFAULT_REPO_CACHE_IDLE_MS = 60 * 60_000;

/** The per-app rendering ceilings handed to the renderers. */
export interface RenderLimits {
  /** Rendered manifest bytes (tool stdout, or the sum of file sizes of a Directory source). */
  maxBytes: number;
  /** Rendered objects, after Lists are flattened. */
  maxObjects: number;
}

/** The default rendering ceilings. */
export const DEFAULT_RENDER_LIMITS: Readonly<RenderLimits> = {
  maxBytes: DEFAULT_MAX_MANIFEST_BYTES,
  maxObjects: DEFAULT_MAX_OBJECTS,
};

/** The repository checkout ceilings of the git cache. */
export interface CheckoutLimits {
  /** Sum of the sizes of the blobs written, in bytes. */
  maxBytes: number;
  /** Number of files and symlinks written. */
  maxFiles: number;
}

/**
 * Formats an amount for a message: bytes as `512 B`, `1.5 KiB`, `32 MiB`, `1 GiB`; counts as `10000 objects`.
 * @param value - the amount (bytes for `unit: 'bytes'`).
 */
export function formatAmount(value: number, unit: CeilingName['unit']): string {
  if (unit !== 'bytes') return `${value} ${unit}`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}

/**
 * The sentence of an error for a ceiling that was hit: what exceeded it, the ceiling, and the flag.
 * @param what - the subject, `helm template of "charts/big" produced`, `the checkout of <url> at <sha> has`.
 * @param ceiling - which ceiling.
 * @param limit - its value (bytes or a count).
 * @returns e.g. `helm template of "big" produced more than 32 MiB of manifests (the limit set by
 *   --max-manifest-bytes)`.
 */
export function ceilingMessage(what: string, ceiling: CeilingName, limit: number): string {
  const of = ceiling.of ? ` ${ceiling.of}` : '';
  return `${what} more than ${formatAmount(limit, ceiling.unit)}${of} (the limit set by ${ceiling.flag}; an operator can raise it)`;
}

/**
 * A cheap estimate of the memory a JSON-like value holds, in bytes: its JSON text length (strings as their
 * length, numbers as 8, keys included), without building the JSON string. Used to size cached renders.
 * @param value - plain data (objects, arrays, strings, numbers, booleans, null).
 */
export function estimateBytes(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') total += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean') total += 8;
    else if (v === null || v === undefined) total += 4;
    else if (Array.isArray(v)) {
      total += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        total += k.length + 4;
        stack.push(item);
      }
      total += 2;
    }
  }
  return total;
}

/**
 * Parses a byte amount of a flag: a plain number of bytes, or a number with a binary or decimal suffix as
 * Kubernetes quantities (`64Mi`, `1Gi`, `500M`, `10k`).
 * @param flag - the flag's name for the error, `--max-manifest-bytes`.
 * @param text - the value.
 * @returns bytes (an integer).
 * @throws Error `--max-manifest-bytes must be a byte amount such as 33554432 or 32Mi, got "x"`.
 */
export function parseByteAmount(flag: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?B?\s*$/.exec(text);
  if (!match) throw new Error(`${flag} must be a byte amount such as 33554432 or 32Mi, got "${text}"`);
  const factors: Record<string, number> = {
    Ki: 1024,
    Mi: MiB,
    Gi: 1024 * MiB,
    Ti: 1024 * 1024 * MiB,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.floor(Number(match[1]) * (match[2] ? factors[match[2]] : 1));
}
