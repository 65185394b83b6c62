/**
 * The ExternalSecret operator: watches ExternalSecrets, the stores they use, and the Secrets they
 * write, and reconciles each ExternalSecret in its own keyed work queue.
 *
 * Which events enqueue an ExternalSecret:
 * - its creation, deletion, or a change of generation, labels or annotations (its own status writes
 *   do not: that is ESO's `syncedResourceVersion`);
 * - a change of a target Secret (hand edit, deletion, label removed), seen by a label-filtered informer
 *   of Secrets carrying `reconcile.external-secrets.io/managed=true`: that is how drift is reverted
 *   (an ExternalSecret backing off after a failed refresh waits for its retry, runtime/workqueue.ts);
 * - a store's spec or Ready condition changing: the ExternalSecrets that use it run at once, past
 *   their retry backoff.
 */
import { ResourceEvent, ResourceEventType } from '../kube/resourceevent';
import { Informer, metadataOnly } from '../kube/informer';
import { isScoped, watchTargets } from '../kube/scope';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, parseKey } from '../runtime/operator';
import type { ReconcileResult } from '../runtime/workqueue';
import { SECRETS } from './api';
import { ES_GROUP, ES_VERSION, Kind, MANAGED_SECRET_SELECTOR } from './constants';
import type { ExternalSecretContext } from './context';
import { reconcileExternalSecret } from './reconcile';
import {
  ConditionSource,
  forgetExternalSecret,
  observeExternalSecret,
  syncCalls,
  syncCallsError,
} from './metrics';
import { externalSecretKey } from './refs';
import { storeObjectKey } from './store-reconcile';
import type { ExternalSecretObject, StoreKind } from './types';

/** The ExternalSecret operator (see the module comment). */
export class ExternalSecretOperator extends QueuedOperator {
  /** Which ExternalSecret events call for a reconcile: the shared filter (runtime/eventfilter.ts). */
  private readonly events = new EventFilter();
  /** Store events that matter to their users: spec or Ready condition (the shared filter's `ready`). */
  private readonly storeEvents = new EventFilter(['generation', 'ready']);
  /** Managed Secrets: one informer, or one per watched namespace (`--watch-namespaces`). */
  private secrets: Informer[] = [];

  /**
   * @param ctx - the family's shared context.
   * @param log - logger.
   * @param concurrency - ExternalSecrets reconciled at once.
   */
  constructor(
    private readonly ctx: ExternalSecretContext,
    log: Logger,
    concurrency: number,
  ) {
    // settings may be absent from partial contexts (unit tests): then cluster-wide.
    super(log, {
      name: 'externalsecret',
      concurrency,
      namespaces: ctx.settings?.watchNamespaces,
      baseDelayMs: ctx.settings?.retryBaseMs,
      maxDelayMs: ctx.settings?.retryMaxMs,
    });
  }

  protected async init(): Promise<void> {
    const scoped = isScoped(this.ctx.settings.watchNamespaces);
    this.secrets = watchTargets(this.ctx.settings.watchNamespaces).map(
      (namespace) =>
        new Informer(this.ctx.client, SECRETS, MANAGED_SECRET_SELECTOR, (_type, obj) => this.onSecret(obj), {
          namespace,
          // the handler reads names and owners only: Secret data is not held in memory (issue 10 §2 P2)
          project: metadataOnly,
          onError: (err) =>
            this.log.warn('Watch of managed Secrets failed; retrying.', { error: (err as Error).message }),
        }),
    );
    await Promise.all(this.secrets.map((s) => s.start()));
    await this.watchAndEnqueue(ES_GROUP, ES_VERSION, 'externalsecrets', Kind.ExternalSecret, (e) =>
      this.onExternalSecret(e),
    );
    await this.watchStores('secretstores', Kind.SecretStore);
    if (!scoped) await this.watchStores('clustersecretstores', Kind.ClusterSecretStore);
  }

  protected async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    syncCalls.inc({ name, namespace });
    try {
      return await reconcileExternalSecret(this.ctx, namespace, name);
    } catch (err) {
      syncCallsError.inc({ name, namespace });
      throw err;
    }
  }

  override stop(): void {
    this.secrets.forEach((s) => s.stop());
    super.stop();
  }

  private onExternalSecret(e: ResourceEvent): boolean {
    const key = externalSecretKey(e.meta.namespace ?? '', e.meta.name);
    if (e.type === ResourceEventType.Deleted) {
      this.events.classify(e); // forgets it
      this.ctx.refs.delete(key);
      forgetExternalSecret(e.meta.namespace ?? '', e.meta.name);
      return true;
    }
    // Every event, status writes included: the condition metric shows the status the cluster has now.
    observeExternalSecret(e.object as unknown as ConditionSource);
    const obj = e.object as unknown as ExternalSecretObject;
    this.ctx.refs.set(obj);
    return this.events.changed(e);
  }

  /** A managed Secret changed or went away: its writers (index) and its controller ExternalSecret run. */
  private onSecret(obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? '';
    const keys = new Set(this.ctx.refs.writersOf(ns, obj.metadata.name ?? ''));
    const ctrl = obj.metadata.ownerReferences?.find(
      (r) => r.controller === true && r.kind === Kind.ExternalSecret,
    );
    if (ctrl) keys.add(externalSecretKey(ns, String(ctrl.name)));
    // A failing ExternalSecret is not run again by its Secret's events before its retry is due.
    for (const k of keys) this.queue.addUnlessBackingOff(k);
  }

  private async watchStores(plural: string, kind: StoreKind): Promise<void> {
    await this.watchResource(ES_GROUP, ES_VERSION, plural, async (e) => this.onStore(kind, e));
  }

  /** A store's spec or Ready condition changed: its users run now, past their backoff. */
  private onStore(kind: StoreKind, e: ResourceEvent): void {
    const key = storeObjectKey(kind, e.meta.namespace, e.meta.name);
    const changed = this.storeEvents.changed(e);
    if (!changed) return;
    for (const user of this.ctx.refs.usersOf(key)) {
      this.queue.add(user); // at once, past its backoff (its failure count is kept)
    }
  }
}
