/**
 * The Applications as the operator's watch last showed them, so that a reconcile reads its app without a
 * GET (issue 10 §2: one GET per reconcile). The watch handler records every event before it enqueues the
 * key, so the cached app is at least as new as the event that queued the reconcile; capstan's own writes
 * are recorded from the API server's answers (write-through), so a reconcile right after one never reads
 * its app from before it. A version never replaces a newer one (resourceVersions compared as numbers,
 * as etcd issues them). `managedFields` are not kept. Without a cached app (another process's cache, a
 * test) the reconcile GETs it, as before.
 *
 * It also holds the refresh requests made inside the process (the git webhook on the leader,
 * webhook/index.ts): the same request as the refresh annotation, without its two writes (the user's
 * annotation and the reconcile's removal of it). At 10,000 apps a webhook push that concerns every app
 * costs one status write per app instead of three writes.
 */
import { olderVersion } from '../sync/recent';
import { App, getApp, REFRESH_ANNOTATION } from './api';
import { ApplicationContext } from './context';

/** Argo CD's refresh types (the refresh annotation's values). */
export type RefreshType = 'normal' | 'hard';

/** A refresh request made in this process. */
export interface RefreshRequest {
  /** When it was made (epoch ms): a repository listing started since answers it. */
  at: number;
  type: RefreshType;
}

/** The Applications last seen, by `namespace/name`. */
export class AppCache {
  private readonly apps = new Map<string, App>();
  /** When each pending refresh request (the refresh annotation) was first seen, epoch ms, by key. */
  private readonly refreshes = new Map<string, number>();
  /** Refresh requests made in this process ({@link requestRefresh}), by key. */
  private readonly requested = new Map<string, RefreshRequest>();

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

  /**
   * Records a refresh request made in this process, with the semantics of the refresh annotation
   * (`normal` or `hard`): the next reconcile of the app reads the repositories' current commits from a
   * listing that started after now, and writes `reconciledAt`. A second request before that reconcile
   * dates the pending one anew (a listing must follow the later push too) and makes it hard if either
   * is. The caller enqueues the app.
   * @returns false when the app is not in the cache (not watched here, or deleted): nothing recorded.
   */
  requestRefresh(namespace: string, name: string, type: RefreshType = 'normal'): boolean {
    const k = key(namespace, name);
    if (!this.apps.has(k)) return false;
    const held = this.requested.get(k);
    this.requested.set(k, { at: this.now(), type: held?.type === 'hard' ? 'hard' : type });
    return true;
  }

  /** Takes (removes) the app's pending in-process refresh request, if any: a reconcile answers it. */
  takeRefreshRequest(namespace: string, name: string): RefreshRequest | undefined {
    const k = key(namespace, name);
    const request = this.requested.get(k);
    this.requested.delete(k);
    return request;
  }

  /**
   * Every app held, as stored (read-only: callers must not change them), for a reader that matches
   * apps without a watch of its own (the git webhook on the leader).
   */
  values(): IterableIterator<Readonly<App>> {
    return this.apps.values();
  }

  /** Forgets a deleted app. */
  delete(namespace: string, name: string): void {
    this.apps.delete(key(namespace, name));
    this.refreshes.delete(key(namespace, name));
    this.requested.delete(key(namespace, name));
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

/**
 * Since when a repository listing answers the refresh requests a reconcile takes (the `since` of
 * sources/revisioncache.ts forget): the latest of the annotation's first sight and the in-process
 * request's time, as a listing must follow both.
 * @param annotationSeenAt - undefined: no annotation; null: an annotation the cache did not date (then
 *   undefined is returned: only a listing from now on answers it).
 * @returns epoch ms, or undefined for "now".
 */
export function refreshSince(
  annotationSeenAt: number | null | undefined,
  asked: RefreshRequest | undefined,
): number | undefined {
  if (annotationSeenAt === null) return undefined;
  if (annotationSeenAt === undefined) return asked?.at;
  return Math.max(annotationSeenAt, asked?.at ?? annotationSeenAt);
}

/**
 * The refresh a reconcile answers: `hard` when the annotation or the in-process request asks for it,
 * else the annotation's value or the request's type; undefined when neither is pending.
 */
export function refreshTaken(
  annotation: string | undefined,
  asked: RefreshRequest | undefined,
): string | undefined {
  if (annotation === 'hard' || asked?.type === 'hard') return 'hard';
  return annotation || asked?.type;
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
