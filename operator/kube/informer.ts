/**
 * An informer: a list-then-watch mirror of one resource type, filtered by a label selector, that keeps
 * the objects in memory and reports every change. The list and watch are a {@link WatchLoop}: a
 * dropped watch resumes from the last resourceVersion (bookmarks keep it fresh), failures are retried
 * inside the process with backoff and jitter, and `410 Gone` re-lists, as client-go's reflector does.
 */
import { KubeClient } from './client';
import { ResourceType, resourcePath } from './discovery';
import { KubeObject } from './object';
import { WatchLoop, WatchLoopClient, WatchLoopEvent, WatchLoopOptions } from './watchloop';

/** What changed: an object appeared or changed (`upsert`) or went away (`delete`). */
export type InformerEventType = 'upsert' | 'delete';

/** Called for each change after the initial list. */
export type InformerHandler = (type: InformerEventType, obj: KubeObject, rt: ResourceType) => void;

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
  /**
   * What is kept of each object (and reported to the handler): e.g. {@link metadataOnly}, so that the
   * store holds only what its readers use (issue 10 §2 P2). Default: the whole object.
   */
  project?: (obj: KubeObject) => KubeObject;
  /** Backoff and clock of the list-watch loop (tests). */
  loop?: Pick<WatchLoopOptions, 'baseDelayMs' | 'maxDelayMs' | 'clock' | 'watchTimeoutSeconds'>;
}

/**
 * An object's `apiVersion`, `kind` and `metadata` without `managedFields`: what an informer needs when its
 * readers look only at names, labels, owners and resourceVersions (e.g. the managed Secrets of the
 * ExternalSecret operator, whose `data` must not be held in memory).
 */
export function metadataOnly(obj: KubeObject): KubeObject {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { managedFields, ...metadata } = obj.metadata;
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata };
}

/**
 * A secondary index of an informer's objects: the index value of an object (e.g. the Application that
 * tracks it), or undefined to leave it out.
 */
export type IndexKey = (obj: KubeObject) => string | undefined;

/** A label-filtered mirror of one resource type. */
export class Informer {
  private readonly store = new Map<string, KubeObject>();
  /** Index value -> object key -> object, kept in step with `store` (see {@link setIndex}). */
  private readonly index = new Map<string, Map<string, KubeObject>>();
  private indexKey?: IndexKey;
  private loop?: WatchLoop;
  private ready?: Promise<void>;
  private synced = false;
  private stopped = false;

  /**
   * @param client - API client.
   * @param rt - the resource type to mirror.
   * @param labelSelector - e.g. `capstan.dev/managed=true`; empty for every object.
   * @param onChange - change handler (not called for the initial list).
   * @param opts - namespace (default all) and the watch-failure reporter.
   */
  constructor(
    private readonly client: KubeClient | WatchLoopClient,
    readonly rt: ResourceType,
    private readonly labelSelector: string,
    private readonly onChange: InformerHandler,
    private readonly opts: InformerOptions = {},
  ) {}

  /**
   * Lists once and starts the watch loop. Resolves after the initial list.
   * @throws the initial list's KubeApiError (a later start() tries again); later failures are retried.
   */
  start(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.ready) {
      const loop = new WatchLoop(this.client, {
        ...this.opts.loop,
        path: resourcePath(this.rt, this.opts.namespace),
        apiVersion: this.rt.group ? `${this.rt.group}/${this.rt.version}` : this.rt.version,
        kind: this.rt.kind,
        labelSelector: this.labelSelector,
        onEvent: (e) => this.handle(e),
        onListed: () => (this.synced = true),
        onError: (err) => this.opts.onError?.(err),
        onHandlerError: (err) => this.opts.onError?.(err),
      });
      this.loop = loop;
      this.ready = loop.start(true);
      this.ready.catch(() => (this.ready = undefined));
    }
    return this.ready;
  }

  /** Stops the watch. */
  stop(): void {
    this.stopped = true;
    this.loop?.stop();
  }

  /** The cached object, if any. */
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(objectKey(this.rt.namespaced ? namespace : undefined, name));
  }

  /** Every cached object. */
  list(): KubeObject[] {
    return [...this.store.values()];
  }

  /**
   * Keeps a secondary index of the cached objects by `key` (rebuilt now from what is cached, then kept in
   * step with every change), so that {@link indexed} costs O(objects with that value), not O(all objects).
   */
  setIndex(key: IndexKey): void {
    this.indexKey = key;
    this.index.clear();
    for (const [k, obj] of this.store) this.indexAdd(k, obj);
  }

  /** The cached objects whose index value is `value`; empty without an index. */
  indexed(value: string): KubeObject[] {
    return [...(this.index.get(value)?.values() ?? [])];
  }

  private indexAdd(key: string, obj: KubeObject): void {
    const v = this.indexKey?.(obj);
    if (v === undefined) return;
    let bucket = this.index.get(v);
    if (!bucket) this.index.set(v, (bucket = new Map()));
    bucket.set(key, obj);
  }

  private indexRemove(key: string, obj: KubeObject | undefined): void {
    const v = obj && this.indexKey?.(obj);
    if (v === undefined) return;
    const bucket = this.index.get(v);
    bucket?.delete(key);
    if (bucket?.size === 0) this.index.delete(v);
  }

  /**
   * Mirrors one change. Listed objects whose resourceVersion is unchanged report nothing (a re-list
   * after a failure must not look like a change of every object); the initial list reports nothing.
   */
  private handle(e: WatchLoopEvent): void {
    const obj = this.opts.project ? this.opts.project(e.object) : e.object;
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
    const old = this.store.get(key);
    this.indexRemove(key, old);
    if (e.type === 'DELETED') {
      // A re-list's DELETED names a key we had; a watch's DELETED is reported even if unseen.
      if (!this.store.delete(key) && e.listed) return;
      if (this.synced) this.onChange('delete', old ?? obj, this.rt);
      return;
    }
    this.store.set(key, obj);
    this.indexAdd(key, obj);
    if (!this.synced) return;
    if (e.listed && old?.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.onChange('upsert', obj, this.rt);
  }
}
