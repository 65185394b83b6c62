/**
 * A least-recently-used cache bounded by the bytes of its values (as the caller sizes them) and by its
 * number of entries, whichever is hit first. Used for renders, whose size varies from a few KB to tens of
 * MB, so a bound on entries alone bounds nothing.
 */

/** Construction options of {@link ByteLru}. */
export interface ByteLruOptions {
  /** Most bytes of all values together; 0 caches nothing. */
  maxBytes: number;
  /** Most entries (default unlimited). */
  maxEntries?: number;
}

/** An LRU map whose values carry a size in bytes. Not thread-safe (none needed in one event loop). */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  /** Most bytes of all values together; lowering it evicts on the next `set`, or now via {@link resize}. */
  private maxBytes: number;
  private readonly maxEntries: number;

  constructor(opts: ByteLruOptions) {
    this.maxBytes = opts.maxBytes;
    this.maxEntries = opts.maxEntries ?? Infinity;
  }

  /** Sum of the sizes of the cached values, in bytes. */
  get bytes(): number {
    return this.total;
  }

  /** Number of cached values. */
  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, marked as most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Stores a value as the most recently used, evicting the least recently used ones until both bounds hold.
   * A value larger than the whole byte budget is not stored (and the key's old value is dropped).
   * @param bytes - the value's size in bytes (an estimate is fine, e.g. `estimateBytes`).
   * @returns true when the value was stored.
   */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.maxBytes) return false;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    this.evict();
    return true;
  }

  /** Removes a key; no-op when absent. */
  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }

  /** Removes everything. */
  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  /** Changes the byte budget (a flag read after the cache was created) and evicts down to it. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
  }

  /** Drops least recently used entries until both bounds hold. */
  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.total <= this.maxBytes && this.entries.size <= this.maxEntries) return;
      this.delete(key);
    }
  }
}
