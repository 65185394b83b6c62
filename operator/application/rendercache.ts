/**
 * Compare pipeline step "render": one source at one commit rendered to objects (Directory, Helm, Kustomize,
 * a Helm chart), cached by commit and source, bounded in bytes (`--render-cache-bytes`) and entries; and
 * the app's render ceilings (`--max-manifest-bytes`, `--max-objects`) over all its sources.
 */
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
import { KubeObject } from '../kube/object';
import { RepoCredentials } from '../sources/credentials';
import { assertNoEscapingSymlinks } from '../sources/paths';
import { kustomizeRemotePolicy } from './remotes';
import { ApplicationContext } from './context';
import { helmChartRender } from './chartsource';
import type { ComparableApp } from './compare';
import type { RefTarget } from './sources';

/** One source's render as cached: `bytes` is its estimated size ({@link estimateBytes}). */
export interface CachedRender {
  sourceType: string;
  objects: KubeObject[];
  bytes: number;
}

/**
 * Renders by (commit, app, destination, source), bounded by estimated bytes (`--render-cache-bytes`) and by
 * entries, least recently used out first.
 */
const renderCache = new ByteLru<CachedRender>({ maxBytes: DEFAULT_RENDER_CACHE_BYTES, maxEntries: 10_000 });

/** Forgets cached renders (a hard refresh). */
export function clearRenderCache(): void {
  renderCache.clear();
}

/** The app's render ceilings from the settings (`--max-manifest-bytes`, `--max-objects`). */
export function renderLimits(ctx: ApplicationContext): RenderLimits {
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
export interface UsedRef extends RefTarget {
  name: string;
  creds?: RepoCredentials;
}

/** Renders one source at commit `sha` (its `$ref` value files at their own revisions), from the cache when it can. */
export async function renderCached(
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
