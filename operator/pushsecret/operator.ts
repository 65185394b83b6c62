/**
 * The PushSecret operator (`--controllers pushsecret`): watches PushSecrets (one watch per namespace
 * of `--watch-namespaces`, or all) and reconciles each in a keyed work queue. A PushSecret runs on
 * creation, deletion, a change of generation, labels, annotations or the deletion mark, and then every
 * `refreshInterval` (its requeue), as ESO's.
 */
import type { Logger } from '../log';
import { EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, ResourceEventType, parseKey, type ResourceEvent } from '../runtime/operator';
import type { ReconcileResult } from '../runtime/workqueue';
import { PS_GROUP, PS_KIND, PS_PLURAL, PS_VERSION } from './constants';
import { reconcilePushSecret, type PushContext } from './reconcile';

/** The PushSecret operator (see the module comment). */
export class PushSecretOperator extends QueuedOperator {
  /** Which PushSecret events call for a reconcile: the shared filter (runtime/eventfilter.ts). */
  private readonly events = new EventFilter();

  /**
   * @param ctx - client, limiter, settings (the ExternalSecret family's shapes).
   * @param concurrency - PushSecrets reconciled at once.
   */
  constructor(
    private readonly ctx: PushContext,
    log: Logger,
    concurrency: number,
  ) {
    super(log, { name: 'pushsecret', concurrency, namespaces: ctx.settings.watchNamespaces });
  }

  protected async init(): Promise<void> {
    await this.watchAndEnqueue(PS_GROUP, PS_VERSION, PS_PLURAL, PS_KIND, (e) => this.relevant(e));
  }

  protected reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    return reconcilePushSecret(this.ctx, namespace, name);
  }

  private relevant(e: ResourceEvent): boolean {
    if (e.type === ResourceEventType.Deleted) {
      this.events.classify(e); // forgets it
      return false;
    }
    return this.events.changed(e);
  }
}
