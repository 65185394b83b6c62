/**
 * An informer: a list-then-watch mirror of one resource type, filtered by a label selector, that keeps
 * the objects in memory and reports every change. Resumes a dropped watch from the last
 * resourceVersion (bookmarks keep it fresh) and re-lists when the server answers 410 Gone, as
 * client-go's reflector does.
 */
import { KubeClient, WatchEvent } from './client';
import { ResourceType, resourcePath } from './discovery';
import { KubeObject } from './object';

/** What changed: an object appeared or changed (`upsert`) or went away (`delete`). */
export type InformerEventType = 'upsert' | 'delete';

/** Called for each change after the initial list. */
export type InformerHandler = (type: InformerEventType, obj: KubeObject, rt: ResourceType) => void;

interface ObjectList {
  metadata: { resourceVersion: string };
  items: KubeObject[];
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Options of an {@link Informer}. */
export interface InformerOptions {
  /** Reports watch failures that are retried. */
  onError?: (err: unknown) => void;
  /** Mirror one namespace only (default: all namespaces). */
  namespace?: string;
}

/** A label-filtered mirror of one resource type. */
export class Informer {
  private readonly store = new Map<string, KubeObject>();
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private ready?: Promise<void>;

  /**
   * @param client - API client.
   * @param rt - the resource type to mirror.
   * @param labelSelector - e.g. `capstan.dev/managed=true`; empty for every object.
   * @param onChange - change handler (not called for the initial list).
   * @param opts - namespace (default all) and the watch-failure reporter.
   */
  constructor(
    private readonly client: KubeClient,
    readonly rt: ResourceType,
    private readonly labelSelector: string,
    private readonly onChange: InformerHandler,
    private readonly opts: InformerOptions = {},
  ) {}

  /** Lists once and starts the watch loop. Resolves after the initial list. */
  start(): Promise<void> {
    if (!this.ready) {
      this.ready = this.relist(false).then(() => {
        void this.loop();
      });
      this.ready.catch(() => (this.ready = undefined));
    }
    return this.ready;
  }

  /** Stops the watch. */
  stop(): void {
    this.abort.abort();
  }

  /** The cached object, if any. */
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(objectKey(this.rt.namespaced ? namespace : undefined, name));
  }

  /** Every cached object. */
  list(): KubeObject[] {
    return [...this.store.values()];
  }

  private async relist(emit: boolean): Promise<void> {
    const res = await this.client.request<ObjectList>('GET', resourcePath(this.rt, this.opts.namespace), {
      query: { labelSelector: this.labelSelector || undefined },
    });
    const seen = new Set<string>();
    for (const item of res.items) {
      item.apiVersion = this.rt.group ? `${this.rt.group}/${this.rt.version}` : this.rt.version;
      item.kind = this.rt.kind;
      const key = objectKey(item.metadata.namespace, item.metadata.name ?? '');
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, item);
      if (emit && old?.metadata.resourceVersion !== item.metadata.resourceVersion)
        this.onChange('upsert', item, this.rt);
    }
    for (const [key, obj] of this.store) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      if (emit) this.onChange('delete', obj, this.rt);
    }
    this.resourceVersion = res.metadata.resourceVersion;
  }

  private async loop(): Promise<void> {
    let delay = 500;
    while (!this.abort.signal.aborted) {
      try {
        const gone = await this.watchOnce();
        if (gone) await this.relist(true);
        delay = 500;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.opts.onError?.(err);
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 30_000);
        await this.relist(true).catch((e: unknown) => this.opts.onError?.(e));
      }
    }
  }

  /** Watches until the stream ends; returns true when the resourceVersion is too old (410 Gone). */
  private async watchOnce(): Promise<boolean> {
    let gone = false;
    await this.client.watch<KubeObject>(
      resourcePath(this.rt, this.opts.namespace),
      {
        labelSelector: this.labelSelector || undefined,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 300 + Math.floor(Math.random() * 60),
      },
      (e) => {
        if (this.handle(e)) gone = true;
      },
      this.abort.signal,
    );
    return gone;
  }

  private handle(e: WatchEvent<KubeObject>): boolean {
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number };
      return status.code === 410;
    }
    this.resourceVersion = e.object.metadata.resourceVersion ?? this.resourceVersion;
    if (e.type === 'BOOKMARK') return false;
    const obj = e.object;
    obj.apiVersion = this.rt.group ? `${this.rt.group}/${this.rt.version}` : this.rt.version;
    obj.kind = this.rt.kind;
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
    if (e.type === 'DELETED') {
      this.store.delete(key);
      this.onChange('delete', obj, this.rt);
    } else {
      this.store.set(key, obj);
      this.onChange('upsert', obj, this.rt);
    }
    return false;
  }
}
