/**
 * The shared base of capstan's operators: `@dot-i/k8s-operator` provides the watches; every watch
 * event only enqueues a key (`Kind/namespace/name`) into capstan's keyed work queue, which runs the
 * level-based reconcile (see workqueue.ts for why).
 */
import Operator, { ResourceEvent, ResourceEventType } from '@dot-i/k8s-operator';
import { Logger } from '../log';
import { KeyedWorkQueue, ReconcileResult } from './workqueue';
import { reconcileDuration, reconcileErrors } from './metrics';

/** Splits a queue key `Kind/namespace/name` (namespace empty for cluster-scoped). */
export function parseKey(key: string): { kind: string; namespace: string; name: string } {
  const [kind, namespace, ...rest] = key.split('/');
  return { kind, namespace, name: rest.join('/') };
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
