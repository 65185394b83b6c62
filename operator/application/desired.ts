/**
 * Compare pipeline steps up to the desired state, as Argo CD's app state manager: check what the app may
 * read (ignoreDifferences rules, repositories, project, destination scope) -> resolve each source's
 * revision -> render each source (rendercache.ts) -> drop duplicates and set hooks apart -> check the
 * objects' scope -> place them (targets.ts). The live cluster is not read here (assess.ts does that), so
 * the desired state of one reconcile is computed once and assessed again after a sync.
 */
import { KubeObject } from '../kube/object';
import { validateIgnoreRules } from '../diff/ignore';
import { RepoCredentials } from '../sources/credentials';
import { RepoURLError } from '../sources/repourl';
import type { ManagedResource } from '../sync/resource';
import { localRepoScope, repoURLProblems } from './remotes';
import { ApplicationContext } from './context';
import { ProjectGate, ProjectPermissionError, projectGate } from './project';
import { resolveSourceRevision } from './chartsource';
import { assertDestinationInScope, assertObjectsInScope } from './scope';
import { assertSourcesValid, isRefOnly, refTargets, refsNamedBy, sourceRevision } from './sources';
import { assertAppCeilings, renderCached, renderLimits } from './rendercache';
import {
  PlacedTarget,
  RepeatedResource,
  dedupe,
  placeHooks,
  placeObject,
  placeTargets,
  splitHooks,
} from './targets';
import type { ComparableApp, Comparison } from './compare';

/** Where a comparison is made: each source's targetRevision, or an operation's revision(s). */
export interface CompareAt {
  /** A revision to compare at instead of the source's targetRevision (single-source operation). */
  revisionOverride?: string;
  /** One revision per source (a multi-source operation); wins over `revisionOverride`. */
  revisionOverrides?: string[];
  /** A hard refresh: render again, ignoring the caches. */
  hard?: boolean;
}

/** The desired state of an app at resolved revisions. */
export interface DesiredState {
  /** Resolved commit SHA of each source, in `spec.sources` order (one entry for `spec.source`). */
  revisions: string[];
  /** Detected source type of each source (Directory, Helm, Kustomize, Ref). */
  sourceTypes: string[];
  /** The desired resources, in render order. */
  targets: PlacedTarget[];
  /** Hooks rendered from git. */
  hooks: Comparison['hooks'];
  /** Objects rendered more than once. */
  repeated: RepeatedResource[];
  /** The project's per-object check. */
  gate: ProjectGate;
}

/** The sources of an app: `spec.sources`, or `spec.source` as a one-element list. */
export function appSources(app: ComparableApp): NonNullable<ComparableApp['spec']['sources']> {
  return app.spec.sources?.length ? app.spec.sources : app.spec.source ? [app.spec.source] : [];
}

/**
 * The desired state of an app.
 * @throws GitError, RenderError, PathEscapeError, CeilingError, IgnoreRuleError, KubeApiError (discovery),
 *   SourcesError, RepoURLError, ProjectPermissionError: the caller reports a ComparisonError and changes
 *   nothing in the cluster.
 */
export async function desiredState(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  at: CompareAt = {},
): Promise<DesiredState> {
  await validateIgnoreRules(app.spec.ignoreDifferences ?? []);
  const gate = await permittedSources(ctx, app);
  assertDestinationInScope(ctx.settings.watchNamespaces, app); // --watch-namespaces: application/scope.ts
  const sources = appSources(app);
  if (app.spec.sources?.length) assertSourcesValid(sources);
  const { revisions, creds } = await resolveRevisions(ctx, app, at);
  const { sourceTypes, rendered, origins } = await renderSources(ctx, app, revisions, creds, at.hard);
  const { objects: unique, repeated } = dedupe(rendered, origins, app.spec.destination.namespace);
  const { plain, hooks } = splitHooks(unique);
  await assertObjectsInScope(ctx, app, [...plain, ...hooks.map((h) => h.obj)], placeObject);
  return {
    revisions,
    sourceTypes,
    targets: await placeTargets(ctx.discovery, app, appInstance, plain, gate),
    hooks: await placeHooks(ctx.discovery, app, appInstance, hooks, gate),
    repeated,
    gate,
  };
}

/**
 * Every source's revision first (ref-only sources included: they are revisions of the app too), so that a
 * `$ref` value file is read at the revision of its own source.
 */
async function resolveRevisions(
  ctx: ApplicationContext,
  app: ComparableApp,
  at: CompareAt,
): Promise<{ revisions: string[]; creds: Array<RepoCredentials | undefined> }> {
  const revisions: string[] = [];
  const creds: Array<RepoCredentials | undefined> = [];
  for (const [i, source] of appSources(app).entries()) {
    creds.push(await ctx.repoCreds.lookup(source.repoURL, app.spec.project));
    revisions.push(
      await resolveSourceRevision(
        ctx,
        app.spec.project,
        source,
        sourceRevision(source, i, at),
        creds[i],
        at.hard,
      ),
    );
  }
  return { revisions, creds };
}

/** Renders every source but ref-only ones, checking the app's ceilings as the objects add up. */
async function renderSources(
  ctx: ApplicationContext,
  app: ComparableApp,
  revisions: string[],
  creds: Array<RepoCredentials | undefined>,
  hard: boolean | undefined,
): Promise<{ sourceTypes: string[]; rendered: KubeObject[]; origins: number[] }> {
  const sources = appSources(app);
  const refs = refTargets(sources, revisions);
  const sourceTypes: string[] = [];
  const rendered: KubeObject[] = [];
  const origins: number[] = [];
  let renderedBytes = 0;
  for (const [i, source] of sources.entries()) {
    if (isRefOnly(source)) {
      sourceTypes.push('Ref');
      continue;
    }
    const used = refsNamedBy(source).flatMap((name) => {
      const target = refs.get(name);
      return target ? [{ name, ...target, creds: creds[target.index] }] : [];
    });
    const out = await renderCached(ctx, app, {
      source,
      sha: revisions[i],
      creds: creds[i],
      refs: used,
      hard,
    });
    sourceTypes.push(out.sourceType);
    rendered.push(...out.objects);
    origins.push(...out.objects.map(() => i));
    renderedBytes += out.bytes;
    assertAppCeilings(renderLimits(ctx), sources.length, rendered.length, renderedBytes);
  }
  return { sourceTypes, rendered, origins };
}

/**
 * Checks the repositories the comparison will read and returns the project's per-object check. Reconcile
 * reports these problems as InvalidSpecError first; they are checked here too for every other caller (a
 * sync at an operation's or a rollback's source), against the project as the informer holds it now.
 * @throws RepoURLError, ProjectPermissionError.
 */
async function permittedSources(ctx: ApplicationContext, app: ComparableApp): Promise<ProjectGate> {
  const badRepos = repoURLProblems(app, ctx.settings, localRepoScope(ctx, app));
  if (badRepos.length) throw new RepoURLError(badRepos.join('; '));
  const gate = await projectGate(ctx, app);
  if (gate.problems.length) throw new ProjectPermissionError(gate.problems.join('; '));
  return gate;
}

/** The desired resources alone (placed, not yet compared). */
export function desiredResources(d: DesiredState): ManagedResource[] {
  return d.targets.map((t) => t.resource);
}
