/**
 * One reconcile of one AppProject, level-based (it reads the project and the apps that reference it, never
 * the event):
 *
 *   get project -> absent: nothing (the built-in `default` is created at start, see {@link ensureDefaultProject})
 *   -> finalizer: kept while applications reference the project, removed when none does (so that a deleting
 *      project goes as soon as its last app goes, and an unused project is never stuck behind capstan)
 *   -> conditions: InvalidSpecError (schema and Argo CD's rules, each naming the field), UnsupportedFields,
 *      DeletionBlocked.
 *
 * Argo CD refuses, through its API server, to delete a project that apps use; capstan has no API server, so
 * it does the same with the finalizer Argo CD puts on projects (`resources-finalizer.argocd.argoproj.io`):
 * a `kubectl delete` of a used project leaves it in place, with a DeletionBlocked condition naming the apps.
 */
import { KubeClient, isNotFound, isConflict } from '../kube/client';
import type { Logger } from '../log';
import type { ReconcileResult } from '../runtime/workqueue';
import type { AppProjectSpec } from '../../generated/appproject';
import type { AppProjectObject } from './store';
import {
  projectConditions,
  projectPath,
  projectsPath,
  setProjectFinalizers,
  writeProjectConditions,
} from './status';
import { unsupportedProjectFields } from './unsupported';
import { projectProblems } from './validate';

/** The finalizer that keeps a project while applications use it; Argo CD's name for it on projects. */
export const PROJECT_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/** The name of Argo CD's built-in project. */
export const DEFAULT_PROJECT = 'default';

/**
 * The spec Argo CD gives the `default` project it creates at start: any repository, any destination, any
 * kind. Admins restrict it by editing it (it is not re-created while it exists).
 */
export const DEFAULT_PROJECT_SPEC: AppProjectSpec = {
  sourceRepos: ['*'],
  destinations: [{ server: '*', namespace: '*' }],
  clusterResourceWhitelist: [{ group: '*', kind: '*' }],
};

/** What a project reconcile needs. */
export interface ProjectContext {
  client: KubeClient;
  log: Logger;
  /** The controller's namespace: projects live there. */
  namespace: string;
  /** `namespace/name` of every Application whose `spec.project` names the project, sorted. */
  appsOf(project: string): string[];
  /** Whether `--impersonation` is on (decides whether destinationServiceAccounts is reported unsupported). */
  impersonation?: boolean;
}

/**
 * Creates the `default` project with Argo CD's permissive spec when it does not exist, as Argo CD's server
 * does at start. An existing `default` is never touched.
 * @returns whether it was created.
 * @throws KubeApiError on API failures other than AlreadyExists (409).
 */
export async function ensureDefaultProject(client: KubeClient, namespace: string): Promise<boolean> {
  try {
    await client.request('GET', projectPath(namespace, DEFAULT_PROJECT));
    return false;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await client.request('POST', projectsPath(namespace), {
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: DEFAULT_PROJECT, namespace },
        spec: DEFAULT_PROJECT_SPEC,
      },
    });
    return true;
  } catch (err) {
    if (isConflict(err)) return false;
    throw err;
  }
}

/** The finalizers a project should have: the guard while apps reference it, none of ours otherwise. */
export function wantedFinalizers(current: string[], used: boolean): string[] {
  const others = current.filter((f) => f !== PROJECT_FINALIZER);
  return used ? [...others, PROJECT_FINALIZER] : others;
}

/**
 * Reconciles the AppProject `name` of the controller's namespace.
 * @returns nothing: a project changes only through events (its own, or its apps').
 * @throws on API failures: the work queue retries with backoff.
 */
export async function reconcileProject(ctx: ProjectContext, name: string): Promise<ReconcileResult> {
  let project: AppProjectObject;
  try {
    // A fresh read, not the cache: the finalizer patch is guarded by this resourceVersion.
    project = await ctx.client.request<AppProjectObject>('GET', projectPath(ctx.namespace, name));
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  const apps = ctx.appsOf(name);
  const deleting = !!project.metadata.deletionTimestamp;
  const current = project.metadata.finalizers ?? [];
  // The API server refuses a new finalizer on an object being deleted: a project deleted before any app
  // used it (so before capstan put the guard on) is gone as soon as the deletion is asked.
  const finalizers =
    deleting && !current.includes(PROJECT_FINALIZER) ? current : wantedFinalizers(current, apps.length > 0);
  if (finalizers.join('\n') !== current.join('\n')) {
    await setProjectFinalizers(ctx.client, project, finalizers);
    if (deleting)
      ctx.log.info('AppProject no longer used by any application; deletion proceeds.', { project: name });
    // The patch changed the resourceVersion; its watch event re-queues this key for the status.
    return {};
  }
  if (deleting && apps.length && current.includes(PROJECT_FINALIZER))
    ctx.log.info('AppProject deletion waits for its applications.', { project: name, apps: apps.length });
  // The same validator as the store's `problems`, which the apps of the project read.
  const problems = projectProblems(project);
  const conditions = projectConditions(
    problems,
    unsupportedProjectFields(project.spec, { impersonation: ctx.impersonation }),
    // Only our finalizer blocks: without it (deleted before any app used it) the project is going anyway.
    deleting && current.includes(PROJECT_FINALIZER) ? apps : [],
  );
  if (await writeProjectConditions(ctx.client, project, conditions, new Date().toISOString())) {
    if (problems.length)
      ctx.log.warn('AppProject is invalid; its applications are not synced.', {
        project: name,
        reason: problems.join('; '),
      });
  }
  return {};
}
