/**
 * Cascade deletion, as Argo CD: an Application carrying `resources-finalizer.argocd.argoproj.io`
 * (foreground, or its `/background` variant) deletes every object it tracks, waits until they are
 * gone, and only then removes its finalizer. Without the finalizer the objects stay.
 */
import { deleteObject } from '../kube/apply';
import { isNotFound } from '../kube/client';
import { ReconcileResult } from '../runtime/workqueue';
import { App, RESOURCES_FINALIZER, setFinalizers } from './api';
import { ApplicationContext } from './context';
import { watchRecordedKinds } from './compare';
import { appInstanceName, trackedBy } from './tracking';
import { SYNC_OPTIONS_ANNOTATION } from '../sync/annotations';
import { KubeObject } from '../kube/object';

const syncOptionsOf = (obj: KubeObject): string[] =>
  (obj.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',').map((s) => s.trim());

const OURS = [RESOURCES_FINALIZER, `${RESOURCES_FINALIZER}/foreground`, `${RESOURCES_FINALIZER}/background`];

/** Handles an app being deleted; returns a short requeue while its objects are still going away. */
export async function handleDeletion(ctx: ApplicationContext, app: App): Promise<ReconcileResult> {
  const finalizers = app.metadata.finalizers ?? [];
  const ours = finalizers.filter((f) => OURS.includes(f));
  if (!ours.length) return {};
  const policy = ours.some((f) => f.endsWith('/background')) ? 'Background' : 'Foreground';
  const instance = appInstanceName(
    app.metadata.namespace,
    app.metadata.name,
    ctx.settings.controllerNamespace,
  );
  await watchRecordedKinds(ctx, app.status?.resources ?? []);
  // `Delete=false` (sync option): the object outlives the app (Argo CD).
  const remaining = ctx.live
    .all()
    .filter(({ obj }) => trackedBy(obj) === instance && !syncOptionsOf(obj).includes('Delete=false'));
  for (const { rt, obj } of remaining) {
    if (obj.metadata.deletionTimestamp) continue;
    await deleteObject(ctx.client, rt, obj.metadata.namespace, obj.metadata.name ?? '', policy).catch(
      (err: unknown) => {
        if (!isNotFound(err)) throw err;
      },
    );
  }
  if (remaining.length) {
    ctx.log.info(`Waiting for ${remaining.length} resources to be deleted.`, {
      app: `${app.metadata.namespace}/${app.metadata.name}`,
    });
    return { requeueAfterMs: 1000 };
  }
  await setFinalizers(
    ctx.client,
    app,
    finalizers.filter((f) => !OURS.includes(f)),
  );
  return {};
}
