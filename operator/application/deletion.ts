/**
 * Cascade deletion and PostDelete hooks, as Argo CD:
 * - an Application carrying `resources-finalizer.argocd.argoproj.io` (foreground, or its `/background`
 *   variant) deletes every object it tracks (except those with sync option `Delete=false`), waits
 *   until they are gone, and only then removes that finalizer; without it the objects stay;
 * - an Application whose manifests hold `PostDelete` hooks carries `post-delete-finalizer.argocd.argoproj.io`
 *   (capstan adds it, as Argo CD does); once the resources are gone the hooks are rendered from git,
 *   run and waited for, and the finalizer is removed. A failing hook keeps the app and is retried.
 */
import { deleteObject } from '../kube/apply';
import { KubeClient, isNotFound } from '../kube/client';
import { writerFor } from './impersonation';
import { KubeObject } from '../kube/object';
import { ReconcileResult } from '../runtime/workqueue';
import { SYNC_OPTIONS_ANNOTATION } from '../sync/annotations';
import { runToCompletion } from '../sync/engine';
import { SyncTask } from '../sync/plan';
import { syncWave } from '../sync/waves';
import { App, RESOURCES_FINALIZER, setFinalizers } from './api';
import { compareApp, watchRecordedKinds } from './compare';
import { liveObjectViolation, projectGate } from './project';
import { ApplicationContext } from './context';
import { appInstanceName, trackedBy } from '../sync/tracking';

/** Argo CD's finalizer that holds an app until its PostDelete hooks have run. */
export const POST_DELETE_FINALIZER = 'post-delete-finalizer.argocd.argoproj.io';
const RESOURCE_FINALIZERS = [
  RESOURCES_FINALIZER,
  `${RESOURCES_FINALIZER}/foreground`,
  `${RESOURCES_FINALIZER}/background`,
];

const syncOptionsOf = (obj: KubeObject): string[] =>
  (obj.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',').map((s) => s.trim());

const appKey = (app: App) => `${app.metadata.namespace}/${app.metadata.name}`;

/**
 * Handles an app being deleted; returns a short requeue while its objects are still going away.
 * @throws when a PostDelete hook fails or git cannot be read (retried with backoff).
 */
export async function handleDeletion(ctx: ApplicationContext, app: App): Promise<ReconcileResult> {
  const finalizers = app.metadata.finalizers ?? [];
  const cascade = finalizers.filter((f) => RESOURCE_FINALIZERS.includes(f));
  // The cascade delete and PostDelete hooks are writes of the app: with --impersonation they act as
  // its project's service account (an ImpersonationError is retried with backoff, objects are kept).
  const writer =
    cascade.length || finalizers.includes(POST_DELETE_FINALIZER) ? writerFor(ctx, app) : ctx.client;
  if (cascade.length) {
    const remaining = await deleteTrackedObjects(
      { ...ctx, client: writer },
      app,
      cascade.some((f) => f.endsWith('/background')) ? 'Background' : 'Foreground',
    );
    if (remaining) {
      ctx.log.info(`Waiting for ${remaining} resources to be deleted.`, { app: appKey(app) });
      return { requeueAfterMs: 1000 };
    }
  }
  if (finalizers.includes(POST_DELETE_FINALIZER)) await runPostDeleteHooks(ctx, app, writer);
  const rest = finalizers.filter((f) => !RESOURCE_FINALIZERS.includes(f) && f !== POST_DELETE_FINALIZER);
  if (rest.length !== finalizers.length) await setFinalizers(ctx.client, app, rest);
  return {};
}

/** Deletes every tracked object not yet being deleted; returns how many are still there. */
async function deleteTrackedObjects(
  ctx: ApplicationContext,
  app: App,
  policy: 'Foreground' | 'Background',
): Promise<number> {
  const instance = appInstanceName(
    app.metadata.namespace,
    app.metadata.name,
    ctx.settings.controllerNamespace,
  );
  await watchRecordedKinds(ctx, app.status?.resources ?? []);
  // As Argo CD, objects the project does not permit (it was tightened since they were applied) are kept.
  const gate = await projectGate(ctx, app);
  const remaining = ctx.live
    .all()
    .filter(
      ({ rt, obj }) =>
        trackedBy(obj) === instance &&
        !syncOptionsOf(obj).includes('Delete=false') &&
        !liveObjectViolation(gate, rt, obj),
    );
  for (const { rt, obj } of remaining) {
    if (obj.metadata.deletionTimestamp) continue;
    await deleteObject(ctx.client, rt, obj.metadata.namespace, obj.metadata.name ?? '', policy).catch(
      (err: unknown) => {
        if (!isNotFound(err)) throw err;
      },
    );
  }
  return remaining.length;
}

async function runPostDeleteHooks(ctx: ApplicationContext, app: App, writer: KubeClient): Promise<void> {
  const instance = appInstanceName(
    app.metadata.namespace,
    app.metadata.name,
    ctx.settings.controllerNamespace,
  );
  const cmp = await compareApp(ctx, app, instance);
  const tasks: SyncTask[] = cmp.hooks
    .filter((h) => h.types.includes('PostDelete'))
    .map((h) => ({
      phase: 'Sync',
      wave: syncWave(h.resource.target!),
      action: 'hook',
      resource: h.resource,
      hookType: 'PostDelete',
    }));
  if (!tasks.length) return;
  const outcome = await runToCompletion(
    { ...ctx, client: writer },
    tasks.sort((a, b) => a.wave - b.wave),
    { prune: false, operationId: `${app.metadata.uid ?? appKey(app)}/post-delete` },
  );
  ctx.log.info(`PostDelete hooks ${outcome.phase.toLowerCase()}: ${outcome.message}`, { app: appKey(app) });
  if (outcome.phase !== 'Succeeded') throw new Error(`PostDelete hooks failed: ${outcome.message}`);
}

/** True when the app's manifests hold PostDelete hooks and it lacks the finalizer that runs them. */
export function needsPostDeleteFinalizer(app: App, hooks: Array<{ types: string[] }>): boolean {
  return (
    hooks.some((h) => h.types.includes('PostDelete')) &&
    !(app.metadata.finalizers ?? []).includes(POST_DELETE_FINALIZER)
  );
}
