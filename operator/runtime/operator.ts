/**
 * The shared base of capstan's operators: `@dot-i/k8s-operator` provides the watches; every watch
 * event only enqueues a key (`Kind/namespace/name`) into capstan's keyed work queue, which runs the
 * level-based reconcile (see workqueue.ts for why).
 */
import Operator, { ResourceEvent, ResourceEventType } from '@dot-i/k8s-operator';
import { Logger } from '../log';
import { KubeClient } from '../kube/client';
import { KeyedWorkQueue, ReconcileResult } from './workqueue';
import { reconcileDuration, reconcileErrors } from './metrics';

/** Splits a queue key `Kind/namespace/name` (namespace empty for cluster-scoped). */
export function parseKey(key: string): { kind: string; namespace: string; name: string } {
  const [kind, namespace, ...rest] = key.split('/');
  return { kind, namespace, name: rest.join('/') };
}

/**
 * Waits until a watch of `path` can be opened. A freshly established CRD answers 429 while its watch
 * cache initialises, and `@dot-i/k8s-operator` exits the process on any watch error, so the first
 * watch is only handed to it once a short probe watch succeeds (retried with backoff, up to 2 min).
 * @throws the last KubeApiError when the resource stays unwatchable.
 */
export async function waitUntilWatchable(client: KubeClient, path: string, log: Logger): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const abort = new AbortController();
      await client.watch(path, { timeoutSeconds: 1, limit: 1 }, () => abort.abort(), abort.signal);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      log.debug(`Watch of ${path} not ready yet (${(err as Error).message}); retrying.`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Options of a {@link QueuedOperator}. */
export interface QueuedOperatorOptions {
  /** Name for logs and metrics, e.g. `application`. */
  name: string;
  /** Keys reconciled at once. */
  concurrency: number;
}

/** An operator whose watch handlers enqueue keys and whose work runs in a {@link KeyedWorkQueue}. */
export abstract class QueuedOperator extends Operator {
  protected readonly queue: KeyedWorkQueue;

  constructor(
    protected readonly log: Logger,
    protected readonly options: QueuedOperatorOptions,
  ) {
    super({
      debug: (m) => log.debug(m),
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    });
    this.queue = new KeyedWorkQueue((key) => this.timed(key), {
      concurrency: options.concurrency,
      onError: (key, err, retryInMs) => {
        reconcileErrors.inc({ operator: options.name });
        log.warn(`Reconcile of ${key} failed; retrying in ${Math.round(retryInMs / 1000)}s.`, {
          error: (err as Error).message,
        });
      },
    });
  }

  /** Reconciles one key. Throw to retry with backoff. */
  protected abstract reconcile(key: string): Promise<ReconcileResult | void>;

  /**
   * Watches a resource type and enqueues `Kind/namespace/name` for each event that `relevant` accepts
   * (all events by default).
   */
  protected async watchAndEnqueue(
    group: string,
    version: string,
    plural: string,
    kind: string,
    relevant: (e: ResourceEvent) => boolean = () => true,
  ): Promise<void> {
    await waitUntilWatchable(
      new KubeClient(this.kubeConfig),
      group ? `/apis/${group}/${version}/${plural}` : `/api/${version}/${plural}`,
      this.log,
    );
    await this.watchResource(group, version, plural, async (e) => {
      const key = `${kind}/${e.meta.namespace ?? ''}/${e.meta.name}`;
      if (e.type === ResourceEventType.Deleted) this.queue.forget(key);
      if (relevant(e)) this.queue.add(key);
    });
  }

  override stop(): void {
    this.queue.stop();
    super.stop();
  }

  private async timed(key: string): Promise<ReconcileResult | void> {
    const end = reconcileDuration.startTimer({ operator: this.options.name });
    try {
      return await this.reconcile(key);
    } finally {
      end();
    }
  }
}
