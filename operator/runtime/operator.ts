/**
 * The shared base of capstan's operators: each resource type is watched by capstan's own
 * {@link WatchLoop} (list, then watch from the list's resourceVersion with bookmarks; failures retried
 * inside the process with backoff and jitter; 410 Gone re-lists); every event only enqueues a key
 * (`Kind/namespace/name`) into capstan's keyed work queue, which runs the level-based reconcile (see
 * workqueue.ts for why).
 *
 * Why not `@dot-i/k8s-operator`'s `watchResource` any more: it calls `process.exit(1)` on any watch
 * error (an API server restart, a 429 while a fresh CRD's watch cache starts), killing every in-flight
 * sync of the process with it, and it cannot resume from a resourceVersion (a restart replays ADDED
 * for every object). Nothing else of the framework was used (status and finalizer writes go through
 * capstan's KubeClient), so the operators no longer extend its `Operator`; only its event types
 * (`ResourceEvent`, `ResourceEventType`) remain as the handlers' contract, declared in
 * kube/resourceevent.ts (importing the framework loaded all of `@kubernetes/client-node`) and
 * re-exported here.
 */
import { ResourceEvent, ResourceEventType } from '../kube/resourceevent';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Logger } from '../log';
import { KubeClient, LeadershipLostError, loadKubeConfig } from '../kube/client';
import { WatchLoop, WatchLoopEvent } from '../kube/watchloop';
import { EventFilter } from './eventfilter';
import { KeyedWorkQueue, ReconcileResult } from './workqueue';
import { reconcileDuration, reconcileErrors } from './metrics';

export { ResourceEventType };
export type { ResourceEvent };

/** Splits a queue key `Kind/namespace/name` (namespace empty for cluster-scoped). */
export function parseKey(key: string): { kind: string; namespace: string; name: string } {
  const [kind, namespace, ...rest] = key.split('/');
  return { kind, namespace, name: rest.join('/') };
}

/** The collection path of a resource type: `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`. */
export function collectionPath(group: string, version: string, plural: string, namespace?: string): string {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
}

/**
 * Converts a {@link WatchLoop} event to the `ResourceEvent` shape the operators' handlers take
 * (`meta.id` is `<plural>.<apiVersion>` as `@dot-i/k8s-operator` builds it).
 */
export function toResourceEvent(plural: string, e: WatchLoopEvent): ResourceEvent {
  const o = e.object;
  const type =
    e.type === 'DELETED'
      ? ResourceEventType.Deleted
      : e.type === 'MODIFIED'
        ? ResourceEventType.Modified
        : ResourceEventType.Added;
  return {
    type,
    meta: {
      id: `${plural}.${o.apiVersion}`,
      name: o.metadata.name ?? '',
      namespace: o.metadata.namespace,
      resourceVersion: o.metadata.resourceVersion ?? '',
      apiVersion: o.apiVersion,
      kind: o.kind,
    },
    object: o as unknown as KubernetesObject,
  };
}

/** Options of a {@link QueuedOperator}. */
export interface QueuedOperatorOptions {
  /** Name for logs and metrics, e.g. `application`. */
  name: string;
  /** Keys reconciled at once. */
  concurrency: number;
  /** First retry delay after a failed reconcile, in ms (the work queue's default: 1 s). */
  baseDelayMs?: number;
  /** Longest retry delay, in ms (the work queue's default: 5 min). */
  maxDelayMs?: number;
  /** Client of the watches (reads only); default: one on the default kubeconfig chain, as kubectl. */
  client?: KubeClient;
  /**
   * The namespaces the operator's watches cover, one watch each (`--watch-namespaces`, see
   * kube/scope.ts); unset or empty: one watch over all namespaces.
   */
  namespaces?: readonly string[];
}

/** An operator whose watch handlers enqueue keys and whose work runs in a {@link KeyedWorkQueue}. */
export abstract class QueuedOperator {
  protected readonly queue: KeyedWorkQueue;
  private readonly loops: WatchLoop[] = [];
  private watchClient?: KubeClient;

  constructor(
    protected readonly log: Logger,
    protected readonly options: QueuedOperatorOptions,
  ) {
    this.queue = new KeyedWorkQueue((key) => this.timed(key), {
      concurrency: options.concurrency,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
      name: options.name,
      onError: (key, err, retryInMs) => {
        if (err instanceof LeadershipLostError) {
          // Not retryable: the fence has already reported the loss and the process is exiting.
          this.queue.stop();
          log.warn(`Reconcile of ${key} stopped: ${err.message}`);
          return;
        }
        reconcileErrors.inc({ operator: options.name });
        log.warn(`Reconcile of ${key} failed; retrying in ${Math.round(retryInMs / 1000)}s.`, {
          error: (err as Error).message,
        });
      },
    });
  }

  /** Starts the watches (see {@link init}); resolves once each has listed its objects once. */
  async start(): Promise<void> {
    await this.init();
  }

  /** Opens the operator's watches. */
  protected abstract init(): Promise<void>;

  /** Reconciles one key. Throw to retry with backoff. */
  protected abstract reconcile(key: string): Promise<ReconcileResult | void>;

  /**
   * Watches a resource type with a {@link WatchLoop} and calls `onEvent` for each listed object and
   * each change; resolves after the first list (retried with backoff until it succeeds: a CRD not
   * yet established or an API server not yet up delays the start, it never exits the process).
   * `onEvent` must only enqueue; a throw or rejection is logged and the loop goes on.
   * @param group - API group ('' for core).
   * @param namespace - one namespace only (default: the operator's `namespaces`, one watch each, or
   *   all namespaces when it has none).
   */
  protected async watchResource(
    group: string,
    version: string,
    plural: string,
    onEvent: (e: ResourceEvent) => unknown,
    namespace?: string,
  ): Promise<void> {
    const namespaces = namespace !== undefined ? [namespace] : this.options.namespaces;
    if (namespaces?.length) {
      await Promise.all(namespaces.map((ns) => this.watchOne(group, version, plural, onEvent, ns)));
      return;
    }
    await this.watchOne(group, version, plural, onEvent);
  }

  private async watchOne(
    group: string,
    version: string,
    plural: string,
    onEvent: (e: ResourceEvent) => unknown,
    namespace?: string,
  ): Promise<void> {
    const path = collectionPath(group, version, plural, namespace);
    const handlerFailed = (err: unknown) =>
      this.log.warn(`Handling a watch event of ${path} failed.`, { error: (err as Error).message });
    const loop = new WatchLoop(this.client(), {
      path,
      apiVersion: group ? `${group}/${version}` : version,
      onEvent: (e) => {
        const r = onEvent(toResourceEvent(plural, e));
        if (r instanceof Promise) r.catch(handlerFailed);
      },
      onHandlerError: handlerFailed,
      onError: (err, failures, retryInMs) =>
        this.log.warn(
          `Watch of ${path} failed (attempt ${failures}); retrying in ${(retryInMs / 1000).toFixed(1)}s.`,
          { error: (err as Error).message },
        ),
      onRecovered: (failures) =>
        this.log.info(`Watch of ${path} works again after ${failures} failed attempt(s).`),
    });
    this.loops.push(loop);
    await loop.start();
    this.log.info(`Watching ${path}.`);
  }

  /**
   * Watches a resource type and enqueues `Kind/namespace/name` for each event that `relevant` accepts;
   * by default the shared event filter's (eventfilter.ts): first sight, deletion, or a change of
   * generation, labels, annotations or deletion mark, never a status write. A deletion also forgets the
   * key's backoff.
   */
  protected async watchAndEnqueue(
    group: string,
    version: string,
    plural: string,
    kind: string,
    relevant?: (e: ResourceEvent) => boolean,
  ): Promise<void> {
    if (!relevant) {
      const filter = new EventFilter();
      relevant = (e) => filter.changed(e);
    }
    const accepts = relevant;
    await this.watchResource(group, version, plural, (e) => {
      const key = `${kind}/${e.meta.namespace ?? ''}/${e.meta.name}`;
      if (e.type === ResourceEventType.Deleted) this.queue.forget(key);
      if (accepts(e)) this.queue.add(key);
    });
  }

  /** Stops the watches and the queue (running reconciles finish on their own). */
  stop(): void {
    this.queue.stop();
    this.loops.forEach((l) => l.stop());
  }

  private client(): KubeClient {
    this.watchClient ??= this.options.client ?? new KubeClient(loadKubeConfig());
    return this.watchClient;
  }

  /** Runs one reconcile, timed until its tail (see {@link ReconcileResult.tail}) settles too. */
  private async timed(key: string): Promise<ReconcileResult | void> {
    const end = reconcileDuration.startTimer({ operator: this.options.name });
    let result: ReconcileResult | void = undefined;
    try {
      result = await this.reconcile(key);
      return result;
    } finally {
      if (result?.tail) {
        const stop = (): void => void end();
        void result.tail.then(stop, stop);
      } else end();
    }
  }
}
