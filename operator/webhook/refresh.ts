/**
 * What a verified push does: the Applications it concerns get Argo CD's refresh annotation
 * (`argocd.argoproj.io/refresh: normal`, as Argo CD's `RefreshApp`), and the shared `ls-remote` answers
 * of the pushed repository are forgotten. The Application operator then refreshes each app exactly as
 * after a user's `argocd app get --refresh`: it reads the repository's current commit and, with automated
 * sync, applies it.
 *
 * Pushes are handled one batch at a time by one worker: pushes that arrive while a batch runs are
 * handled together in the next one. The Applications come from an informer (appindex.ts), or from
 * one LIST per batch until it has listed. At most
 * {@link MAX_PENDING} pushes wait; beyond that the request is refused (503) and the provider retries.
 * The annotation is written through its own client without the leader's write fence, like a user's
 * request: a standby replica that receives a push refreshes the apps through the API and the leader does
 * the work. On the leader, once its Application operator runs, the refresh is asked in-process instead
 * ({@link localRefreshTarget}): same semantics, no annotation written or removed, and the apps are
 * matched from the operator's own cache (no watch of the webhook's own). capstan does better than
 * Argo CD here, whose webhook handler always patches the annotation.
 */
import { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { withoutUserinfo } from '../sources/credentials';
import { pushRefreshesApp, pushedRepoURLs, type AppRef } from './match';
import type { PushEvent } from './payload';

/** Argo CD's refresh annotation (application/api.ts REFRESH_ANNOTATION). */
const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh';

/** Pushes that may wait for the worker; a push beyond them is refused. */
export const MAX_PENDING = 100;

/** Refresh annotations written at once. */
const PARALLEL_PATCHES = 10;

/** Applications per page of the LIST. */
const PAGE = 500;

/** Where a {@link PushRefresher} reads and refreshes Applications. */
export interface RefreshTarget {
  /** Every Application capstan reconciles (the watched namespaces). */
  listApps(): Promise<AppRef[]>;
  /** Sets the refresh annotation of one app. */
  refreshApp(namespace: string, name: string): Promise<void>;
  /** Forgets the shared `ls-remote` answers of these repositories (as the apps write their URLs). */
  forgetRevisions(repoURLs: string[]): void;
}

/** The outcome of one push, for logs and tests. */
export interface PushOutcome {
  push: PushEvent;
  /** `namespace/name` of each app refreshed. */
  refreshed: string[];
}

/** Runs pushes through a {@link RefreshTarget}, one batch at a time. */
export class PushRefresher {
  private pending: PushEvent[] = [];
  private running?: Promise<void>;

  constructor(
    private target: RefreshTarget,
    private readonly log: Logger,
    private readonly onOutcome: (o: PushOutcome) => void = () => undefined,
  ) {}

  /**
   * Queues a push.
   * @returns false when {@link MAX_PENDING} pushes already wait (the caller answers 503).
   */
  add(push: PushEvent): boolean {
    if (this.pending.length >= MAX_PENDING) return false;
    this.pending.push(push);
    // Started on the next turn of the event loop, so that pushes of the same moment share a batch.
    this.running ??= new Promise<void>((r) => setImmediate(r))
      .then(() => this.drain())
      .finally(() => (this.running = undefined));
    return true;
  }

  /** Handles the next pushes through `target` (the leader's Application operator once it runs). */
  retarget(target: RefreshTarget): void {
    this.target = target;
  }

  /** Resolves when every queued push was handled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.handle(batch);
      } catch (err) {
        // The provider got its 200 already; the periodic refresh still sees the commit later.
        this.log.warn('Webhook push not handled: the Applications could not be listed.', {
          error: (err as Error).message,
        });
      }
    }
  }

  private async handle(batch: PushEvent[]): Promise<void> {
    const apps = await this.target.listApps();
    // `namespace/name` of the apps this batch asked to refresh (the listed objects are not changed).
    const asked = new Set<string>();
    for (const push of batch) {
      this.target.forgetRevisions(pushedRepoURLs(push, apps));
      const matched = apps.filter((a) => pushRefreshesApp(push, a));
      const refreshed: string[] = [];
      // A monorepo push may concern hundreds of apps: PATCHes go out PARALLEL_PATCHES at a time.
      for (let i = 0; i < matched.length; i += PARALLEL_PATCHES) {
        const chunk = matched.slice(i, i + PARALLEL_PATCHES);
        const done = await Promise.all(chunk.map((app) => this.refreshOnce(app, asked)));
        refreshed.push(...done.filter((k): k is string => k !== undefined));
      }
      this.log.info(
        `Webhook push to ${withoutUserinfo(push.repoURLs[0])} ${push.revision}: refreshing ${refreshed.length} Application(s).`,
        {
          provider: push.provider,
          apps: refreshed.slice(0, 20),
        },
      );
      this.onOutcome({ push, refreshed });
    }
  }

  /**
   * Sets the refresh annotation of one app unless a refresh is pending already (perhaps hard) or an
   * earlier push of this batch asked for one.
   * @returns the app's `namespace/name` when its refresh is asked for, undefined when the PATCH failed.
   */
  private async refreshOnce(app: AppRef, asked: Set<string>): Promise<string | undefined> {
    const { namespace = '', name = '' } = app.metadata;
    const key = `${namespace}/${name}`;
    if (app.metadata.annotations?.[REFRESH_ANNOTATION] || asked.has(key)) return key;
    asked.add(key);
    try {
      await this.target.refreshApp(namespace, name);
      return key;
    } catch (err) {
      asked.delete(key);
      this.log.warn('Webhook could not refresh an Application.', { app: key, error: (err as Error).message });
      return undefined;
    }
  }
}

/**
 * A {@link RefreshTarget} on the API server.
 * @param namespaces - the namespaces whose Applications capstan reconciles; undefined: all.
 * @param forget - the Application operator's revision cache `forget` (nothing when it does not run here).
 * @param index - the mirrored apps (appindex.ts); a LIST answers while it has not listed yet.
 */
export function kubeRefreshTarget(
  client: KubeClient,
  namespaces: string[] | undefined,
  forget: (repoURLs: string[]) => void,
  index?: { apps(): AppRef[] | undefined },
): RefreshTarget {
  const base = '/apis/argoproj.io/v1alpha1';
  return {
    async listApps() {
      const mirrored = index?.apps();
      if (mirrored) return mirrored;
      const paths = namespaces
        ? namespaces.map((ns) => `${base}/namespaces/${encodeURIComponent(ns)}/applications`)
        : [`${base}/applications`];
      const apps: AppRef[] = [];
      for (const p of paths) apps.push(...(await listAll(client, p)));
      return apps;
    },
    async refreshApp(namespace, name) {
      await client.request(
        'PATCH',
        `${base}/namespaces/${encodeURIComponent(namespace)}/applications/${encodeURIComponent(name)}`,
        {
          body: { metadata: { annotations: { [REFRESH_ANNOTATION]: 'normal' } } },
          contentType: 'application/merge-patch+json',
        },
      );
    },
    forgetRevisions: forget,
  };
}

/** The Application operator of this process (on the leader), as the webhook uses it. */
export interface LocalApps {
  /** The apps as the operator's watch last showed them (read-only). */
  apps(): Iterable<AppRef>;
  /**
   * Asks for a `normal` refresh of one app, as the refresh annotation would, without writing it.
   * @returns false when the app is not watched here.
   */
  refresh(namespace: string, name: string): boolean;
}

/**
 * A {@link RefreshTarget} inside the process: the apps from the Application operator's cache, each
 * refresh asked in-process (application/operator.ts refreshApp). A no-op refresh of an app then costs
 * its one status write (`reconciledAt`) instead of the annotation's write, its removal and the status
 * write.
 * @param forget - the Application operator's revision cache `forget`.
 */
export function localRefreshTarget(local: LocalApps, forget: (repoURLs: string[]) => void): RefreshTarget {
  return {
    listApps: () => Promise.resolve([...local.apps()]),
    refreshApp(namespace, name) {
      if (!local.refresh(namespace, name))
        return Promise.reject(new Error('the Application is not watched (deleted meanwhile?)'));
      return Promise.resolve();
    },
    forgetRevisions: forget,
  };
}

/** Every item of a LIST, page by page, reduced to what the match reads (status is dropped at once). */
async function listAll(client: KubeClient, path: string): Promise<AppRef[]> {
  const out: AppRef[] = [];
  let next: string | undefined;
  do {
    const page = await client.request<{ items?: AppRef[]; metadata?: { continue?: string } }>('GET', path, {
      query: { limit: PAGE, ...(next ? { continue: next } : {}) },
    });
    for (const a of page.items ?? []) {
      const { name, namespace, annotations } = a.metadata;
      out.push({
        metadata: { name, namespace, annotations },
        spec: { source: a.spec?.source, sources: a.spec?.sources },
      });
    }
    next = page.metadata?.continue || undefined;
  } while (next);
  return out;
}
