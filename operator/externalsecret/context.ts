/**
 * What the ExternalSecret family's reconciles share: the API client, the logger, the per-store rate
 * limiter, the retry gate, the reverse reference index and the settings. One context serves the three
 * operators of a process, so that a store's rate limit holds across all of them.
 */
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { DEFAULT_PROVIDER_LIMITS, type ProviderLimits } from '../providers/netpolicy';
import { StoreRateLimiter } from './ratelimit';
import { createReadCache, type ReadCache } from './cache';
import { ProviderReadCache } from './readcache';
import { ReferenceIndex } from './refs';
import { DEFAULT_JITTER_FRACTION, DEFAULT_REFRESH_INTERVAL_MS, RETRY_BASE_MS, RETRY_MAX_MS } from './refresh';

/** ESO's default store re-validation interval: 5 minutes. */
export const DEFAULT_STORE_REFRESH_INTERVAL_MS = 300_000;

/** Tunables of the ExternalSecret family. */
export interface ExternalSecretSettings {
  /** defaultRefreshIntervalMs - an ExternalSecret's refreshInterval when unset (1 h). */
  defaultRefreshIntervalMs: number;
  /** storeRefreshIntervalMs - a store's re-validation interval when its refreshInterval is unset (5 min). */
  storeRefreshIntervalMs: number;
  /** jitterFraction - share of the refresh interval added at random to each refresh (0.1). */
  jitterFraction: number;
  /** retryBaseMs - first retry delay after a failure (1 s; the work queues' backoff). */
  retryBaseMs: number;
  /** retryMaxMs - longest retry delay (5 min; the refresh interval bounds it further). */
  retryMaxMs: number;
  /** storeRatePerSecond - provider requests a second per store (10; 0: unlimited). */
  storeRatePerSecond: number;
  /** providerLimits - network policy, deadlines and response cap of provider calls (see providers/netpolicy.ts). */
  providerLimits: ProviderLimits;
  /**
   * readShareMs - how long a provider read is shared with ExternalSecrets asking for the same key of the
   * same store (readcache.ts; 2 s): one call for a refresh burst, and at most 2 s of staleness. 0: only reads in flight are joined.
   */
  readShareMs: number;
  /**
   * allowGenericTargets - `--unsafe-allow-generic-targets`: `spec.target.manifest` may name another kind
   * than Secret (manifest.ts). Default false, as ESO.
   */
  allowGenericTargets?: boolean;
  /**
   * watchNamespaces - `--watch-namespaces` (kube/scope.ts): ExternalSecrets, SecretStores and their
   * Secrets are watched in these namespaces only, ClusterSecretStores not at all (ESO's
   * `scopedNamespace`). Empty or unset: cluster-wide.
   */
  watchNamespaces?: readonly string[];
}

/** The defaults of {@link ExternalSecretSettings}. */
export const DEFAULT_SETTINGS: ExternalSecretSettings = {
  defaultRefreshIntervalMs: DEFAULT_REFRESH_INTERVAL_MS,
  storeRefreshIntervalMs: DEFAULT_STORE_REFRESH_INTERVAL_MS,
  jitterFraction: DEFAULT_JITTER_FRACTION,
  retryBaseMs: RETRY_BASE_MS,
  retryMaxMs: RETRY_MAX_MS,
  storeRatePerSecond: 10,
  providerLimits: DEFAULT_PROVIDER_LIMITS,
  readShareMs: 2_000,
};

/** The shared state of the ExternalSecret, SecretStore and ClusterSecretStore operators. */
export interface ExternalSecretContext {
  /** client - the operator's API client (never used to read remote secrets: see providers/). */
  client: KubeClient;
  /** log - logger; lines carry names and key names only. */
  log: Logger;
  /** settings - tunables. */
  settings: ExternalSecretSettings;
  /** limiter - one token bucket per store. */
  limiter: StoreRateLimiter;
  /** reads - provider reads shared within a refresh burst (single-flight, memory only). */
  reads: ProviderReadCache;
  /** refs - target Secret and store -> ExternalSecrets. */
  refs: ReferenceIndex;
  /**
   * cache - watched ExternalSecrets and stores, and the versions of capstan's Secret writes (cache.ts):
   * what a reconcile reads without a GET. Unset (partial contexts of unit tests): every read is a GET.
   */
  cache?: ReadCache;
  /** now - clock (epoch ms). */
  now: () => number;
  /** random - uniform [0, 1) source for jitter. */
  random: () => number;
}

/**
 * Builds a context.
 * @param settings - overrides of {@link DEFAULT_SETTINGS}.
 */
export function createContext(
  client: KubeClient,
  log: Logger,
  settings: Partial<ExternalSecretSettings> = {},
): ExternalSecretContext {
  const s = { ...DEFAULT_SETTINGS, ...settings };
  return {
    client,
    log,
    settings: s,
    limiter: new StoreRateLimiter({ ratePerSecond: s.storeRatePerSecond }),
    reads: new ProviderReadCache({ ttlMs: s.readShareMs }),
    refs: new ReferenceIndex(),
    cache: createReadCache(),
    now: Date.now,
    random: Math.random,
  };
}
