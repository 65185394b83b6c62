/**
 * The informer cache of AppProjects: one list-then-watch of `appprojects.argoproj.io` in the controller's
 * namespace (where Argo CD keeps projects), so that an Application reconcile reads its project from memory
 * instead of a GET per reconcile, and so that a project change reaches its apps within a second (the
 * Application operator subscribes with {@link ProjectStore.onChange} and re-queues exactly those apps).
 *
 * The store also answers whether a project is valid: {@link ProjectStore.problems} runs the AppProject
 * validator (schema and Argo CD's rules) on the cached object, memoised per resourceVersion, so that every
 * app of an invalid project gets the same `InvalidSpecError` the AppProject operator writes on the project.
 */
import { KubeClient } from '../kube/client';
import type { ResourceType } from '../kube/discovery';
import { Informer, type InformerOptions } from '../kube/informer';
import type { KubeObject } from '../kube/object';
import type { WatchLoopClient } from '../kube/watchloop';
import type { AppProjectSpec } from '../../generated/appproject';
import { projectProblems } from './validate';

/** The AppProject resource type (`argoproj.io/v1alpha1`, namespaced). */
export const APPPROJECT_RESOURCE: ResourceType = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  kind: 'AppProject',
  plural: 'appprojects',
  namespaced: true,
};

/** An AppProject as the store holds it (the API server's object; only these fields are read). */
export interface AppProjectObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  /** The project's rules; a superset of permissions.ts' `ProjectSpec`. */
  spec?: AppProjectSpec;
  status?: unknown;
}

/** Options of a {@link ProjectStore}. */
export interface ProjectStoreOptions {
  /** Reports retried watch failures. */
  onError?: (err: unknown) => void;
  /** Backoff and clock of the list-watch loop (tests). */
  loop?: InformerOptions['loop'];
}

/** A read-only, in-memory view of the AppProjects of the controller's namespace. */
export class ProjectStore {
  private readonly informer: Informer;
  private readonly listeners: Array<(name: string) => void> = [];
  private readonly memo = new Map<string, { rv: string; problems: string[] }>();
  private started?: Promise<void>;

  /**
   * @param client - API client (reads only).
   * @param namespace - the controller's namespace: Argo CD reads projects only from there.
   * @param opts - watch-failure reporter, loop options (tests).
   */
  constructor(
    client: KubeClient | WatchLoopClient,
    readonly namespace: string,
    opts: ProjectStoreOptions = {},
  ) {
    this.informer = new Informer(client, APPPROJECT_RESOURCE, '', (_type, obj) => this.changed(obj), {
      namespace,
      onError: opts.onError,
      loop: opts.loop,
    });
  }

  /**
   * Lists the projects and starts the watch; resolves after the initial list. Idempotent.
   * @throws the initial list's KubeApiError (call again to retry); later watch failures are retried inside.
   */
  start(): Promise<void> {
    if (!this.started) {
      this.started = this.informer.start();
      this.started.catch(() => (this.started = undefined));
    }
    return this.started;
  }

  /** Resolves after the initial list (starts the store if nobody did). */
  ready(): Promise<void> {
    return this.start();
  }

  /** The project by name from the informer cache (controller namespace); undefined when absent. No API call. */
  get(name: string): AppProjectObject | undefined {
    return this.informer.get(this.namespace, name) as AppProjectObject | undefined;
  }

  /** The names of every cached project. */
  names(): string[] {
    return this.informer.list().map((o) => o.metadata.name ?? '');
  }

  /**
   * Validation problems of a project, each as `field.path: problem` (empty when valid or absent), as the
   * AppProject operator's validator computes them ({@link projectProblems}); memoised per resourceVersion.
   */
  problems(name: string): string[] {
    const obj = this.get(name);
    if (!obj) return [];
    const rv = obj.metadata.resourceVersion ?? '';
    const hit = this.memo.get(name);
    if (hit && hit.rv === rv && rv !== '') return hit.problems;
    const problems = projectProblems(obj);
    this.memo.set(name, { rv, problems });
    return problems;
  }

  /** Calls `fn(name)` after any project is created, changed or deleted (not for the initial list). */
  onChange(fn: (name: string) => void): void {
    this.listeners.push(fn);
  }

  /** Stops the watch. */
  stop(): void {
    this.informer.stop();
  }

  private changed(obj: KubeObject): void {
    const name = obj.metadata.name ?? '';
    this.memo.delete(name);
    for (const fn of this.listeners) fn(name);
  }
}
