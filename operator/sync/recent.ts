/**
 * What capstan's own sync wrote a moment ago, until the live cache (kube/livecache.ts) has seen it.
 *
 * The live cache holds only objects carrying capstan's managed label, so an object the sync has just
 * created reaches it one watch event later. The comparison right after a sync (the status of the same
 * reconcile) reads this record first, instead of a GET per object (issue 10 §2: those GETs were about 5
 * of the 18 requests of a cold sync of a 5-object app), and a pruned object is not reported as a prune
 * candidate again while the cache still holds its last version.
 *
 * An entry is dropped as soon as the cache holds the same or a newer version (resourceVersion compared
 * as a number, as etcd issues them; a non-numeric one counts as newer in the cache), or after
 * {@link RECENT_TTL_MS}. Memory only, bounded by {@link RECENT_MAX}.
 */
import type { ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';

/** How long a written object is remembered at most, in ms (the watch normally delivers within ms). */
export const RECENT_TTL_MS = 15_000;
/** Entries kept at most (the oldest go first). */
export const RECENT_MAX = 20_000;

interface Entry {
  /** The object as the API server answered the write; null when capstan deleted it. */
  obj: KubeObject | null;
  at: number;
}

/**
 * Compares two resourceVersions.
 * @returns true when `a` is known to be older than `b` (both numeric, as etcd's revisions are).
 */
export function olderVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** The objects capstan wrote or deleted recently, by resource type, namespace and name. */
export class RecentWrites {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = RECENT_TTL_MS,
    private readonly max = RECENT_MAX,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the object an apply, create or replace stored (the API server's answer). */
  stored(rt: ResourceType, obj: KubeObject): void {
    this.put(key(rt, obj.metadata.namespace, obj.metadata.name ?? ''), obj);
  }

  /** Records that capstan deleted (or found gone) an object. */
  deleted(rt: ResourceType, namespace: string | undefined, name: string): void {
    this.put(key(rt, namespace, name), null);
  }

  /**
   * The newest known state of an object: the cached one unless a write of capstan is newer.
   * @param cached - what the live cache holds (undefined: not there).
   * @returns the object, or undefined when it is not there (never created, or deleted by capstan).
   */
  resolve(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    cached: KubeObject | undefined,
  ): KubeObject | undefined {
    const k = key(rt, namespace, name);
    const e = this.entries.get(k);
    if (!e) return cached;
    if (this.now() - e.at > this.ttlMs) {
      this.entries.delete(k);
      return cached;
    }
    if (e.obj === null) {
      // Deleted by capstan: a cached version still without a deletion mark is the one before the delete.
      if (cached?.metadata.deletionTimestamp) {
        this.entries.delete(k);
        return cached;
      }
      return undefined;
    }
    if (!cached) return e.obj;
    // Another uid: the cache still holds the object capstan replaced (Replace=true with Force=true).
    if (cached.metadata.uid !== e.obj.metadata.uid) return e.obj;
    if (olderVersion(cached.metadata.resourceVersion, e.obj.metadata.resourceVersion)) return e.obj;
    // The cache has caught up (or holds another write since): it is the truth from now on.
    this.entries.delete(k);
    return cached;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  private put(k: string, obj: KubeObject | null): void {
    this.entries.delete(k);
    if (this.entries.size >= this.max) {
      const now = this.now();
      for (const [old, e] of this.entries) {
        if (this.entries.size < this.max && now - e.at <= this.ttlMs) break;
        this.entries.delete(old);
      }
    }
    this.entries.set(k, { obj, at: this.now() });
  }
}

function key(rt: ResourceType, namespace: string | undefined, name: string): string {
  return `${rt.group}/${rt.plural}/${rt.namespaced ? (namespace ?? '') : ''}/${name}`;
}

/** The process's record, written by the sync (sync.ts) and read by the Application comparison. */
export const recentWrites = new RecentWrites();
