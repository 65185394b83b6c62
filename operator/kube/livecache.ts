/**
 * The live state of everything capstan manages: one label-filtered informer per resource type,
 * started on demand the first time an Application renders or records that type. Memory holds only
 * capstan-managed objects, and drift is seen as soon as the API server streams the change.
 */
import { KubeClient } from './client';
import { ResourceType } from './discovery';
import { Informer, InformerHandler } from './informer';
import { KubeObject } from './object';

/** A cache of live managed objects across resource types. */
export class LiveCache {
  private readonly informers = new Map<string, Informer>();
  private readonly handlers: InformerHandler[] = [];

  /**
   * @param client - API client.
   * @param labelSelector - selects the managed objects (capstan's tracking label).
   * @param onError - reports retried watch failures.
   */
  constructor(
    private readonly client: KubeClient,
    private readonly labelSelector: string,
    private readonly onError: (rt: ResourceType, err: unknown) => void = () => undefined,
  ) {}

  /** Registers a change handler for every resource type. */
  onChange(handler: InformerHandler): void {
    this.handlers.push(handler);
  }

  /** Starts (once) and waits for the informer of a resource type; one per group and plural. */
  async ensure(rt: ResourceType): Promise<Informer> {
    const key = `${rt.group}/${rt.plural}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer(
        this.client,
        rt,
        this.labelSelector,
        (type, obj, r) => this.handlers.forEach((h) => h(type, obj, r)),
        { onError: (err) => this.onError(rt, err) },
      );
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

  /** The live object, from the cache (the informer is started if needed). */
  async get(rt: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    return (await this.ensure(rt)).get(namespace, name);
  }

  /** All managed objects of the types whose informers run. */
  all(): Array<{ rt: ResourceType; obj: KubeObject }> {
    const out: Array<{ rt: ResourceType; obj: KubeObject }> = [];
    for (const inf of this.informers.values()) for (const obj of inf.list()) out.push({ rt: inf.rt, obj });
    return out;
  }

  /** Stops every informer. */
  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
    this.informers.clear();
  }
}
