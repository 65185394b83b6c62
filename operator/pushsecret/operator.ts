/**
 * The PushSecret operator (`--controllers pushsecret`): watches PushSecrets and the Secrets they push
 * (one watch each per namespace of `--watch-namespaces`, or all) and reconciles each PushSecret in a
 * keyed work queue.
 *
 * Which events enqueue a PushSecret:
 * - its creation, deletion, or a change of generation, labels, annotations or the deletion mark (not
 *   its own status writes), as ESO's;
 * - a change of a Secret of its namespace that it pushes (`selector.secret.name`, or labels matching
 *   `selector.secret.selector`): created, changed or deleted. The reconcile compares the Secrets'
 *   version with the one last pushed, so the change is pushed at once, not at the next
 *   `refreshInterval`, and a relisted Secret that did not change pushes nothing;
 * - then every `refreshInterval` (its requeue).
 *
 * The Secret watch keeps nothing in memory (no informer store): each event is matched against the
 * PushSecrets' selectors and dropped, so Secret values are never held. It starts with the first
 * PushSecret that reads a Secret, so a cluster without PushSecrets pays nothing for it.
 */
import type { LabelSelector } from '../../generated/clustersecretstore';
import { labelSelectorMatches } from '../externalsecret/namespaces';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, ResourceEventType, parseKey, type ResourceEvent } from '../runtime/operator';
import type { ReconcileResult } from '../runtime/workqueue';
import { PS_GROUP, PS_KIND, PS_PLURAL, PS_VERSION } from './constants';
import { reconcilePushSecret, type PushContext } from './reconcile';

/** What a PushSecret reads: a Secret by name, or the Secrets matching a label selector. */
export interface SourceSelector {
  /** name - the Secret's name. */
  name?: string;
  /** selector - the Secrets' labels. */
  selector?: LabelSelector;
}

/**
 * The PushSecrets of each namespace and the Secrets they push (from `spec.selector.secret`), so that a
 * Secret event finds its PushSecrets without listing them. A generator source is not indexed.
 */
export class SourceIndex {
  private readonly byNamespace = new Map<string, Map<string, SourceSelector>>();

  /** True when no PushSecret reads a Secret. */
  get empty(): boolean {
    return this.byNamespace.size === 0;
  }

  /** Records (or, with `source` undefined, forgets) the source of PushSecret `namespace/name`. */
  set(namespace: string, name: string, source: SourceSelector | undefined): void {
    let pushSecrets = this.byNamespace.get(namespace);
    if (!source || (!source.name && !source.selector)) {
      pushSecrets?.delete(name);
      if (pushSecrets && !pushSecrets.size) this.byNamespace.delete(namespace);
      return;
    }
    if (!pushSecrets) this.byNamespace.set(namespace, (pushSecrets = new Map()));
    pushSecrets.set(name, source);
  }

  /** The names of the PushSecrets of `namespace` that push the Secret `name` with these labels. */
  readersOf(namespace: string, name: string, labels: Record<string, string>): string[] {
    const out: string[] = [];
    for (const [ps, source] of this.byNamespace.get(namespace) ?? []) {
      if (source.name === name || (source.selector && labelSelectorMatches(source.selector, labels)))
        out.push(ps);
    }
    return out;
  }
}

/** The PushSecret operator (see the module comment). */
export class PushSecretOperator extends QueuedOperator {
  /** Which PushSecret events call for a reconcile: the shared filter (runtime/eventfilter.ts). */
  private readonly events = new EventFilter();
  private readonly sources = new SourceIndex();
  private secretWatch?: Promise<void>;

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

  /** Starts the Secret watch once some PushSecret reads a Secret (its first list enqueues them). */
  private watchSecrets(): void {
    if (this.secretWatch || this.sources.empty) return;
    this.secretWatch = this.watchResource('', 'v1', 'secrets', (e) => this.onSecret(e)).catch((err) => {
      this.log.warn('Watch of source Secrets could not start; changes wait for refreshInterval.', {
        error: (err as Error).message,
      });
    });
  }

  protected reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    return reconcilePushSecret(this.ctx, namespace, name);
  }

  private relevant(e: ResourceEvent): boolean {
    const namespace = e.meta.namespace ?? '';
    if (e.type === ResourceEventType.Deleted) {
      this.events.classify(e); // forgets it
      this.sources.set(namespace, e.meta.name, undefined);
      return false;
    }
    const spec = (e.object as { spec?: { selector?: { secret?: SourceSelector } } }).spec;
    this.sources.set(namespace, e.meta.name, spec?.selector?.secret);
    this.watchSecrets();
    return this.events.changed(e);
  }

  /** A Secret was created, changed or deleted: the PushSecrets that push it run. */
  private onSecret(e: ResourceEvent): void {
    const namespace = e.meta.namespace ?? '';
    const labels = (e.object as unknown as KubeObject).metadata.labels ?? {};
    for (const name of this.sources.readersOf(namespace, e.meta.name, labels))
      this.queue.add(`${PS_KIND}/${namespace}/${name}`);
  }
}
