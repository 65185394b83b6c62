/**
 * When an ExternalSecret fetches again: ESO's `shouldRefresh` and `getRequeueResult`, plus the two
 * things capstan adds so that many ExternalSecrets do not hit a provider at once: jitter on the
 * periodic refresh, and retries with exponential backoff that never wait longer than the refresh interval
 * (the work queue's per-key backoff, runtime/workqueue.ts, capped by the interval: see reconcile.ts).
 *
 * | refreshPolicy | fetches |
 * |---|---|
 * | Periodic (default) | at creation, when spec/labels/annotations change, and every refreshInterval (0: never again) |
 * | OnChange | at creation and when spec/labels/annotations change |
 * | CreatedOnce | once |
 *
 * Whatever the policy, a target Secret that is missing or whose data no longer matches its hash is
 * written again (the reconcile checks that, see `policies.ts`). All functions are pure.
 */
import type { ExternalSecret } from '../../generated/externalsecret';
import { parseGoDuration } from '../common/goduration';
import { metadataHash } from './hash';

/** ESO's default refreshInterval (the CRD default, which capstan's CRD leaves out): 1 hour. */
export const DEFAULT_REFRESH_INTERVAL_MS = 3_600_000;
/** Share of the interval added at random to each periodic refresh (0.1: up to 10 %). */
export const DEFAULT_JITTER_FRACTION = 0.1;
/** First retry delay after a failure. */
export const RETRY_BASE_MS = 1000;
/** Longest retry delay, whatever the refresh interval. */
export const RETRY_MAX_MS = 300_000;

/**
 * `spec.refreshInterval` in ms; unset (or unparsable: the spec check reports it) means `defaultMs`.
 * @param defaultMs - the operator's default (1 h).
 */
export function refreshIntervalMs(es: ExternalSecret, defaultMs = DEFAULT_REFRESH_INTERVAL_MS): number {
  const text = es.spec.refreshInterval;
  if (text === undefined || text === '') return defaultMs;
  const ms = parseGoDuration(text);
  return ms === undefined ? defaultMs : Math.max(0, ms);
}

/**
 * ESO's `syncedResourceVersion`: `<generation>-<hash of labels and annotations>`. A change of either
 * (not of status) makes the ExternalSecret fetch again.
 */
export function syncedResourceVersion(es: ExternalSecret): string {
  return `${es.metadata.generation ?? 0}-${metadataHash(es.metadata.labels, es.metadata.annotations)}`;
}

/**
 * Whether the refresh policy asks for a fetch now (the target Secret's state is checked separately).
 * @param now - epoch ms.
 * @param defaultMs - default refresh interval.
 */
export function shouldRefresh(
  es: ExternalSecret,
  now: number,
  defaultMs = DEFAULT_REFRESH_INTERVAL_MS,
): boolean {
  const synced = es.status?.syncedResourceVersion;
  const refreshed = Date.parse(es.status?.refreshTime ?? '');
  if (!synced || Number.isNaN(refreshed)) return true;
  const changed = synced !== syncedResourceVersion(es);
  switch (es.spec.refreshPolicy ?? 'Periodic') {
    case 'CreatedOnce':
      return false;
    case 'OnChange':
      return changed;
    default: {
      if (changed) return true;
      const interval = refreshIntervalMs(es, defaultMs);
      if (interval <= 0) return false;
      return refreshed > now || refreshed + interval <= now;
    }
  }
}

/**
 * Random jitter added to a periodic refresh: up to `fraction` of the interval, so ExternalSecrets
 * created together (a Helm install of hundreds) spread their refreshes instead of fetching in lock-step.
 * @param random - a uniform [0, 1) source (injectable for tests).
 */
export function jitterMs(
  intervalMs: number,
  random: () => number = Math.random,
  fraction = DEFAULT_JITTER_FRACTION,
): number {
  return Math.floor(Math.max(0, intervalMs) * fraction * random());
}

/**
 * When to look at the ExternalSecret again after a successful (or skipped) refresh: the time left
 * until its next periodic refresh plus jitter; undefined when nothing periodic is due (OnChange,
 * CreatedOnce, refreshInterval 0).
 */
export function nextRefreshDelay(
  es: ExternalSecret,
  now: number,
  opts: { defaultMs?: number; random?: () => number; jitterFraction?: number } = {},
): number | undefined {
  const policy = es.spec.refreshPolicy ?? 'Periodic';
  const interval = refreshIntervalMs(es, opts.defaultMs);
  if (policy !== 'Periodic' || interval <= 0) return undefined;
  const refreshed = Date.parse(es.status?.refreshTime ?? '');
  const left = Number.isNaN(refreshed) || refreshed > now ? interval : refreshed + interval - now;
  return Math.max(0, left) + jitterMs(interval, opts.random, opts.jitterFraction);
}
