/**
 * A token bucket per secret store, so that a refresh storm (10 000 ExternalSecrets created by one Helm
 * install, or all refreshing after a restart) reaches each provider at a bounded rate instead of all
 * at once. Every provider request (getSecret, getSecretMap, getAllSecrets, validate) takes one token.
 *
 * Reservations, as Go's `rate.Limiter.Reserve`: a caller always gets a slot, possibly in the future,
 * and waits until then; the bucket's tokens may go negative, so callers are served in arrival order
 * without polling.
 */

/** A token bucket: `ratePerSecond` tokens a second, holding at most `burst`. */
export class TokenBucket {
  private tokens: number;
  private updated: number;

  /**
   * @param ratePerSecond - refill rate; 0 or less means unlimited.
   * @param burst - bucket size (requests allowed at once after a quiet period), at least 1.
   * @param now - clock in epoch ms (injectable for tests).
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
    this.updated = now();
  }

  /** Reserves one token and returns how many ms the caller must wait before using it (0: now). */
  reserve(): number {
    if (this.ratePerSecond <= 0) return 0;
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  /** True when the bucket is full (idle long enough to be forgotten). */
  get idle(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.updated) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    this.updated = t;
  }
}

/** Options of a {@link StoreRateLimiter}. */
export interface RateLimitOptions {
  /** ratePerSecond - requests a second per store (default 10); 0 turns limiting off. */
  ratePerSecond?: number;
  /** burst - requests at once per store (default: the rate, at least 1). */
  burst?: number;
  /**
   * perProvider - requests a second per store of one provider kind (the key under `spec.provider`), in
   * place of `ratePerSecond`; 0 turns limiting off for that kind. Default {@link DEFAULT_PROVIDER_RATES}.
   */
  perProvider?: Record<string, number>;
}

/**
 * Provider kinds that are not limited by default: they answer from the store object in memory (`fake`)
 * and reach no remote service, so a limit would only slow capstan down (ESO's rate limit protects the
 * remote providers' quotas).
 */
export const DEFAULT_PROVIDER_RATES: Readonly<Record<string, number>> = { fake: 0 };

/** Default requests a second per store. */
export const DEFAULT_STORE_RATE = 10;
/** Buckets kept before idle ones are forgotten. */
const MAX_BUCKETS = 1000;

/**
 * One token bucket per store key (`SecretStore/ns/name`, `ClusterSecretStore//name`), at the rate of the
 * store's provider kind (remote providers only by default: see {@link DEFAULT_PROVIDER_RATES}).
 */
export class StoreRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly perProvider: Record<string, number>;

  /**
   * @param opts - rate and burst per store.
   * @param now - clock (injectable for tests).
   */
  constructor(
    opts: RateLimitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.rate = opts.ratePerSecond ?? DEFAULT_STORE_RATE;
    this.burst = opts.burst ?? Math.max(1, Math.ceil(this.rate));
    this.perProvider = { ...DEFAULT_PROVIDER_RATES, ...opts.perProvider };
  }

  /**
   * Reserves a request on `storeKey` and returns the wait in ms (see {@link TokenBucket.reserve}).
   * @param provider - the store's provider kind (`fake`, `vault`, ...); unknown: the default rate.
   */
  reserve(storeKey: string, provider?: string): number {
    const rate =
      provider !== undefined && provider in this.perProvider ? this.perProvider[provider] : this.rate;
    if (rate <= 0) return 0;
    // A store whose provider kind changed gets a new bucket at its new rate.
    const key = `${storeKey}|${provider ?? ''}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.evictIdle();
      bucket = new TokenBucket(
        rate,
        rate === this.rate ? this.burst : Math.max(1, Math.ceil(rate)),
        this.now,
      );
      this.buckets.set(key, bucket);
    }
    return bucket.reserve();
  }

  /** Waits for a request slot on `storeKey` (of provider kind `provider`). */
  async wait(storeKey: string, provider?: string): Promise<void> {
    const ms = this.reserve(storeKey, provider);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Number of stores tracked (tests). */
  get size(): number {
    return this.buckets.size;
  }

  private evictIdle(): void {
    for (const [k, b] of this.buckets) if (b.idle) this.buckets.delete(k);
  }
}
