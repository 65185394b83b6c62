/**
 * What an Application may reach beyond its own repositories, decided from the operator's flags and the
 * app's AppProject: which repository URLs it may name (`--allow-local-repos`) and which remote bases its
 * kustomizations may fetch (`--kustomize-allow-remote`, `--kustomize-enable-helm`, the project's
 * `sourceRepos`).
 */
import { sourceRepoPermitted, type ProjectSpec } from '../appproject/permissions';
import { isNotFound } from '../kube/client';
import type { KustomizeRemotePolicy } from '../render';
import { chartRepoURLProblem } from '../sources/oci';
import { isLocalRepoPattern, repoURLProblem, type LocalRepoScope } from '../sources/repourl';
import type { ApplicationContext } from './context';

/** The source fields these checks read. */
interface AppWithSources {
  metadata: { namespace: string };
  spec: {
    project: string;
    source?: { repoURL: string; chart?: string };
    sources?: Array<{ repoURL: string; chart?: string }>;
  };
}

/** A chart source names a Helm repository or registry (never cloned), any other source a git repository. */
function sourceURLProblem(
  s: { repoURL: string; chart?: string },
  field: string,
  allow: Parameters<typeof repoURLProblem>[2],
): string | undefined {
  return s.chart
    ? chartRepoURLProblem(s.repoURL ?? '', field)
    : repoURLProblem(s.repoURL ?? '', field, allow);
}

/**
 * The app's project as {@link repoURLProblem} needs it for local repositories: permitted only by a
 * `sourceRepos` entry that names a local URL or path itself ({@link isLocalRepoPattern}; `*` does not),
 * and never past a `!` entry that matches. A project missing from the cache lists nothing.
 * @param ctx - the project informer.
 * @param app - the Application (its `spec.project`).
 */
export function localRepoScope(
  ctx: Pick<ApplicationContext, 'projects'>,
  app: AppWithSources,
): LocalRepoScope {
  const entries = ctx.projects.get(app.spec.project)?.spec?.sourceRepos ?? [];
  const explicit = entries.filter(isLocalRepoPattern);
  const denies = entries.filter((p) => p.trim().startsWith('!'));
  return {
    project: app.spec.project,
    permits: (url) => explicit.length > 0 && sourceRepoPermitted([...explicit, ...denies], url),
  };
}

/**
 * Why the app's repository URLs may not be used (a local repository without `--allow-local-repos` or
 * without its project's explicit entry, or an unsupported transport), one sentence per source naming
 * its field; empty when all are fine.
 * @param app - the Application.
 * @param opts - `allowLocalRepos`: the `--allow-local-repos` flag.
 * @param scope - the app's project ({@link localRepoScope}); production callers always pass it.
 */
export function repoURLProblems(
  app: AppWithSources,
  opts: { allowLocalRepos?: boolean },
  scope?: LocalRepoScope,
): string[] {
  const allow = { allowLocalRepos: opts.allowLocalRepos ?? false, scope };
  const multi = app.spec.sources?.length ? app.spec.sources : undefined;
  if (multi) {
    return multi.flatMap((s, i) => sourceURLProblem(s, `spec.sources[${i}].repoURL`, allow) ?? []);
  }
  const single = app.spec.source;
  return single ? [sourceURLProblem(single, 'spec.source.repoURL', allow) ?? []].flat() : [];
}

/**
 * The kustomize remote policy of an app: the flags, and its project's `sourceRepos` for each remote
 * repository (read from the API only when a kustomization has a remote reference and the flag is on).
 * A missing `default` project is Argo CD's built-in default, which permits every repository.
 * @param ctx - settings (`kustomizeAllowRemote`, `kustomizeEnableHelm`) and the client.
 * @param app - the Application (its `spec.project`).
 */
export function kustomizeRemotePolicy(ctx: ApplicationContext, app: AppWithSources): KustomizeRemotePolicy {
  let sourceRepos: Promise<string[]> | undefined;
  return {
    allowRemote: ctx.settings.kustomizeAllowRemote ?? false,
    enableHelm: ctx.settings.kustomizeEnableHelm ?? false,
    permitsRepo: async (url) => {
      sourceRepos ??= projectSourceRepos(ctx, app.spec.project);
      return sourceRepoPermitted(await sourceRepos, url);
    },
  };
}

/**
 * The `sourceRepos` of a project in the controller's namespace.
 * @throws KubeApiError on API failures other than NotFound.
 */
async function projectSourceRepos(ctx: ApplicationContext, name: string): Promise<string[]> {
  try {
    const project = await ctx.client.request<{ spec?: ProjectSpec }>(
      'GET',
      `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(ctx.settings.controllerNamespace)}/appprojects/${encodeURIComponent(name)}`,
    );
    return project?.spec?.sourceRepos ?? [];
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return name === 'default' ? ['*'] : [];
  }
}
