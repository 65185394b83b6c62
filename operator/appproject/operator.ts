/**
 * The AppProject operator: AppProjects of the controller's namespace come from the {@link ProjectStore}
 * informer (shared with the Application operator, which reads projects from it), and every change enqueues
 * `AppProject/<namespace>/<name>` into capstan's keyed work queue, where {@link reconcileProject} validates
 * the project, writes its conditions and keeps the deletion guard.
 *
 * It also watches Applications in every namespace (with `--watch-namespaces`: in the controller namespace and
 * the listed ones), only to know which apps reference which project: an app
 * that starts or stops naming a project (created, deleted, `spec.project` changed) enqueues that project, so
 * that a deleting project goes as soon as its last app goes.
 */
import { ResourceEvent, ResourceEventType } from '../kube/resourceevent';
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { DEFAULT_WATCHED_PARTS, EventFilter } from '../runtime/eventfilter';
import { QueuedOperator, parseKey } from '../runtime/operator';
import { retryDelay, type ReconcileResult } from '../runtime/workqueue';
import { ProjectStore } from './store';
import { appNamespaces } from '../kube/scope';
import { DEFAULT_PROJECT, ensureDefaultProject, reconcileProject } from './reconcile';

/** Settings of the AppProject operator. */
export interface AppProjectSettings {
  /** The controller's namespace, where projects live. */
  controllerNamespace: string;
  /** Whether `--impersonation` is on (see unsupported.ts). */
  impersonation?: boolean;
  /** Create the built-in `default` project at start when it is missing (Argo CD does); default true. */
  createDefaultProject?: boolean;
  /** `--watch-namespaces`: Applications are indexed from the controller namespace and these only. */
  watchNamespaces?: readonly string[];
}

/** Index of which Applications (`namespace/name`) reference which project. */
export class ProjectUsage {
  private readonly byApp = new Map<string, string>();

  /**
   * Records an app's project (undefined: the app is gone).
   * @returns the projects whose set of apps changed (the old and the new one), for re-queueing.
   */
  set(app: string, project: string | undefined): string[] {
    const old = this.byApp.get(app);
    if (old === project) return [];
    if (project === undefined) this.byApp.delete(app);
    else this.byApp.set(app, project);
    return [old, project].filter((p): p is string => p !== undefined);
  }

  /** The apps that reference `project`, sorted. */
  appsOf(project: string): string[] {
    const out: string[] = [];
    for (const [app, p] of this.byApp) if (p === project) out.push(app);
    return out.sort();
  }
}

/** The AppProject operator. */
export class AppProjectOperator extends QueuedOperator {
  private readonly usage = new ProjectUsage();
  /**
   * Which project events call for a reconcile (the shared filter, runtime/eventfilter.ts): spec, labels,
   * annotations, finalizers (the deletion guard), deletion mark or a recreation; its own status writes not.
   */
  private readonly projectEvents = new EventFilter([...DEFAULT_WATCHED_PARTS, 'finalizers', 'uid']);
  private stopped = false;

  /**
   * @param client - API client (project writes and the default project's creation).
   * @param projects - the shared project cache; this operator starts it.
   */
  constructor(
    private readonly api: KubeClient,
    private readonly projects: ProjectStore,
    private readonly settings: AppProjectSettings,
    log: Logger,
    concurrency: number,
  ) {
    super(log, {
      name: 'appproject',
      concurrency,
      namespaces: appNamespaces(settings.controllerNamespace, settings.watchNamespaces),
    });
  }

  protected async init(): Promise<void> {
    // Apps first: a deleting project must not lose its finalizer before every app has been seen.
    await this.watchResource('argoproj.io', 'v1alpha1', 'applications', (e) => this.appEvent(e));
    this.projects.onChange((name) => {
      if (this.projectEvents.observe(name, this.projects.get(name)) !== 'unchanged')
        this.queue.add(this.key(name));
    });
    await this.startStore();
    if (this.settings.createDefaultProject !== false) {
      if (await ensureDefaultProject(this.api, this.settings.controllerNamespace))
        this.log.info(`Created the built-in AppProject ${DEFAULT_PROJECT} (as Argo CD does at start).`);
    }
    for (const name of this.projects.names()) this.queue.add(this.key(name));
  }

  protected reconcile(key: string): Promise<ReconcileResult> {
    const { name } = parseKey(key);
    return reconcileProject(
      {
        client: this.api,
        log: this.log,
        namespace: this.settings.controllerNamespace,
        appsOf: (p) => this.usage.appsOf(p),
        impersonation: this.settings.impersonation,
      },
      name,
    );
  }

  /**
   * Starts the project informer, retrying its first list with the work queue's backoff (1 s doubling to
   * 30 s, with its jitter) like the operators' own watches: an API server that is not up yet, or a CRD
   * not yet established, delays the start but never exits the process.
   */
  private async startStore(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.projects.start();
      } catch (err) {
        if (this.stopped) return;
        const delayMs = retryDelay(attempt, {}, { baseDelayMs: 1000, maxDelayMs: 30_000, jitter: 0.1 });
        this.log.warn(
          `Listing AppProjects failed (attempt ${attempt}); retrying in ${(delayMs / 1000).toFixed(1)}s.`,
          { error: (err as Error).message },
        );
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** Stops the watches, the queue and a pending retry of the first project list. */
  override stop(): void {
    this.stopped = true;
    super.stop();
  }

  private key(name: string): string {
    return `AppProject/${this.settings.controllerNamespace}/${name}`;
  }

  private appEvent(e: ResourceEvent): void {
    const app = `${e.meta.namespace ?? ''}/${e.meta.name}`;
    const spec = (e.object as { spec?: { project?: unknown } }).spec;
    const project =
      e.type === ResourceEventType.Deleted
        ? undefined
        : typeof spec?.project === 'string' && spec.project !== ''
          ? spec.project
          : DEFAULT_PROJECT; // as Argo CD's Spec.GetProject()
    for (const p of this.usage.set(app, project)) this.queue.add(this.key(p));
  }
}
