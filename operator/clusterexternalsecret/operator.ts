/**
 * The ClusterExternalSecret operator (`--controllers clusterexternalsecret`): watches
 * ClusterExternalSecrets, namespaces and the ExternalSecrets they control, and reconciles each
 * ClusterExternalSecret in a keyed work queue (ESO's `SetupWithManager`: For CES, Owns ExternalSecret,
 * Watches Namespace).
 *
 * Which events enqueue a ClusterExternalSecret:
 * - its creation, deletion, or a change of generation, labels or annotations (not its own status);
 * - a namespace created, deleted, relabelled or terminating: every ClusterExternalSecret runs (the
 *   plan decides; cheaper than matching selectors twice);
 * - an ExternalSecret it controls deleted or changed by someone (spec, labels, annotations).
 *
 * ExternalSecret events come from the ExternalSecret operator's watch when that operator runs in the
 * same process (`externalSecretTap`, kube/eventtap.ts): a second watch of every ExternalSecret made
 * the API server send each event twice and capstan decode it twice (issue 10 P2). Alone
 * (`--controllers clusterexternalsecret`) it opens its own watch.
 */
import type { EventTap } from '../kube/eventtap';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, ResourceEventType, parseKey, type ResourceEvent } from '../runtime/operator';
import type { ReconcileResult } from '../runtime/workqueue';
import { CES_KIND, CES_PLURAL } from './constants';
import { reconcileClusterExternalSecret, type CesContext } from './reconcile';

/** The ClusterExternalSecret operator (see the module comment). */
export class ClusterExternalSecretOperator extends QueuedOperator {
  /** The shared watch filter (runtime/eventfilter.ts), for ClusterExternalSecrets. */
  private readonly events = new EventFilter();
  /** ... for namespaces: labels and the deletion mark (a terminating namespace) only. */
  private readonly namespaceEvents = new EventFilter(['labels', 'deletion']);
  /** ... for the ExternalSecrets they control. */
  private readonly childEvents = new EventFilter();
  private readonly known = new Set<string>();

  /**
   * @param ctx - client, logger and clock.
   * @param concurrency - ClusterExternalSecrets reconciled at once.
   * @param externalSecretTap - the ExternalSecret operator's watch of every ExternalSecret, when it runs
   *   in this process; without it this operator watches ExternalSecrets itself.
   */
  constructor(
    private readonly ctx: CesContext,
    log: Logger,
    concurrency: number,
    private readonly externalSecretTap?: EventTap,
  ) {
    super(log, { name: 'clusterexternalsecret', concurrency });
  }

  private unsubscribe?: () => void;

  protected async init(): Promise<void> {
    await this.watchResource('external-secrets.io', 'v1', CES_PLURAL, (e) => this.onCes(e));
    await this.watchResource('', 'v1', 'namespaces', (e) => this.onNamespace(e));
    if (this.externalSecretTap)
      this.unsubscribe = this.externalSecretTap.subscribe((e) => this.onExternalSecret(e));
    else
      await this.watchResource('external-secrets.io', 'v1', 'externalsecrets', (e) =>
        this.onExternalSecret(e),
      );
  }

  /** Stops the watches and leaves the shared ExternalSecret watch. */
  override stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    super.stop();
  }

  protected reconcile(key: string): Promise<ReconcileResult> {
    return reconcileClusterExternalSecret(this.ctx, parseKey(key).name);
  }

  private key(name: string): string {
    return `${CES_KIND}//${name}`;
  }

  private onCes(e: ResourceEvent): void {
    const key = this.key(e.meta.name);
    const change = this.events.classify(e);
    if (change === 'deleted') {
      this.known.delete(key);
      this.queue.forget(key);
      return;
    }
    this.known.add(key);
    if (change !== 'unchanged') this.queue.add(key);
  }

  private onNamespace(e: ResourceEvent): void {
    if (this.namespaceEvents.classify(e) === 'unchanged') return;
    for (const key of this.known) this.queue.add(key);
  }

  /** An ExternalSecret event (own watch or the shared one); public for tests. */
  onExternalSecret(e: ResourceEvent): void {
    const obj = e.object as unknown as KubeObject;
    const owner = obj.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === CES_KIND);
    if (!owner) return;
    const change = this.childEvents.classify(e);
    // unchanged, or listed or just created by us: nothing to repair. A first sight that is not an ADDED
    // is a change: the shared watch was listed before this operator subscribed.
    if (change === 'unchanged' || (change === 'added' && e.type === ResourceEventType.Added)) return;
    this.queue.add(this.key(String(owner.name)));
  }
}
