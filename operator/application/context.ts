/**
 * What the Application operator's reconcile needs from the outside world, in one place so that each
 * step receives it explicitly.
 */
import { KubeClient } from '../kube/client';
import { Discovery } from '../kube/discovery';
import { LiveCache } from '../kube/livecache';
import { Logger } from '../log';
import { GitRepoCache } from '../sources/git';
import { RenderLimits } from '../common/limits';
import { RepoCredentialStore } from './repocreds';
import { ProjectStore } from '../appproject/store';
import type { RevisionCache } from '../sources/revisioncache';
import type { AppCache } from './appcache';

/** Settings of the Application operator. */
export interface ApplicationSettings {
  /** Namespace capstan runs in; apps there use bare names in tracking ids, repo Secrets live there. */
  controllerNamespace: string;
  /** Periodic refresh interval in ms (Argo CD's timeout.reconciliation, default 120 s). */
  refreshIntervalMs: number;
  /** Random jitter added to each refresh in ms (default 60 s), so apps do not refresh in lock-step. */
  refreshJitterMs: number;
  /** Path of the helm binary. */
  helmBinary: string;
  /** Timeout of one render (helm/kustomize) in ms. */
  renderTimeoutMs: number;
  /** URL schemes Helm value files may use (`--helm-values-file-schemes`); default `https`, `http`. */
  helmValuesFileSchemes?: string[];
  /** Kustomize may fetch remote bases the project's sourceRepos permit (`--kustomize-allow-remote`). */
  kustomizeAllowRemote?: boolean;
  /** Kustomize may inflate `helmCharts` (`--kustomize-enable-helm`). */
  kustomizeEnableHelm?: boolean;
  /** Apps may use `file://` URLs and paths as repoURL (`--allow-local-repos`); default false. */
  allowLocalRepos?: boolean;
  /**
   * Sync with impersonation (`--impersonation`): applies, prunes and hooks of an app's sync run as the
   * service account its project's `destinationServiceAccounts` names; default false.
   */
  impersonation?: boolean;
  /**
   * Rendered manifest bytes and objects per app (`--max-manifest-bytes`, `--max-objects`); default 32 MiB
   * and 10 000. Hitting one is a ComparisonError on that app.
   */
  renderLimits?: RenderLimits;
  /** Estimated bytes of cached renders (`--render-cache-bytes`), default 64 MiB. */
  renderCacheBytes?: number;
  /**
   * `--watch-namespaces` (kube/scope.ts): Applications are watched in the controller namespace and
   * these; an app may deploy only namespaced objects into these. Empty or unset: cluster-wide.
   */
  watchNamespaces?: readonly string[];
}

/** The clients and caches a reconcile works with. */
export interface ApplicationContext {
  client: KubeClient;
  discovery: Discovery;
  live: LiveCache;
  git: GitRepoCache;
  /** Repository credentials from Secrets in the controller's namespace. */
  repoCreds: RepoCredentialStore;
  /**
   * AppProjects of the controller's namespace from an informer (no GET per reconcile); `problems(name)`
   * says whether a project is invalid, as the AppProject operator reports it.
   */
  projects: ProjectStore;
  /**
   * Resolved revisions shared for one refresh interval: the git source's own cache (`git.revisions`,
   * sources/revisioncache.ts), set by the Application operator; reconcile forgets an app's repositories on
   * an explicit refresh or a manual sync.
   */
  revisions?: RevisionCache;
  /**
   * The Applications as the operator's watch last showed them (./appcache.ts): a reconcile reads its app
   * here instead of a GET. Set by the Application operator; unset, every reconcile GETs its app.
   */
  apps?: AppCache;
  log: Logger;
  settings: ApplicationSettings;
}
