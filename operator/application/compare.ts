/**
 * Comparison: desired state from git against live state, per resource, as Argo CD's app state manager
 * does. A pipeline of steps, each in its own file:
 *
 *   desired.ts     check what the app may read -> resolve revisions -> render (rendercache.ts, cached by
 *                  commit and source) -> dedupe, hooks apart -> place, track, project check (targets.ts)
 *   assess.ts      live objects from the live cache (livestate.ts, no GET) -> diff (server-side dry-run,
 *                  cached; none for what capstan's own apply stored) -> prune candidates (prune.ts) -> status
 *
 * A reconcile computes the desired state once per revision set and assesses it again after a sync.
 */
import { IgnoreRule } from '../diff/ignore';
import { SourceSpec } from '../render';
import type { ManagedResource, ResourceSyncStatus } from '../sync/resource';
import type { HookType } from '../sync/hooks';
import { ApplicationContext } from './context';
import { assess } from './assess';
import { CompareAt, DesiredState, desiredState } from './desired';
import type { RepeatedResource } from './targets';

export type { ManagedResource, ResourceSyncStatus };
export { appSources } from './desired';
export { clearRenderCache, assertAppCeilings } from './rendercache';
export { dedupe, placeObject } from './targets';
export type { RepeatedResource } from './targets';
export { watchRecordedKinds } from './prune';

/** The result of one comparison. */
export interface Comparison {
  /** Resolved commit SHA of each source, in `spec.sources` order (one entry for `spec.source`). */
  revisions: string[];
  /** Detected source type of each source (Directory, Helm, Kustomize). */
  sourceTypes: string[];
  resources: ManagedResource[];
  /** Hooks rendered from git: run by syncs, never part of sync status, health or prune. */
  hooks: Array<{ resource: ManagedResource; types: HookType[] }>;
  status: 'Synced' | 'OutOfSync';
  /** Objects rendered more than once (the last rendering is used); absent or empty when none. */
  repeated?: RepeatedResource[];
  /**
   * The Applications (`namespace/name`) a sync step counts as Healthy without looking: the app-of-apps
   * cycle the app is on (set by reconcile, see application/ancestry.ts).
   */
  healthyApps?: ReadonlySet<string>;
  /** The desired state compared (absent in hand-made comparisons of tests): assessed again after a sync. */
  desired?: DesiredState;
}

/** Minimal view of an Application that comparison reads. */
export interface ComparableApp {
  metadata: { name: string; namespace: string };
  spec: {
    source?: SourceSpec;
    sources?: SourceSpec[];
    destination: { server?: string; name?: string; namespace?: string };
    project: string;
    ignoreDifferences?: IgnoreRule[];
    syncPolicy?: { syncOptions?: string[] };
  };
  status?: {
    resources?: Array<{ group?: string; version?: string; kind: string; namespace?: string; name: string }>;
  };
}

/**
 * Compares an app's desired state with the live state: {@link desiredState} then {@link assess}.
 * @param appInstance - the app instance name used in tracking ids.
 * @param at - the revision(s) to compare at instead of each source's targetRevision (a sync operation's),
 *   and whether to render again (hard refresh).
 * @throws GitError, RenderError, PathEscapeError, KubeApiError: the caller reports a ComparisonError
 *   and changes nothing in the cluster. SourcesError for a multi-source list Argo CD refuses (a bad or
 *   unknown `ref`, see ./sources.ts), an operation's or a rollback's included. ProjectPermissionError when
 *   the app's project is missing or invalid, or does not permit a repository compared.
 */
export async function compareApp(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  at: CompareAt = {},
): Promise<Comparison> {
  return assess(ctx, app, appInstance, await desiredState(ctx, app, appInstance, at));
}
