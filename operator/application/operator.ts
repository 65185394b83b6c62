/**
 * The Application operator: watches `argoproj.io/v1alpha1` Applications and the live objects they
 * manage, and reconciles each app in capstan's keyed work queue.
 *
 * Which events enqueue an app: its creation and deletion; a change of generation (spec or
 * `operation`), annotations (refresh, skip-reconcile), finalizers or deletion mark. Its own status
 * writes do not, or every status patch would trigger the next reconcile. A change of any object it
 * manages (seen by the informers) enqueues it too: that is how drift is seen within a second.
 */
import { ResourceEvent, ResourceEventType } from '@dot-i/k8s-operator';
import { isDeepStrictEqual } from 'node:util';
import { KubeObject } from '../kube/object';
import { Logger } from '../log';
import { QueuedOperator, parseKey } from '../runtime/operator';
import { ReconcileResult } from '../runtime/workqueue';
import { ApplicationContext } from './context';
import { reconcileApplication } from './reconcile';
import { TRACKING_ID_ANNOTATION, parseAppInstance, parseTrackingId } from './tracking';

/** The Application operator. */
export class ApplicationOperator extends QueuedOperator {
  private readonly seen = new Map<string, unknown>();

  constructor(
    private readonly ctx: ApplicationContext,
    log: Logger,
    concurrency: number,
  ) {
    super(log, { name: 'application', concurrency });
  }

  protected async init(): Promise<void> {
    this.ctx.live.onChange((_type, obj) => this.enqueueOwner(obj));
    await this.watchAndEnqueue('argoproj.io', 'v1alpha1', 'applications', 'Application', (e) =>
      this.relevant(e),
    );
  }

  protected reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    return reconcileApplication(this.ctx, namespace, name);
  }

  /** Enqueues the app named by a managed object's tracking id. */
  private enqueueOwner(obj: KubeObject): void {
    const id = parseTrackingId(obj.metadata.annotations?.[TRACKING_ID_ANNOTATION]);
    if (!id) return;
    const app = parseAppInstance(id.appInstance, this.ctx.settings.controllerNamespace);
    this.queue.add(`Application/${app.namespace}/${app.name}`);
  }

  private relevant(e: ResourceEvent): boolean {
    const key = `${e.meta.namespace}/${e.meta.name}`;
    if (e.type === ResourceEventType.Deleted) {
      this.seen.delete(key);
      return true;
    }
    const m = (e.object as KubeObject).metadata;
    const fingerprint = [m.generation, m.annotations ?? {}, m.finalizers ?? [], m.deletionTimestamp ?? ''];
    const changed = !isDeepStrictEqual(this.seen.get(key), fingerprint);
    this.seen.set(key, fingerprint);
    return changed;
  }
}
