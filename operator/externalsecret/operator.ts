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
import { EventTap } from '../kube/eventtap';
import { Informer, metadataOnly, type InformerEventType } from '../kube/informer';
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
  /**
   * Every ExternalSecret event of this operator's watch, for other operators of the process (the
   * ClusterExternalSecret operator), so that the API server sends each event once (kube/eventtap.ts).
   */
  readonly externalSecretTap = new EventTap();
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
        new Informer(
          this.ctx.client,
          SECRETS,
          MANAGED_SECRET_SELECTOR,
          (type, obj) => this.onSecret(type, obj),
          {
            namespace,
            // the handler reads names and owners only: Secret data is not held in memory (issue 10 §2 P2)
            project: metadataOnly,
            onError: (err) =>
              this.log.warn('Watch of managed Secrets failed; retrying.', { error: (err as Error).message }),
          },
        ),
    );
    await Promise.all(this.secrets.map((s) => s.start()));
    // Listed: from now on a target missing from the informers is missing or not labelled (cache.ts).
    if (this.ctx.cache) {
      this.ctx.cache.targets = { get: (ns, name) => this.targetMeta(ns, name) };
      // an event held during capstan's write that was someone else's change (cache.ts)
      this.ctx.cache.written.onForeignChange = (ns, name) => this.enqueueWriters(ns, name);
    }
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
    this.externalSecretTap.emit(e, (err) =>
      this.log.warn('A listener of the ExternalSecret watch failed.', { error: (err as Error).message }),
    );
    const key = externalSecretKey(e.meta.namespace ?? '', e.meta.name);
    if (e.type === ResourceEventType.Deleted) {
      this.events.classify(e); // forgets it
      this.ctx.cache?.externalSecrets.delete(e.meta.namespace, e.meta.name);
      this.ctx.refs.delete(key);
      forgetExternalSecret(e.meta.namespace ?? '', e.meta.name);
      return true;
    }
    // Every event, status writes included: the condition metric shows the status the cluster has now.
    observeExternalSecret(e.object as unknown as ConditionSource);
    const obj = e.object as unknown as ExternalSecretObject;
    this.ctx.refs.set(obj);
    this.ctx.cache?.externalSecrets.put(obj as unknown as KubeObject);
    return this.events.changed(e);
  }

  /** The informers' copy of a managed Secret's metadata. */
  private targetMeta(namespace: string, name: string): KubeObject | undefined {
    for (const informer of this.secrets) {
      const obj = informer.get(namespace, name);
      if (obj) return obj;
    }
    return undefined;
  }

  /**
   * A managed Secret changed or went away: its writers (index) and its controller ExternalSecret run,
   * unless the change is capstan's own last write of it (that reconcile already knows the outcome).
   */
  private onSecret(type: InformerEventType, obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? '';
    const written = this.ctx.cache?.written;
    if (type === 'delete') written?.delete(ns, obj.metadata.name ?? '');
    else if (written?.isOwnWrite(obj) || written?.hold(obj)) return;
    this.enqueueWriters(ns, obj.metadata.name ?? '', obj);
  }

  /** Enqueues the ExternalSecrets writing Secret `ns/name`: the index, and the Secret's controller. */
  private enqueueWriters(ns: string, name: string, obj = this.targetMeta(ns, name)): void {
    const keys = new Set(this.ctx.refs.writersOf(ns, name));
    const ctrl = obj?.metadata.ownerReferences?.find(
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
    const cache = this.ctx.cache?.stores.get(kind);
    if (e.type === ResourceEventType.Deleted) cache?.delete(e.meta.namespace, e.meta.name);
    else cache?.put(e.object as unknown as KubeObject);
    if (!changed) return;
    for (const user of this.ctx.refs.usersOf(key)) {
      this.queue.add(user); // at once, past its backoff (its failure count is kept)
    }
  }
}
