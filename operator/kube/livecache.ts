/**
 * The live state of everything capstan manages: one label-filtered informer per resource type,
 * started on demand the first time an Application renders or records that type. Memory holds only
 * capstan-managed objects, and drift is seen as soon as the API server streams the change.
 *
 * With `--watch-namespaces` (a tenant install, see scope.ts) a namespaced type gets one informer per
 * listed namespace, so that every list and watch is one a namespaced Role allows; cluster-scoped
 * types are not watched at all (an Application of a scoped install may not render them).
 */
import { FIELD_MANAGER } from './apply';
import { rememberAppliedDigest } from './appliedconfig';
import { KubeClient } from './client';
import { ResourceType } from './discovery';
import { IndexKey, Informer, InformerHandler } from './informer';
import { KubeObject } from './object';
import { inScope, isScoped, watchTargets } from './scope';

/** Options of a {@link LiveCache}. */
export interface LiveCacheOptions {
  /** `--watch-namespaces`: the namespaces to watch; empty or unset: all (one watch per type). */
  watchNamespaces?: readonly string[];
}

/**
 * What the live cache keeps of an object: all of it but capstan's own `managedFields` entry (issue 10 §2
 * P2). That entry lists every field capstan applied, often the largest part of a small object, and no
 * reader needs it: diff normalizes `managedFields` away on both sides, health reads `status`, and
 * `ignoreDifferences[].managedFieldsManagers` reads the entries of the other managers it names
 * (kube-controller-manager, an HPA, kubectl), which are kept. Naming capstan's own manager there
 * (which would ignore every field capstan applies) therefore ignores nothing. What the comparison needs
 * of capstan's entry is kept as a digest beside the object (appliedconfig.ts).
 */
export function liveProjection(obj: KubeObject): KubeObject {
  const entries = obj.metadata.managedFields;
  if (!entries?.length) return obj;
  const kept = entries.filter((e) => (e as { manager?: unknown } | null)?.manager !== FIELD_MANAGER);
  if (kept.length === entries.length) return obj;
  const metadata = { ...obj.metadata };
  if (kept.length) metadata.managedFields = kept;
  else delete metadata.managedFields;
  const projected = { ...obj, metadata };
  // What capstan's apply stored, as a digest: the comparison needs no dry-run when git still says that.
  rememberAppliedDigest(projected, obj, FIELD_MANAGER);
  return projected;
}

/** A cache of live managed objects across resource types. */
export class LiveCache {
  /** Informers by `group/plural` and, when scoped, `/namespace`. */
  private readonly informers = new Map<string, Informer>();
  private readonly handlers: InformerHandler[] = [];
  private indexKey?: IndexKey;

  /**
   * @param client - API client.
   * @param labelSelector - selects the managed objects (capstan's tracking label).
   * @param onError - reports retried watch failures.
   * @param opts - the watched namespaces.
   */
  constructor(
    private readonly client: KubeClient,
    private readonly labelSelector: string,
    private readonly onError: (rt: ResourceType, err: unknown) => void = () => undefined,
    private readonly opts: LiveCacheOptions = {},
  ) {}

  /** Registers a change handler for every resource type. */
  onChange(handler: InformerHandler): void {
    this.handlers.push(handler);
  }

  /**
   * Starts (once) and waits for the informers of a resource type: one per group and plural, or one
   * per watched namespace when scoped. A cluster-scoped type of a scoped cache starts nothing.
   * @throws the first list's KubeApiError (a later call tries again).
   */
  async ensure(rt: ResourceType): Promise<void> {
    if (isScoped(this.opts.watchNamespaces) && !rt.namespaced) return;
    await Promise.all(watchTargets(this.opts.watchNamespaces).map((ns) => this.start(rt, ns)));
  }

  private async start(rt: ResourceType, namespace: string | undefined): Promise<Informer> {
    const key = `${rt.group}/${rt.plural}${namespace === undefined ? '' : `/${namespace}`}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer(
        this.client,
        rt,
        this.labelSelector,
        (type, obj, r) => this.handlers.forEach((h) => h(type, obj, r)),
        { onError: (err) => this.onError(rt, err), namespace, project: liveProjection },
      );
      if (this.indexKey) inf.setIndex(this.indexKey);
      this.informers.set(key, inf);
    }
    try {
      await inf.start();
    } catch (err) {
      this.informers.delete(key);
      throw err;
    }
    return inf;
  }

  /**
   * The live object, from the cache (the informer is started if needed); undefined when it is not
   * managed, or, in a scoped cache, outside the watched namespaces or cluster-scoped.
   */
  async get(rt: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const scoped = isScoped(this.opts.watchNamespaces);
    if (scoped && (!rt.namespaced || !inScope(this.opts.watchNamespaces, namespace))) return undefined;
    return (await this.start(rt, scoped ? namespace : undefined)).get(namespace, name);
  }

  /** All managed objects of the types whose informers run. */
  all(): Array<{ rt: ResourceType; obj: KubeObject }> {
    const out: Array<{ rt: ResourceType; obj: KubeObject }> = [];
    for (const inf of this.informers.values()) for (const obj of inf.list()) out.push({ rt: inf.rt, obj });
    return out;
  }

  /**
   * Indexes every informer's objects by `key` (the running ones now, later ones as they start), for
   * {@link indexed}: the Application operator indexes by tracking id, so that finding an app's objects
   * costs O(its objects) instead of a scan of every managed object per comparison.
   */
  setIndex(key: IndexKey): void {
    this.indexKey = key;
    for (const inf of this.informers.values()) inf.setIndex(key);
  }

  /**
   * The managed objects whose index value ({@link setIndex}) is `value`; every managed object when no
   * index is set (callers filter anyway).
   */
  indexed(value: string): Array<{ rt: ResourceType; obj: KubeObject }> {
    if (!this.indexKey) return this.all();
    const out: Array<{ rt: ResourceType; obj: KubeObject }> = [];
    for (const inf of this.informers.values())
      for (const obj of inf.indexed(value)) out.push({ rt: inf.rt, obj });
    return out;
  }

  /** Stops every informer. */
  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
    this.informers.clear();
  }
}
