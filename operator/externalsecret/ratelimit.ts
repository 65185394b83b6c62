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
}

/** Default requests a second per store. */
export const DEFAULT_STORE_RATE = 10;
/** Buckets kept before idle ones are forgotten. */
const MAX_BUCKETS = 1000;

/** One token bucket per store key (`SecretStore/ns/name`, `ClusterSecretStore//name`). */
export class StoreRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rate: number;
  private readonly burst: number;

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
  }

  /** Reserves a request on `storeKey` and returns the wait in ms (see {@link TokenBucket.reserve}). */
  reserve(storeKey: string): number {
    let bucket = this.buckets.get(storeKey);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.evictIdle();
      bucket = new TokenBucket(this.rate, this.burst, this.now);
      this.buckets.set(storeKey, bucket);
    }
    return bucket.reserve();
  }

  /** Waits for a request slot on `storeKey`. */
  async wait(storeKey: string): Promise<void> {
    const ms = this.reserve(storeKey);
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
