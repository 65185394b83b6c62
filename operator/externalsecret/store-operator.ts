/**
 * The SecretStore and ClusterSecretStore operators: one class each (own watch, queue and concurrency),
 * sharing the reconcile of `store-reconcile.ts`. A store is reconciled on creation, on a change of its
 * generation, labels or annotations (not of its status: the shared filter, runtime/eventfilter.ts), and
 * every refresh interval.
 */
import type { ResourceEvent } from '../kube/resourceevent';
import type { Logger } from '../log';
import { EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, parseKey } from '../runtime/operator';
import type { ReconcileResult } from '../runtime/workqueue';
import { ES_GROUP, ES_VERSION, Kind } from './constants';
import type { ExternalSecretContext } from './context';
import { reconcileStore } from './store-reconcile';
import type { StoreKind } from './types';

/** What differs between the two store operators. */
interface StoreOperatorKind {
  kind: StoreKind;
  plural: string;
  name: string;
}

/** The shared base of the two store operators. */
abstract class StoreOperator extends QueuedOperator {
  private readonly events = new EventFilter();

  constructor(
    private readonly ctx: ExternalSecretContext,
    log: Logger,
    concurrency: number,
    private readonly which: StoreOperatorKind,
  ) {
    super(log, {
      name: which.name,
      concurrency,
      namespaces: ctx.settings.watchNamespaces,
      baseDelayMs: ctx.settings.retryBaseMs,
      maxDelayMs: ctx.settings.retryMaxMs,
    });
  }

  protected async init(): Promise<void> {
    await this.watchAndEnqueue(ES_GROUP, ES_VERSION, this.which.plural, this.which.kind, (e) =>
      this.relevant(e),
    );
  }

  protected reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    return reconcileStore(this.ctx, this.which.kind, namespace, name);
  }

  /** Creation, deletion, or a change of generation, labels, annotations or deletion mark. */
  private relevant(e: ResourceEvent): boolean {
    return this.events.changed(e);
  }
}

/** Validates SecretStores (namespaced). */
export class SecretStoreOperator extends StoreOperator {
  /** @param ctx - shared context; @param log - logger; @param concurrency - stores validated at once. */
  constructor(ctx: ExternalSecretContext, log: Logger, concurrency: number) {
    super(ctx, log, concurrency, { kind: Kind.SecretStore, plural: 'secretstores', name: 'secretstore' });
  }
}

/** Validates ClusterSecretStores (cluster-scoped). */
export class ClusterSecretStoreOperator extends StoreOperator {
  /** @param ctx - shared context; @param log - logger; @param concurrency - stores validated at once. */
  constructor(ctx: ExternalSecretContext, log: Logger, concurrency: number) {
    super(ctx, log, concurrency, {
      kind: Kind.ClusterSecretStore,
      plural: 'clustersecretstores',
      name: 'clustersecretstore',
    });
  }
}
