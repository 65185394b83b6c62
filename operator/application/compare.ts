/**
 * Comparison: desired state from git against live state, per resource, as Argo CD's app state
 * manager does. Pipeline: resolve revision -> check out -> render (cached by commit and source) ->
 * add tracking -> resolve each kind through discovery -> read live objects from the informers ->
 * server-side dry-run each desired object and compare it with the live one (cached by desired hash
 * and live resourceVersion, so a no-op refresh costs no dry-runs) -> list objects tracked by the app
 * but no longer rendered (prune candidates).
 */
import { createHash } from 'node:crypto';
import { serverSideApply } from '../kube/apply';
import { isNotFound } from '../kube/client';
import { Discovery, ResourceType, UnknownKindError, resourcePath } from '../kube/discovery';
import { KubeObject, groupVersion } from '../kube/object';
import { inSyncWith } from '../diff/normalize';
import {
  IgnoreRule,
  IgnoreRuleError,
  hasCompareOption,
  resolveJqPaths,
  rulesFor,
  validateIgnoreRules,
} from '../diff/ignore';
import { renderSource, SourceSpec } from '../render';
import { buildEnv } from '../render/buildenv';
import { CeilingError } from '../render/errors';
import { ByteLru } from '../common/bytelru';
import {
  CEILINGS,
  DEFAULT_RENDER_CACHE_BYTES,
  DEFAULT_RENDER_LIMITS,
  RenderLimits,
  ceilingMessage,
  estimateBytes,
} from '../common/limits';
import { RepoCredentials } from '../sources/credentials';
import { assertNoEscapingSymlinks } from '../sources/paths';
import { RepoURLError } from '../sources/repourl';
import type { ObjectIdentity } from '../appproject/resources';
import { kustomizeRemotePolicy, localRepoScope, repoURLProblems } from './remotes';
import { ApplicationContext } from './context';
import { trackedBy, withTracking } from '../sync/tracking';
import type { ManagedResource, ResourceSyncStatus } from '../sync/resource';
import { appliedStates } from '../sync/applied';
import { classifyHook, HookType } from '../sync/hooks';
import { ProjectGate, ProjectPermissionError, liveObjectViolation, projectGate } from './project';
import { helmChartRender, resolveSourceRevision } from './chartsource';
import { assertDestinationInScope, assertObjectsInScope } from './scope';
import { RefTarget, assertSourcesValid, isRefOnly, refTargets, refsNamedBy, sourceRevision } from './sources';

export type { ManagedResource, ResourceSyncStatus };

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

/** One source's render as cached: `bytes` is its estimated size ({@link estimateBytes}). */
interface CachedRender {
  sourceType: string;
  objects: KubeObject[];
  bytes: number;
}

/**
 * Renders by (commit, app, destination, source), bounded by estimated bytes (`--render-cache-bytes`) and by
 * entries, least recently used out first.
 */
const renderCache = new ByteLru<CachedRender>({ maxBytes: DEFAULT_RENDER_CACHE_BYTES, maxEntries: 10_000 });
const dryRunCache = new Map<string, boolean>();
const DRY_RUN_CACHE_MAX = 20_000;

/** Forgets cached renders (a hard refresh). */
export function clearRenderCache(): void {
  renderCache.clear();
}

/** The sources of an app: `spec.sources`, or `spec.source` as a one-element list. */
export function appSources(app: ComparableApp): SourceSpec[] {
  return app.spec.sources?.length ? app.spec.sources : app.spec.source ? [app.spec.source] : [];
}

/**
 * Compares an app's desired state with the live state.
 * @param appInstance - the app instance name used in tracking ids.
 * @param opts.revisionOverride - a revision to compare at instead of each source's targetRevision (a
 *   sync operation's `revision`); `revisionOverrides` gives one per source (a multi-source operation
 *   resumed at the revisions it started with) and wins over it.
 * @throws GitError, RenderError, PathEscapeError, KubeApiError: the caller reports a ComparisonError
 *   and changes nothing in the cluster. SourcesError for a multi-source list Argo CD refuses (a bad or
 *   unknown `ref`, see ./sources.ts), an operation's or a rollback's included. ProjectPermissionError when the app's project is missing or
 *   invalid, or does not permit a repository compared (an operation's or a rollback's source included).
 */
export async function compareApp(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  opts: { revisionOverride?: string; revisionOverrides?: string[]; hard?: boolean } = {},
): Promise<Comparison> {
  await validateIgnoreRules(app.spec.ignoreDifferences ?? []);
  const gate = await permittedSources(ctx, app);
  assertDestinationInScope(ctx.settings.watchNamespaces, app); // --watch-namespaces: application/scope.ts
  const sources = appSources(app);
  if (app.spec.sources?.length) assertSourcesValid(sources);
  // Every source first gets its own revision (ref-only sources included: they are revisions of the app too),
  // so that a `$ref` value file is read at the revision of its own source.
  const revisions: string[] = [];
  const creds: Array<RepoCredentials | undefined> = [];
  for (const [i, source] of sources.entries()) {
    creds.push(await ctx.repoCreds.lookup(source.repoURL, app.spec.project));
    revisions.push(
      await resolveSourceRevision(
        ctx,
        app.spec.project,
        source,
        sourceRevision(source, i, opts),
        creds[i],
        opts.hard,
      ),
    );
  }
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
      hard: opts.hard,
    });
    sourceTypes.push(out.sourceType);
    rendered.push(...out.objects);
    origins.push(...out.objects.map(() => i));
    renderedBytes += out.bytes;
    assertAppCeilings(renderLimits(ctx), sources.length, rendered.length, renderedBytes);
  }
  const plain: KubeObject[] = [];
  const hookObjects: Array<{ obj: KubeObject; types: HookType[] }> = [];
  const { objects: unique, repeated } = dedupe(rendered, origins, app.spec.destination.namespace);
  for (const obj of unique) {
    const c = classifyHook(obj);
    if (c.kind === 'resource') plain.push(obj);
    else if (c.kind === 'hook') hookObjects.push({ obj, types: c.types });
  }
  await assertObjectsInScope(ctx, app, [...plain, ...hookObjects.map((h) => h.obj)], placeObject);
  const resources = await describeTargets(ctx, app, appInstance, plain, gate);
  resources.push(...(await pruneCandidates(ctx, app, appInstance, resources, gate)));
  resources.push(...refusedManagedNamespace(app, gate, resources));
  const hooks = await placeHooks(ctx, app, appInstance, hookObjects, gate);
  // IgnoreExtraneous (compare option): an object no longer in git does not make the app OutOfSync.
  const counted = resources.filter(
    (r) => !(r.requiresPruning && r.live && hasCompareOption(r.live, 'IgnoreExtraneous')),
  );
  const status = counted.every((r) => r.status === 'Synced') ? 'Synced' : 'OutOfSync';
  return { revisions, sourceTypes, resources, hooks, status, repeated };
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

/** The app's render ceilings from the settings (`--max-manifest-bytes`, `--max-objects`). */
function renderLimits(ctx: ApplicationContext): RenderLimits {
  return ctx.settings.renderLimits ?? DEFAULT_RENDER_LIMITS;
}

/**
 * Checks the sum over an app's sources against its ceilings (each source is already bounded on its own while
 * it renders; bytes of cached renders are estimated).
 * @throws CeilingError naming the ceiling and its flag.
 */
export function assertAppCeilings(
  limits: RenderLimits,
  sourceCount: number,
  objects: number,
  bytes: number,
): void {
  const what = sourceCount > 1 ? `the ${sourceCount} sources of this app render` : 'this app renders';
  if (objects > limits.maxObjects) {
    throw new CeilingError(ceilingMessage(what, CEILINGS.objects, limits.maxObjects));
  }
  if (bytes > limits.maxBytes) {
    throw new CeilingError(ceilingMessage(what, CEILINGS.manifestBytes, limits.maxBytes));
  }
}

/** A ref source a render reads `$name/...` value files from, at its own revision. */
interface UsedRef extends RefTarget {
  name: string;
  creds?: RepoCredentials;
}

async function renderCached(
  ctx: ApplicationContext,
  app: ComparableApp,
  {
    source,
    sha,
    creds,
    refs,
    hard,
  }: { source: SourceSpec; sha: string; creds?: RepoCredentials; refs: UsedRef[]; hard?: boolean },
): Promise<CachedRender> {
  const key = JSON.stringify([
    sha,
    app.metadata.namespace,
    app.metadata.name,
    app.spec.destination.namespace,
    source,
    // A commit to a values repository alone must render again.
    refs.map((r) => [r.name, r.repoURL, r.revision]),
  ]);
  // A plain directory renders the same for every app (no app name or namespace goes in): 1,000 apps of
  // one source share one entry instead of thrashing the cache with 1,000 copies. The whole source is in
  // the key, so that a source whose fields make it Helm or Kustomize never reads a Directory render.
  const shared = JSON.stringify(['Directory', sha, source]);
  const cached = renderCache.get(key) ?? renderCache.get(shared);
  if (cached && !hard) return cached;
  // A chart source renders from its chart archive (render/helmchart.ts), not from a checkout.
  const repoRoot = source.chart ? '' : await ctx.git.checkout(source.repoURL, sha, creds);
  // As Argo CD: a repository with any symlink pointing outside it is refused as a whole.
  if (repoRoot) assertNoEscapingSymlinks(repoRoot, repoRoot);
  const refRoots: Record<string, string> = {};
  for (const ref of refs) {
    refRoots[ref.name] = await ctx.git.checkout(ref.repoURL, ref.revision, ref.creds);
    assertNoEscapingSymlinks(refRoots[ref.name], refRoots[ref.name]);
  }
  const rendered = await renderSource({
    appName: app.metadata.name,
    namespace: app.spec.destination.namespace ?? '',
    repoRoot,
    source,
    helmChart: helmChartRender(ctx, app.spec.project, source, sha, hard),
    refRoots,
    helmBinary: ctx.settings.helmBinary,
    timeoutMs: ctx.settings.renderTimeoutMs,
    helmValuesFileSchemes: ctx.settings.helmValuesFileSchemes,
    kustomizeRemote: kustomizeRemotePolicy(ctx, app),
    limits: renderLimits(ctx),
    // Expanded in Kustomize images, commonLabels and (opt-in) commonAnnotations, as Argo CD.
    buildEnv: buildEnv({
      appName: app.metadata.name,
      appNamespace: app.metadata.namespace ?? '',
      project: app.spec.project,
      revision: sha,
      repoURL: source.repoURL,
      path: source.path,
      targetRevision: source.targetRevision,
    }),
  });
  const out: CachedRender = { ...rendered, bytes: estimateBytes(rendered.objects) };
  renderCache.resize(ctx.settings.renderCacheBytes ?? DEFAULT_RENDER_CACHE_BYTES);
  renderCache.set(out.sourceType === 'Directory' && !refs.length ? shared : key, out, out.bytes);
  return out;
}

/** An object rendered more than once (Argo CD's RepeatedResourceWarning). */
export interface RepeatedResource {
  /** `group/Kind/namespace/name`, the destination namespace filled in where the object has none. */
  key: string;
  /** How many times it was rendered. */
  count: number;
  /** The indexes of the sources that rendered it, in order; the last one's object is used. */
  sources: number[];
}

/**
 * Later duplicates of the same object (same apiVersion group, kind, namespace, name) replace earlier ones, as
 * Argo CD's `DeduplicateTargetObjects`: in a multi-source app the last source to render an object wins. As
 * there, an object without a namespace counts as in the destination namespace, so that a chart's
 * `{{ .Release.Namespace }}` object and a plain manifest of another source are the same object.
 * @param origins - the source index of each object, same order.
 * @param destinationNamespace - `spec.destination.namespace`.
 */
export function dedupe(
  objects: KubeObject[],
  origins: number[] = [],
  destinationNamespace = '',
): { objects: KubeObject[]; repeated: RepeatedResource[] } {
  const byKey = new Map<string, KubeObject>();
  const seen = new Map<string, number[]>();
  objects.forEach((o, i) => {
    const ns = o.metadata.namespace || destinationNamespace;
    const key = `${groupVersion(o.apiVersion).group}/${o.kind}/${ns}/${o.metadata.name ?? ''}`;
    byKey.set(key, o);
    seen.set(key, [...(seen.get(key) ?? []), origins[i] ?? 0]);
  });
  const repeated = [...seen]
    .filter(([, from]) => from.length > 1)
    .map(([key, from]) => ({ key, count: from.length, sources: from }));
  return { objects: [...byKey.values()], repeated };
}

/**
 * Resolves a rendered object's resource type and fills in the destination namespace for namespaced
 * kinds (cluster-scoped ones lose any namespace), as Argo CD does.
 */
export async function placeObject(
  discovery: Discovery,
  obj: KubeObject,
  destinationNamespace: string | undefined,
): Promise<{ obj: KubeObject; rt?: ResourceType }> {
  try {
    const rt = await discovery.resourceFor(obj.apiVersion, obj.kind);
    const metadata = { ...obj.metadata };
    if (rt.namespaced && !metadata.namespace && destinationNamespace)
      metadata.namespace = destinationNamespace;
    if (!rt.namespaced) delete metadata.namespace;
    return { obj: { ...obj, metadata }, rt };
  } catch (err) {
    if (!(err instanceof UnknownKindError)) throw err;
    const metadata = { ...obj.metadata };
    if (!metadata.namespace && destinationNamespace) metadata.namespace = destinationNamespace;
    return { obj: { ...obj, metadata } };
  }
}

async function describeTargets(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  rendered: KubeObject[],
  gate: ProjectGate,
): Promise<ManagedResource[]> {
  const out: ManagedResource[] = [];
  for (const raw of rendered) {
    const { obj, rt } = await placeObject(ctx.discovery, raw, app.spec.destination.namespace);
    const target = withTracking(obj, appInstance);
    const base = identify(target, rt);
    const denied = gate.objectViolation(objectIdentity(base));
    if (denied) {
      // As Argo CD: Unknown, and not even dry-run (a dry-run is a write request the project does not allow).
      out.push({ ...base, status: 'Unknown', message: denied, denied });
      continue;
    }
    if (!rt) {
      out.push({
        ...base,
        status: 'OutOfSync',
        message: `the server has no resource for ${target.kind} in ${target.apiVersion}`,
      });
      continue;
    }
    const live = await readLive(ctx, rt, target);
    out.push({ ...base, live, ...(await diffOne(ctx, rt, target, live, app.spec.ignoreDifferences ?? [])) });
  }
  return out;
}

/**
 * The destination namespace that `CreateNamespace=true` would create, as a refused resource when the project
 * does not permit that Namespace (Argo CD: "resource :Namespace is not permitted in project P"), so that
 * status shows it and the sync fails before it creates anything; nothing when it is permitted or not asked.
 */
function refusedManagedNamespace(
  app: ComparableApp,
  gate: ProjectGate,
  resources: ManagedResource[],
): ManagedResource[] {
  const name = app.spec.destination.namespace;
  if (!name || !(app.spec.syncPolicy?.syncOptions ?? []).includes('CreateNamespace=true')) return [];
  // Rendered from git too: that resource is checked already.
  if (resources.some((r) => r.group === '' && r.kind === 'Namespace' && r.name === name)) return [];
  const denied = gate.objectViolation({
    group: '',
    kind: 'Namespace',
    name,
    namespace: '',
    namespaced: false,
  });
  if (!denied) return [];
  const target: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  return [
    {
      group: '',
      version: 'v1',
      kind: 'Namespace',
      namespace: '',
      name,
      target,
      status: 'Unknown',
      message: denied,
      denied,
    },
  ];
}

/**
 * What the project checks of a resource. A kind the server does not serve yet counts as namespaced (as
 * Argo CD); once its CRD exists the next comparison knows its scope.
 */
function objectIdentity(r: Omit<ManagedResource, 'status'>): ObjectIdentity {
  return {
    group: r.group,
    kind: r.kind,
    name: r.name,
    namespace: r.namespace,
    namespaced: r.rt ? r.rt.namespaced : true,
  };
}

/** The identity fields of a managed resource for a desired object. */
function identify(target: KubeObject, rt: ResourceType | undefined): Omit<ManagedResource, 'status'> {
  const { group, version } = groupVersion(target.apiVersion);
  return {
    group,
    version,
    kind: target.kind,
    namespace: target.metadata.namespace ?? '',
    name: target.metadata.name ?? '',
    target,
    rt,
  };
}

async function placeHooks(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  hooks: Array<{ obj: KubeObject; types: HookType[] }>,
  gate: ProjectGate,
): Promise<Comparison['hooks']> {
  const out: Comparison['hooks'] = [];
  for (const h of hooks) {
    const { obj, rt } = await placeObject(ctx.discovery, h.obj, app.spec.destination.namespace);
    // A hook with generateName has no name to track it by until it is created.
    const target = obj.metadata.name ? withTracking(obj, appInstance) : obj;
    const base = identify(target, rt);
    // Hooks are objects the sync creates: the project bounds them like any other (Argo CD checks every task).
    const denied = gate.objectViolation(objectIdentity(base));
    out.push({ types: h.types, resource: { ...base, status: 'Synced', ...(denied ? { denied } : {}) } });
  }
  return out;
}

/** The live object: from the informer when capstan already manages it, else one GET. */
async function readLive(
  ctx: ApplicationContext,
  rt: ResourceType,
  target: KubeObject,
): Promise<KubeObject | undefined> {
  const cached = await ctx.live.get(rt, target.metadata.namespace, target.metadata.name ?? '');
  if (cached) return cached;
  try {
    return await ctx.client.request<KubeObject>(
      'GET',
      resourcePath(rt, target.metadata.namespace, target.metadata.name),
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function diffOne(
  ctx: ApplicationContext,
  rt: ResourceType,
  target: KubeObject,
  live: KubeObject | undefined,
  ignore: IgnoreRule[],
): Promise<{ status: ResourceSyncStatus; message?: string }> {
  if (!live) return { status: 'OutOfSync', message: 'missing' };
  // Live is what capstan's own apply of this very object stored: in sync, no dry-run (sync/applied.ts).
  if (appliedStates.matches(target, live)) return { status: 'Synced' };
  const rules = rulesFor(ignore, target);
  const key = `${live.metadata.uid}|${live.metadata.resourceVersion}|${hashObject(target)}|${rules.length ? hashObject(rules) : ''}`;
  let same = dryRunCache.get(key);
  if (same === undefined) {
    try {
      const dry = await serverSideApply(ctx.client, rt, target, { dryRun: true });
      // jq runs in a worker under the jq deadline (--jq-timeout): one message for both objects.
      same = inSyncWith(dry, live, rules, await resolveJqPaths([dry, live], rules));
    } catch (err) {
      if (err instanceof IgnoreRuleError) throw err;
      // A dry-run the server refuses (invalid object, immutable field) is drift the sync will report.
      return { status: 'OutOfSync', message: (err as Error).message };
    }
    if (dryRunCache.size >= DRY_RUN_CACHE_MAX) dryRunCache.clear();
    dryRunCache.set(key, same);
  }
  return same ? { status: 'Synced' } : { status: 'OutOfSync', message: 'live state differs from git' };
}

function hashObject(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex');
}

/**
 * Starts the informers of every kind recorded in `status.resources`, so that objects of a kind git no
 * longer renders are still seen (for prune and cascade deletion), also after a restart. Kinds the
 * server no longer serves are skipped.
 */
export async function watchRecordedKinds(
  ctx: ApplicationContext,
  recorded: Array<{ group?: string; version?: string; kind: string }>,
): Promise<void> {
  for (const r of recorded) {
    const apiVersion = r.group ? `${r.group}/${r.version ?? ''}` : (r.version ?? 'v1');
    try {
      await ctx.live.ensure(await ctx.discovery.resourceFor(apiVersion, r.kind));
    } catch (err) {
      if (!(err instanceof UnknownKindError)) throw err;
    }
  }
}

/**
 * Objects tracked by this app (tracking id names the app and the object) that git no longer renders.
 * Informers are started for the kinds recorded in `status.resources` too, so that a kind removed from
 * git entirely is still found after a restart.
 */
async function pruneCandidates(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  targets: ManagedResource[],
  gate: ProjectGate,
): Promise<ManagedResource[]> {
  await watchRecordedKinds(ctx, app.status?.resources ?? []);
  const wanted = new Set(targets.map((t) => `${t.group}/${t.kind}/${t.namespace}/${t.name}`));
  const out: ManagedResource[] = [];
  // The live cache indexes managed objects by tracking id (ApplicationOperator): O(this app's objects).
  for (const { rt, obj } of ctx.live.indexed(appInstance)) {
    if (trackedBy(obj) !== appInstance) continue;
    const key = `${rt.group}/${rt.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
    // Hooks are never pruned (Argo CD); their delete policies clean them up.
    if (wanted.has(key) || obj.metadata.deletionTimestamp || classifyHook(obj).kind !== 'resource') continue;
    // As Argo CD: a live object the project does not permit is left out, so it is never pruned.
    if (liveObjectViolation(gate, rt, obj)) continue;
    out.push({
      group: rt.group,
      version: rt.version,
      kind: rt.kind,
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name ?? '',
      rt,
      live: obj,
      status: 'OutOfSync',
      requiresPruning: true,
      message: 'not in git any more',
    });
  }
  return out;
}
