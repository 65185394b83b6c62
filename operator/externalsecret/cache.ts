/**
 * What the ExternalSecret reconcile reads from memory instead of the API server (issue 10 §2 P7), as
 * ESO's controller-runtime cache does:
 *
 * - the ExternalSecrets and stores the operator already watches (full objects: small, no secret data),
 *   refreshed by every watch event and by capstan's own status writes (the answer of the PATCH), so a
 *   reconcile costs no GET of its ExternalSecret and none of its store;
 * - the resourceVersion capstan's last write left on each target Secret: when the metadata-only Secret
 *   informer still shows that version, the Secret is exactly what capstan wrote (no GET to check its data
 *   hash), and the informer event of that write is capstan's own (no second reconcile).
 *
 * A miss always falls back to a GET: the cache only saves requests, it never decides that something
 * exists. Memory only; values are API objects and version strings, never secret data.
 */
import type { KubeObject } from '../kube/object';

/** `namespace/name` (or `/name` for cluster-scoped objects). */
function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * True when resourceVersion `a` is older than `b`. resourceVersions are opaque to clients, but the API
 * server serves etcd revisions (decimal integers); anything else is never called older, so the newest
 * object seen wins.
 */
export function olderVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length === b.length ? a < b : a.length < b.length;
}

/** Objects of one kind by `namespace/name`, never replaced by an older resourceVersion. */
export class ObjectCache<
  T extends { metadata: { name?: string; namespace?: string; resourceVersion?: string } },
> {
  private readonly objects = new Map<string, T>();

  /** Keeps `obj` unless the cache holds a newer version of it (a watch event behind capstan's own write). */
  put(obj: T): void {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? '');
    const held = this.objects.get(key);
    if (held && olderVersion(obj.metadata.resourceVersion, held.metadata.resourceVersion)) return;
    this.objects.set(key, obj);
  }

  /** The cached object, if any. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(keyOf(namespace, name));
  }

  /** Forgets an object (deleted). */
  delete(namespace: string | undefined, name: string): void {
    this.objects.delete(keyOf(namespace, name));
  }

  /** Objects held (tests). */
  get size(): number {
    return this.objects.size;
  }
}

/**
 * The resourceVersion of capstan's last write of each target, by `namespace/name`. The watch event of a
 * write can arrive before the write's answer: while a write is in flight ({@link begin} .. {@link end})
 * events of its object are held, and {@link end} tells whether one of them was not capstan's.
 */
export class WrittenVersions {
  private readonly versions = new Map<string, string>();
  /** Writes in flight -> the resourceVersions of the events held meanwhile. */
  private readonly inFlight = new Map<string, string[]>();

  /** Records the version a write of `namespace/name` left. */
  set(namespace: string, name: string, resourceVersion: string | undefined): void {
    if (resourceVersion) this.versions.set(keyOf(namespace, name), resourceVersion);
    else this.versions.delete(keyOf(namespace, name));
  }

  /** A write of `namespace/name` starts: its events are held until {@link end}. */
  begin(namespace: string, name: string): void {
    // two writers of one Secret (Merge) share the list: at worst an extra reconcile, never a lost event
    const key = keyOf(namespace, name);
    if (!this.inFlight.has(key)) this.inFlight.set(key, []);
  }

  /** True (and the event is held) when a write of the object is in flight. */
  hold(obj: KubeObject): boolean {
    const held = this.inFlight.get(keyOf(obj.metadata.namespace, obj.metadata.name ?? ''));
    if (!held) return false;
    held.push(obj.metadata.resourceVersion ?? '');
    return true;
  }

  /**
   * The write ended; records the last version it left (undefined: it failed).
   * @param written - every version the write left (an apply, then a patch removing keys).
   * @returns true when an event held meanwhile was of another version: someone else's change.
   */
  end(namespace: string, name: string, written: Array<string | undefined>): boolean {
    const key = keyOf(namespace, name);
    const held = this.inFlight.get(key) ?? [];
    this.inFlight.delete(key);
    const last = written[written.length - 1];
    this.set(namespace, name, last);
    return held.some((rv) => !written.includes(rv));
  }

  /** True when `obj` is the very version capstan's last write of it left. */
  isOwnWrite(obj: KubeObject | undefined): boolean {
    if (!obj?.metadata.resourceVersion) return false;
    const v = this.versions.get(keyOf(obj.metadata.namespace, obj.metadata.name ?? ''));
    return v === obj.metadata.resourceVersion;
  }

  /** Forgets `namespace/name` (deleted). */
  delete(namespace: string, name: string): void {
    this.versions.delete(keyOf(namespace, name));
  }

  /** Called with `namespace/name` when {@link end} finds a held event that was not capstan's. */
  onForeignChange?: (namespace: string, name: string) => void;
}

/** Looks up a target Secret's metadata in the operator's managed-Secret informer. */
export interface TargetIndex {
  /** The informer's copy of the Secret's metadata; undefined when the informer has none. */
  get(namespace: string, name: string): KubeObject | undefined;
}

/** The in-memory state of {@link ExternalSecretContext.cache}. */
export interface ReadCache {
  /** externalSecrets - the watch's ExternalSecrets, plus capstan's status writes. */
  externalSecrets: ObjectCache<KubeObject>;
  /** stores - the watch's SecretStores and ClusterSecretStores, keyed by kind. */
  stores: Map<string, ObjectCache<KubeObject>>;
  /** written - the versions capstan's Secret writes left. */
  written: WrittenVersions;
  /**
   * targets - the managed-Secret informer, once it has listed (set by the ExternalSecret operator);
   * unset: every target Secret is read with a GET.
   */
  targets?: TargetIndex;
}

/** An empty {@link ReadCache}. */
export function createReadCache(): ReadCache {
  return {
    externalSecrets: new ObjectCache(),
    stores: new Map([
      ['SecretStore', new ObjectCache()],
      ['ClusterSecretStore', new ObjectCache()],
    ]),
    written: new WrittenVersions(),
  };
}
