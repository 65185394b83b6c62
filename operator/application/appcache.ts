/**
 * The Applications as the operator's watch last showed them, so that a reconcile reads its app without a
 * GET (issue 10 §2: one GET per reconcile). The watch handler records every event before it enqueues the
 * key, so the cached app is at least as new as the event that queued the reconcile; capstan's own writes
 * are recorded from the API server's answers (write-through), so a reconcile right after one never reads
 * its app from before it. A version never replaces a newer one (resourceVersions compared as numbers,
 * as etcd issues them). `managedFields` are not kept. Without a cached app (another process's cache, a
 * test) the reconcile GETs it, as before.
 */
import { olderVersion } from '../sync/recent';
import { App, getApp, REFRESH_ANNOTATION } from './api';
import { ApplicationContext } from './context';

/** The Applications last seen, by `namespace/name`. */
export class AppCache {
  private readonly apps = new Map<string, App>();
  /** When each pending refresh request (the refresh annotation) was first seen, epoch ms, by key. */
  private readonly refreshes = new Map<string, number>();

  /** @param now - clock in epoch ms (tests). */
  constructor(private readonly now: () => number = Date.now) {}

  /** Records an app from a watch event or a write's answer, unless a newer version is held. */
  observe(app: App | undefined): void {
    if (!app?.metadata?.name || !app.metadata.namespace) return;
    const k = key(app.metadata.namespace, app.metadata.name);
    const held = this.apps.get(k);
    if (
      held &&
      held.metadata.uid === app.metadata.uid &&
      olderVersion(app.metadata.resourceVersion, held.metadata.resourceVersion)
    )
      return;
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { managedFields, ...metadata } = app.metadata;
    this.apps.set(k, { ...app, metadata });
    if (!app.metadata.annotations?.[REFRESH_ANNOTATION]) this.refreshes.delete(k);
    else if (!this.refreshes.has(k)) this.refreshes.set(k, this.now());
  }

  /**
   * When the app's pending refresh request was first seen (epoch ms): the request was written before
   * then, so a repository listing started since answers it (sources/revisioncache.ts). Undefined when
   * no request is pending in the cache.
   */
  refreshSeenAt(namespace: string, name: string): number | undefined {
    return this.refreshes.get(key(namespace, name));
  }

  /** Forgets a deleted app. */
  delete(namespace: string, name: string): void {
    this.apps.delete(key(namespace, name));
    this.refreshes.delete(key(namespace, name));
  }

  /** A copy of the cached app (a reconcile changes its copy as it writes), or undefined. */
  get(namespace: string, name: string): App | undefined {
    const app = this.apps.get(key(namespace, name));
    return app ? structuredClone(app) : undefined;
  }

  /** Apps held. */
  get size(): number {
    return this.apps.size;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * The app a reconcile works on: the cached one, else one GET. An app being deleted is always read with a
 * GET: its finalizers are removed by the deletion steps (deletion.ts), and a reconcile that acted on a
 * cached copy still listing a removed finalizer would repeat a step already done (delete the objects a
 * PostDelete hook has just created).
 * @returns undefined when it does not exist.
 */
export async function loadApp(
  ctx: ApplicationContext,
  namespace: string,
  name: string,
): Promise<App | undefined> {
  const cached = ctx.apps?.get(namespace, name);
  if (cached && !cached.metadata.deletionTimestamp) return cached;
  return getApp(ctx.client, namespace, name);
}

/** Another app (an app-of-apps cycle's member): cached, else one GET. */
export async function readApp(
  ctx: ApplicationContext,
  namespace: string,
  name: string,
): Promise<App | undefined> {
  return loadApp(ctx, namespace, name);
}

/** Records what a write of capstan answered (the app as stored now). */
export function wrote(ctx: ApplicationContext, stored: App | undefined): void {
  if (stored) ctx.apps?.observe(stored);
}
