/**
 * The Application side of `spec.source.chart` (Helm repositories and OCI registries): a chart source's
 * revision is its chart version (resolved from `targetRevision`, an exact version or a semver range), not a
 * commit, and it renders from the chart archive instead of a git checkout. `compare.ts` calls
 * {@link resolveSourceRevision} for every source and passes {@link helmChartRender} to `renderSource`.
 *
 * Credentials: the repository Secrets the app's project may use (`repocreds.ts`, Argo CD's matching:
 * exact `repository` first, else the longest `repo-creds` prefix); for `oci://registry/path` a Secret
 * written without the `oci://` prefix (Argo CD's older `enableOCI` form) matches too. CA certificates of
 * an https repository's host come from Argo CD's `argocd-tls-certs-cm` ConfigMap in capstan's namespace.
 */
import {
  resolveHelmChartRevision,
  type HelmChartContext,
  type RenderRequest,
  type SourceSpec,
} from '../render';
import { isNotFound } from '../kube/client';
import type { HelmRepoCredentials } from '../render/helmchart';
import type { RepoCredentials } from '../sources/credentials';
import { TtlCache } from '../sources/helmrepo';
import type { ApplicationContext } from './context';

/**
 * The Helm repository context of an app: the operator's cache directory and refresh interval (an index
 * is fetched at most once per interval per repository), and the app's credentials.
 * @param hard - a hard refresh: indexes and tag lists are fetched again.
 */
export function helmChartContext(ctx: ApplicationContext, project: string, hard = false): HelmChartContext {
  return {
    cacheDir: ctx.git.cacheRoot(),
    refreshIntervalMs: ctx.settings.refreshIntervalMs,
    hard,
    credentials: (repoURL) => chartCredentials(ctx, repoURL, project),
  };
}

/**
 * The credentials of a chart repository for an app of `project`.
 * @throws RepoProjectScopeError when only Secrets of other projects match; KubeApiError.
 */
export async function chartCredentials(
  ctx: Pick<ApplicationContext, 'repoCreds' | 'client' | 'settings'>,
  repoURL: string,
  project: string,
): Promise<HelmRepoCredentials | undefined> {
  let found = await ctx.repoCreds.lookup(repoURL, project);
  if (!found && /^oci:\/\//i.test(repoURL)) {
    found = await ctx.repoCreds.lookup(repoURL.replace(/^oci:\/\//i, ''), project);
  }
  const caData = await hostCertificates(ctx, repoURL);
  return caData ? { ...found, caData } : found;
}

/** `argocd-tls-certs-cm` data, read at most every 10 s (by namespace). */
const tlsCerts = new TtlCache<Record<string, string>>(10_000);

/**
 * The PEM CA certificates Argo CD's `argocd-tls-certs-cm` ConfigMap (capstan's namespace) holds for the
 * repository's host (the data key is the host name without port), or undefined. A missing ConfigMap is
 * no certificates.
 * @throws KubeApiError for API failures other than NotFound.
 */
export async function hostCertificates(
  ctx: Pick<ApplicationContext, 'client' | 'settings'>,
  repoURL: string,
): Promise<string | undefined> {
  const host = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/:?#]+)/i.exec(repoURL.trim())?.[1]?.toLowerCase();
  if (!host) return undefined;
  const ns = ctx.settings.controllerNamespace;
  const data = await tlsCerts.get(ns, async () => {
    try {
      const cm = await ctx.client.request<{ data?: Record<string, string> }>(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${TLS_CERTS_CONFIGMAP}`,
      );
      return cm?.data ?? {};
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  });
  return data[host]?.trim() || undefined;
}

/** Argo CD's ConfigMap of repository server CA certificates, keyed by host name. */
export const TLS_CERTS_CONFIGMAP = 'argocd-tls-certs-cm';

/**
 * The revision of one source: the chart version for a `chart` source, else the commit SHA.
 * @param revision - `targetRevision`, or an operation's or a rollback's revision.
 * @throws RenderError for a chart repository problem; GitError for git.
 */
export async function resolveSourceRevision(
  ctx: ApplicationContext,
  project: string,
  source: SourceSpec,
  revision: string | undefined,
  creds: RepoCredentials | undefined,
  hard = false,
): Promise<string> {
  if (source.chart) return resolveHelmChartRevision(source, revision, helmChartContext(ctx, project, hard));
  return ctx.git.resolveRevision(source.repoURL, revision, creds);
}

/**
 * The `helmChart` field of a render request: a chart source's `version` (its resolved revision), and for
 * every source the context its remote Helm dependencies are built with (a Helm chart in git included).
 */
export function helmChartRender(
  ctx: ApplicationContext,
  project: string,
  source: SourceSpec,
  revision: string,
  hard = false,
): RenderRequest['helmChart'] {
  const context = helmChartContext(ctx, project, hard);
  return source.chart ? { version: revision, context } : { context };
}
