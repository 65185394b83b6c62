/**
 * The command-line flags of the resource ceilings (see `limits.ts`), each with an environment variable
 * fallback so the Helm chart can set either. Kept out of `config.ts` so that its parser stays small.
 */
import type { Command } from 'commander';
import {
  DEFAULT_MAX_OBJECTS,
  DEFAULT_MAX_REPO_FILES,
  DEFAULT_REPO_CACHE_IDLE_MS,
  parseByteAmount,
} from './limits';

/** The ceilings as the process configuration holds them. */
export interface CeilingConfig {
  /** Rendered manifest bytes per app (`--max-manifest-bytes`). */
  maxManifestBytes: number;
  /** Rendered objects per app (`--max-objects`). */
  maxObjects: number;
  /** Bytes of one repository checkout (`--max-repo-bytes`). */
  maxRepoBytes: number;
  /** Files and directories of one repository checkout (`--max-repo-files`). */
  maxRepoFiles: number;
  /** Estimated bytes of cached renders (`--render-cache-bytes`). */
  renderCacheBytes: number;
  /** A cached repository unused this long is removed from disk, in ms; 0 keeps every one (`--repo-cache-idle`). */
  repoCacheIdleMs: number;
}

/**
 * Adds the ceiling flags to a command.
 * @param cmd - the commander command of `parseConfig`.
 * @param env - the environment for the fallbacks (`CAPSTAN_MAX_MANIFEST_BYTES`, ...).
 */
export function addCeilingOptions(cmd: Command, env: NodeJS.ProcessEnv): Command {
  return cmd
    .option(
      '--max-manifest-bytes <bytes>',
      'rendered manifest bytes per Application (e.g. 32Mi); more is a ComparisonError',
      env.CAPSTAN_MAX_MANIFEST_BYTES ?? '32Mi',
    )
    .option(
      '--max-objects <n>',
      'rendered objects per Application; more is a ComparisonError',
      env.CAPSTAN_MAX_OBJECTS ?? String(DEFAULT_MAX_OBJECTS),
    )
    .option(
      '--max-repo-bytes <bytes>',
      'bytes of one repository checkout (e.g. 512Mi); more is a ComparisonError',
      env.CAPSTAN_MAX_REPO_BYTES ?? '512Mi',
    )
    .option(
      '--max-repo-files <n>',
      'files and directories of one repository checkout; more is a ComparisonError',
      env.CAPSTAN_MAX_REPO_FILES ?? String(DEFAULT_MAX_REPO_FILES),
    )
    .option(
      '--render-cache-bytes <bytes>',
      'memory for cached renders, estimated (e.g. 64Mi)',
      env.CAPSTAN_RENDER_CACHE_BYTES ?? '64Mi',
    )
    .option(
      '--repo-cache-idle <seconds>',
      'remove a cached repository no Application used for this long (0: never)',
      env.CAPSTAN_REPO_CACHE_IDLE ?? String(DEFAULT_REPO_CACHE_IDLE_MS / 1000),
    );
}

/**
 * Reads the ceiling flags from parsed options.
 * @param o - `cmd.opts()`.
 * @throws Error naming the flag for a malformed value (`--max-objects must be a non-negative integer, got "x"`).
 */
export function ceilingsFromOptions(o: Record<string, string>): CeilingConfig {
  return {
    maxManifestBytes: parseByteAmount('--max-manifest-bytes', o.maxManifestBytes),
    maxObjects: count('--max-objects', o.maxObjects),
    maxRepoBytes: parseByteAmount('--max-repo-bytes', o.maxRepoBytes),
    maxRepoFiles: count('--max-repo-files', o.maxRepoFiles),
    renderCacheBytes: parseByteAmount('--render-cache-bytes', o.renderCacheBytes),
    repoCacheIdleMs: count('--repo-cache-idle', o.repoCacheIdle) * 1000,
  };
}

function count(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || text.trim() === '') {
    throw new Error(`${flag} must be a non-negative integer, got "${text}"`);
  }
  return n;
}
