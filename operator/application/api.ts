/**
 * Reading and patching Application objects (`argoproj.io/v1alpha1`), and the annotation keys capstan
 * honours on them, as Argo CD.
 */
import { KubeClient, isNotFound } from '../kube/client';
import { Application } from '../../generated/application';

/** An Application as read from the API server (name and namespace always set). */
export type App = Application & { metadata: Application['metadata'] & { name: string; namespace: string } };

/** `normal` or `hard`: refresh now; removed once handled (Argo CD). */
export const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh';
/** `"true"` pauses reconciliation of the app (Argo CD). */
export const SKIP_RECONCILE_ANNOTATION = 'argocd.argoproj.io/skip-reconcile';
/** Argo CD's cascade-deletion finalizer (foreground); `/background` and `/foreground` variants too. */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

const path = (namespace: string, name?: string): string =>
  `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/applications${name ? '/' + encodeURIComponent(name) : ''}`;

/** Reads an Application; undefined when it does not exist. */
export async function getApp(client: KubeClient, namespace: string, name: string): Promise<App | undefined> {
  try {
    return await client.request<App>('GET', path(namespace, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * JSON merge patch of the Application (metadata, spec, operation). Ignores a vanished app.
 * @returns the app as stored (undefined when it vanished).
 */
export async function patchApp(
  client: KubeClient,
  app: App,
  patch: Record<string, unknown>,
): Promise<App | undefined> {
  try {
    return await client.request<App>('PATCH', path(app.metadata.namespace, app.metadata.name), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return undefined;
  }
}

/**
 * JSON merge patch of the status subresource (arrays are replaced whole). Ignores a vanished app.
 * @returns the app as stored (undefined when it vanished).
 */
export async function patchAppStatus(
  client: KubeClient,
  app: App,
  status: Record<string, unknown>,
): Promise<App | undefined> {
  try {
    return await client.request<App>('PATCH', path(app.metadata.namespace, app.metadata.name) + '/status', {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return undefined;
  }
}

/**
 * Replaces the finalizers list, guarded by resourceVersion (a conflict is retried by the queue).
 * @returns the app as stored.
 */
export async function setFinalizers(client: KubeClient, app: App, finalizers: string[]): Promise<App> {
  return client.request<App>('PATCH', path(app.metadata.namespace, app.metadata.name), {
    body: { metadata: { finalizers, resourceVersion: app.metadata.resourceVersion } },
    contentType: 'application/merge-patch+json',
  });
}
