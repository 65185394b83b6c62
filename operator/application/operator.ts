/**
 * The Application operator: watches `argoproj.io/v1alpha1` Applications and the live objects they
 * manage, and reconciles each app in capstan's keyed work queue.
 *
 * Which events enqueue an app (the shared filter, runtime/eventfilter.ts): its creation and deletion; a
 * change of generation (spec or `operation`), labels, annotations (refresh, skip-reconcile), finalizers
 * or deletion mark. Its own status writes do not, or every status patch would trigger the next reconcile. A change of any object it
 * manages (seen by the informers) enqueues it too: that is how drift is seen within a second.
 */
import { ResourceEvent, ResourceEventType } from '../kube/resourceevent';
import { KubeObject } from '../kube/object';
import { Logger } from '../log';
import { DEFAULT_WATCHED_PARTS, EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, parseKey } from '../runtime/operator';
import { ReconcileResult } from '../runtime/workqueue';
import { AppMetricSource, forgetApp, observeApp, startAppReconcile } from '../runtime/metrics';
import { ApplicationContext } from './context';
import { reconcileApplication } from './reconcile';
import { AppCache, type RefreshType } from './appcache';
import type { App } from './api';
import { TRACKING_ID_ANNOTATION, parseAppInstance, parseTrackingId, trackedBy } from '../sync/tracking';
import { appNamespaces } from '../kube/scope';

/** The Application operator. */
export class ApplicationOperator extends QueuedOperator {
  /** Which app events call for a reconcile: the shared filter, finalizers watched as well. */
  private readonly events = new EventFilter([...DEFAULT_WATCHED_PARTS, 'finalizers']);
  /** `namespace/name` of each app -> its `spec.project`, to re-queue exactly the apps of a changed project. */
  private readonly projectOf = new Map<string, string>();
  /** Projects by uid and generation: their status and finalizer writes do not re-queue their apps. */
  private readonly projectVersions = new EventFilter(['uid', 'generation']);

  constructor(
    private readonly ctx: ApplicationContext,
    log: Logger,
    concurrency: number,
  ) {
    super(log, {
      name: 'application',
      concurrency,
      namespaces: appNamespaces(ctx.settings.controllerNamespace, ctx.settings.watchNamespaces),
    });
    // Prune candidates are looked up by app instance (compare.ts): index the live objects by tracking id.
    ctx.live.setIndex(trackedBy);
    // One `ls-remote` per repository and revision per refresh interval, shared by every app: the git
    // source's revision cache (sources/revisioncache.ts); reconcile forgets it on an explicit refresh.
    ctx.revisions = ctx.git.revisions;
    // Reconciles read their app from the watch's last view (appcache.ts), not with a GET each.
    ctx.apps = new AppCache();
  }

  protected async init(): Promise<void> {
    this.ctx.live.onChange((_type, obj) => this.enqueueOwner(obj));
    this.ctx.projects.onChange((name) => this.projectChanged(name));
    await this.watchAndEnqueue('argoproj.io', 'v1alpha1', 'applications', 'Application', (e) =>
      this.relevant(e),
    );
  }

  /**
   * Refreshes an app now, as its refresh annotation would but without writing it (the git webhook on
   * the leader, webhook/index.ts): the request is recorded in the app cache (appcache.ts
   * requestRefresh) and the app queued at once, even while it backs off after a failure (as an
   * annotation event does). A no-op refresh then costs one status write (`reconciledAt`).
   * @returns false when the app is not watched here (nothing done).
   */
  refreshApp(namespace: string, name: string, type: RefreshType = 'normal'): boolean {
    if (!this.ctx.apps?.requestRefresh(namespace, name, type)) return false;
    this.queue.add(`Application/${namespace}/${name}`);
    return true;
  }

  /** The apps as the operator's watch last showed them (read-only), for the git webhook's match. */
  watchedApps(): Iterable<Readonly<App>> {
    return this.ctx.apps?.values() ?? [];
  }

  protected async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    const done = startAppReconcile(namespace, name);
    try {
      return await reconcileApplication(this.ctx, namespace, name);
    } finally {
      done();
    }
  }

  /**
   * Enqueues the app named by a managed object's tracking id (drift is seen within a second). An app
   * whose reconcile failed (git, render or API) waits for its retry instead: its objects' status churn
   * must not re-run a comparison that fails, against a repository that is down (runtime/workqueue.ts).
   */
  private enqueueOwner(obj: KubeObject): void {
    const id = parseTrackingId(obj.metadata.annotations?.[TRACKING_ID_ANNOTATION]);
    if (!id) return;
    const app = parseAppInstance(id.appInstance, this.ctx.settings.controllerNamespace);
    this.queue.addUnlessBackingOff(`Application/${app.namespace}/${app.name}`);
  }

  /**
   * Re-queues the apps of a project whose spec was created, changed or deleted (a tightened project takes
   * effect within a second, not at the next periodic refresh); a status or finalizer write does not.
   */
  private projectChanged(name: string): void {
    if (this.projectVersions.observe(name, this.ctx.projects.get(name)) === 'unchanged') return;
    for (const [app, project] of this.projectOf) {
      if (project === name) this.queue.add(`Application/${app}`);
    }
  }

  private relevant(e: ResourceEvent): boolean {
    const key = `${e.meta.namespace}/${e.meta.name}`;
    if (e.type === ResourceEventType.Deleted) {
      this.events.classify(e); // forgets it
      this.ctx.apps?.delete(e.meta.namespace ?? '', e.meta.name);
      this.projectOf.delete(key);
      forgetApp(e.meta.namespace ?? '', e.meta.name);
      return true;
    }
    // Every event, status writes included: capstan_app_info shows the app as the cluster has it now.
    observeApp(e.object as unknown as AppMetricSource);
    this.ctx.apps?.observe(e.object as unknown as App);
    const project = (e.object as { spec?: { project?: unknown } }).spec?.project;
    // As Argo CD's Spec.GetProject(): an empty project is `default`.
    this.projectOf.set(key, typeof project === 'string' && project !== '' ? project : 'default');
    return this.events.changed(e);
  }
}
