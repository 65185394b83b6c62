/**
 * Burst de-duplication of provider reads (issue 10 §2, issue 12 §2): ExternalSecrets that read the
 * same remote key of the same store within a short time share one provider call. When a thousand
 * ExternalSecrets refresh at once (a start, a shared refresh tick) and name the same key, the remote
 * provider sees one request, not a thousand; its rate limit is spent on distinct keys.
 *
 * What it holds: the pending or settled promise of one read, for `ttlMs` after it settled, in process
 * memory only (never written to disk, never logged: keys are store and remote key names, values are
 * never rendered). A failed read is never cached (the next ExternalSecret asks again). The cache is
 * bounded by entry count; the oldest entry goes first.
 *
 * ESO has no equivalent (each ExternalSecret reconcile calls its provider); capstan's addition,
 * documented in README "Where capstan differs from ESO".
 */

/** Options of {@link ProviderReadCache}. */
export interface ReadCacheOptions {
  /** How long a settled read is shared after it settled, in ms; 0 disables sharing of settled reads. */
  ttlMs: number;
  /** Entries held at most (default 10 000); the oldest goes first. */
  maxEntries?: number;
  /** The clock, in ms (default Date.now); tests inject one. */
  now?: () => number;
}

interface Entry {
  value: Promise<unknown>;
  /** When the read settled (ms), undefined while in flight. */
  settledAt?: number;
}

/** A single-flight, short-lived cache of provider reads, keyed by {@link readKey}. */
export class ProviderReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Provider calls made (misses), for tests and the benchmark. */
  calls = 0;
  /** Reads served from a pending or recent call (hits). */
  shared = 0;

  constructor(private readonly opts: ReadCacheOptions) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The result of `fetch` for `key`: a call in flight for the same key is joined, a result that
   * settled less than `ttlMs` ago is reused, otherwise `fetch` runs. Rejections are passed on to every
   * caller that joined the call and then forgotten.
   * @param key - from {@link readKey}.
   * @param fetch - the provider call.
   */
  read<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && (hit.settledAt === undefined || this.now() - hit.settledAt < this.opts.ttlMs)) {
      this.shared++;
      return hit.value as Promise<T>;
    }
    if (hit) this.entries.delete(key);
    this.calls++;
    const entry: Entry = { value: Promise.resolve() };
    const value = fetch().then(
      (v) => {
        entry.settledAt = this.now();
        if (this.opts.ttlMs <= 0 && this.entries.get(key) === entry) this.entries.delete(key);
        return v;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw err;
      },
    );
    entry.value = value;
    this.entries.set(key, entry);
    this.evict();
    return value;
  }

  /** Entries held (in flight or within their ttl, or expired and not yet evicted). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops expired entries, then the oldest while over `maxEntries`. */
  private evict(): void {
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries / 2) break;
      if (e.settledAt !== undefined && now - e.settledAt >= this.opts.ttlMs) this.entries.delete(k);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

/** The store a read goes to, as far as its answer depends on it. */
export interface StoreIdentity {
  kind: 'SecretStore' | 'ClusterSecretStore';
  /** The store's namespace (SecretStore) or undefined (ClusterSecretStore). */
  namespace?: string;
  name: string;
  /** The store object's resourceVersion: a changed store (other credentials) never shares with the old. */
  resourceVersion?: string;
  /** The store's spec.provider, to tell whether its credentials depend on the reader's namespace. */
  provider?: Record<string, unknown>;
}

/**
 * The cache key of one read: the store (kind, namespace, name, resourceVersion), the reading
 * ExternalSecret's namespace when the store's credentials are resolved in it (a ClusterSecretStore
 * with referent authentication, see {@link usesReferentAuth}), the operation and the request.
 * @param op - `get` (data[].remoteRef), `map` (dataFrom.extract) or `find` (dataFrom.find).
 * @param request - the remote ref or find; serialised with sorted keys.
 */
export function readKey(
  store: StoreIdentity,
  readerNamespace: string,
  op: 'get' | 'map' | 'find',
  request: unknown,
): string {
  const scope =
    store.kind === 'SecretStore' || !usesReferentAuth(store.provider) ? '' : `reader=${readerNamespace}`;
  return [
    store.kind,
    store.namespace ?? '',
    store.name,
    store.resourceVersion ?? '',
    scope,
    op,
    stable(request),
  ].join('\u0000');
}

/**
 * Whether a ClusterSecretStore's credentials are read in the namespace of the ExternalSecret using it
 * (ESO's "referent authentication"): some reference under a provider's `auth` (a Secret key selector
 * or a ServiceAccount reference: an object with a `name`) has no `namespace`. Conservative: when in
 * doubt the reads are not shared across namespaces.
 */
export function usesReferentAuth(provider: Record<string, unknown> | undefined): boolean {
  if (!provider) return true;
  const walk = (v: unknown, underAuth: boolean): boolean => {
    if (Array.isArray(v)) return v.some((x) => walk(x, underAuth));
    if (!v || typeof v !== 'object') return false;
    const o = v as Record<string, unknown>;
    if (underAuth && typeof o.name === 'string' && o.namespace === undefined) return true;
    return Object.entries(o).some(([k, x]) => walk(x, underAuth || k === 'auth'));
  };
  return walk(provider, false);
}

/** JSON with object keys sorted, so that equal requests give equal keys. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}
