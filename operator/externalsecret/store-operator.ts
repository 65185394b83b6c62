/**
 * The SecretStore and ClusterSecretStore operators: one class each (own watch, queue and concurrency),
 * sharing the reconcile of `store-reconcile.ts`. A store is reconciled on creation, on a change of its
 * generation, labels or annotations (not of its status), and every refresh interval.
 */
import { ResourceEvent, ResourceEventType } from '../kube/resourceevent';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { QueuedOperator, parseKey } from '../runtime/operator';
import type { ReconcileResult } from '../runtime/workqueue';
import { ES_GROUP, ES_VERSION, Kind } from './constants';
import type { ExternalSecretContext } from './context';
import { metadataFingerprint } from './fingerprint';
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
  private readonly seen = new Map<string, unknown>();

  constructor(
    private readonly ctx: ExternalSecretContext,
    log: Logger,
    concurrency: number,
    private readonly which: StoreOperatorKind,
  ) {
    super(log, { name: which.name, concurrency, namespaces: ctx.settings.watchNamespaces });
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

  private relevant(e: ResourceEvent): boolean {
    const id = `${e.meta.namespace ?? ''}/${e.meta.name}`;
    if (e.type === ResourceEventType.Deleted) {
      this.seen.delete(id);
      return true;
    }
    const fingerprint = metadataFingerprint(e.object as unknown as KubeObject);
    const changed = !isDeepStrictEqual(this.seen.get(id), fingerprint);
    this.seen.set(id, fingerprint);
    return changed;
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
