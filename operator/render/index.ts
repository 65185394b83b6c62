/**
 * Rendering: files in, objects out. Given a checked-out commit and one Application source, produce the
 * desired Kubernetes objects, exactly as Argo CD's repo-server would, so that an existing repository syncs
 * the same objects under capstan:
 *
 * ```yaml
 * source:
 *   repoURL: https://git.example.com/platform.git
 *   path: apps/web            # relative to the repository root; '' or '.' is the root
 *   helm:                     # or kustomize: / directory: ; or none, and the files decide
 *     valueFiles: [values-prod.yaml]
 * ```
 *
 * - the type is explicit (`helm:` / `kustomize:` / `directory:`) or detected from the app directory
 *   (kustomization file > Chart.yaml > plain manifests), see `sourcetype.ts`;
 * - Directory reads `*.yaml|yml|json` (`directory.ts`), Helm runs `helm template` (`helm.ts`), Kustomize
 *   runs `kubectl kustomize` (`kustomize.ts`); Lists are flattened and empty documents dropped
 *   (`manifests.ts`);
 * - no path, value file, dependency or symlink may leave the repository (`../sources/paths.ts`).
 *
 * Rendering is deterministic for a given commit and source, so callers cache it by (commit, path, source
 * parameters). It never touches the cluster and never writes the checkout. Labels, the tracking id and the
 * destination namespace of namespaced objects are applied later, not here.
 *
 * Errors: `RenderError` (terminal for the input unless `retryable`) and `PathEscapeError` (terminal).
 */
import fs from 'node:fs';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from '../common/limits';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { resolveAppDir } from './apppath';
import { renderDirectory } from './directory';
import { RenderError } from './errors';
import { renderHelm, type HelmSourceOptions } from './helm';
import { remoteDependencyBuilder, renderHelmRepositoryChart, type HelmChartContext } from './helmchart';
import { renderKustomize, type KustomizeRemotePolicy } from './kustomize';
import type { KustomizeOptions } from './kustomizeedit';
import { detectSourceType, type SourceType } from './sourcetype';

export { RenderError } from './errors';
export { parseManifests } from './manifests';
export { PathEscapeError } from '../sources/paths';
export type { HelmSourceOptions, HelmParameter, HelmFileParameter } from './helm';
export { DEFAULT_VALUES_FILE_SCHEMES } from './helm';
export { renderHelmRepositoryChart, resolveHelmChartRevision } from './helmchart';
export type { HelmChartContext, HelmChartRenderRequest } from './helmchart';
export type { KustomizeRemotePolicy } from './kustomize';
export type { SourceType } from './sourcetype';

/** `spec.source.directory` (Jsonnet settings are accepted and ignored; `.jsonnet` files are refused). */
export interface DirectorySourceOptions {
  recurse?: boolean;
  include?: string;
  exclude?: string;
  /** Any file extension may hold manifests (Argo CD's `disableExtensionFilter`). */
  disableExtensionFilter?: boolean;
  jsonnet?: unknown;
}

/** The fields of Argo CD's ApplicationSource that rendering reads. */
export interface SourceSpec {
  repoURL: string;
  /** Directory in the repository; absent, `''` or `.` is the root. */
  path?: string;
  targetRevision?: string;
  /** A chart from a Helm repository or an OCI registry (not git): rendered by `helmchart.ts`. */
  chart?: string;
  /** Name under which other sources reference this one's files (`$name/values.yaml`). */
  ref?: string;
  directory?: DirectorySourceOptions | null;
  helm?: HelmSourceOptions | null;
  /** Overrides applied to a copy of the kustomization (see `kustomizeedit.ts`). */
  kustomize?: KustomizeOptions | null;
  /** Config management plugins are not supported: refused. */
  plugin?: unknown;
}

/** Everything needed to render one source of one Application. */
export interface RenderRequest {
  /** The Application's name (default Helm release name). */
  appName: string;
  /** The destination namespace (`.Release.Namespace`). */
  namespace: string;
  /** The checkout of `source.repoURL` at the resolved revision. */
  repoRoot: string;
  source: SourceSpec;
  /** Checkouts of the app's other sources by `ref` name, for Helm `$ref/...` value files. */
  refRoots?: Record<string, string>;
  /** helm executable; default `$HELM_BINARY`, else `helm`. */
  helmBinary?: string;
  /** kubectl executable for Kustomize; default `$KUBECTL_BINARY`, else `kubectl`. */
  kubectlBinary?: string;
  /** Time one tool invocation may take, in milliseconds; default 90 000. */
  timeoutMs?: number;
  /** The cluster's Kubernetes version, for Helm's `.Capabilities.KubeVersion`. */
  kubeVersion?: string;
  /** The cluster's API versions, for Helm's `.Capabilities.APIVersions`. */
  apiVersions?: string[];
  /**
   * Argo CD's build environment (`ARGOCD_APP_NAME`, `ARGOCD_APP_REVISION`, ... see `buildenv.ts`), expanded in
   * Kustomize `images`, `commonLabels` and (opt-in) `commonAnnotations`; absent: variables expand to ''.
   */
  buildEnv?: Record<string, string>;
  /** Receives warnings about skipped files. */
  logger?: Logger;
  /** URL schemes a Helm value file may use (`--helm-values-file-schemes`); default `https`, `http`. */
  helmValuesFileSchemes?: string[];
  /** What a kustomization may reach beyond the repository; default: nothing remote, no Helm charts. */
  kustomizeRemote?: KustomizeRemotePolicy;
  /**
   * Output ceilings of this source (`--max-manifest-bytes`, `--max-objects`): tool output past `maxBytes`
   * kills the tool, a Directory source's files are sized before they are read; default 32 MiB and 10 000.
   */
  limits?: RenderLimits;
  /**
   * Helm repositories: for a `chart` source its resolved `version` ({@link resolveHelmChartRevision}; `repoRoot`
   * is then unused), and for every Helm source the `context` (cache, credentials) its remote chart
   * dependencies are built with; absent: remote dependencies are refused.
   */
  helmChart?: { version?: string; context: HelmChartContext };
}

/** What a source rendered to. */
export interface RenderResult {
  /** How it was rendered (reported in the Application's `status.sourceType`). */
  sourceType: SourceType;
  /** The desired objects, in the tool's order. */
  objects: KubeObject[];
}

/**
 * Renders one Application source from a checked-out repository.
 * @param req - the app, destination namespace, checkout, source and tool settings.
 * @returns the source type and the objects.
 * @throws RenderError `app path "x" does not exist`, `multiple application sources defined: ...`,
 *   unsupported features (plugins, `kustomize.version`), a `chart` source without `helmChart`, every
 *   Helm repository failure, and every tool or parse
 *   failure; PathEscapeError when anything resolves outside the repository.
 */
export async function renderSource(req: RenderRequest): Promise<RenderResult> {
  const { source } = req;
  if (source.chart) {
    if (!req.helmChart?.version) {
      throw new RenderError(`chart "${source.chart}": no resolved chart version to render`);
    }
    return renderHelmRepositoryChart({ ...req, version: req.helmChart.version }, req.helmChart.context);
  }
  // A source with only `ref` supplies files to the others (`$ref/values.yaml`) and renders nothing.
  if (source.ref && !source.path) return { sourceType: 'Directory', objects: [] };
  const appPath = source.path ?? '';
  const appDir = resolveAppDir(fs.realpathSync(req.repoRoot), appPath);
  const sourceType = detectSourceType(source, appDir);
  return { sourceType, objects: await renderAs(sourceType, req, appPath) };
}

function renderAs(sourceType: SourceType, req: RenderRequest, appPath: string): Promise<KubeObject[]> {
  switch (sourceType) {
    case 'Helm':
      return renderHelm({
        repoRoot: req.repoRoot,
        chartPath: appPath,
        appName: req.appName,
        namespace: req.namespace,
        helm: req.source.helm ?? undefined,
        refRoots: req.refRoots,
        helmBinary: req.helmBinary,
        timeoutMs: req.timeoutMs,
        kubeVersion: req.kubeVersion,
        apiVersions: req.apiVersions,
        valuesFileSchemes: req.helmValuesFileSchemes,
        limits: req.limits ?? DEFAULT_RENDER_LIMITS,
        remoteDependencies: req.helmChart && remoteDependencyBuilder(req.helmChart.context),
      });
    case 'Kustomize':
      return renderKustomize({
        repoRoot: req.repoRoot,
        path: appPath,
        kustomize: req.source.kustomize,
        buildEnv: req.buildEnv,
        kubeVersion: req.kubeVersion,
        apiVersions: req.apiVersions,
        kubectlBinary: req.kubectlBinary,
        timeoutMs: req.timeoutMs,
        remote: req.kustomizeRemote,
        helmBinary: req.helmBinary,
        limits: req.limits ?? DEFAULT_RENDER_LIMITS,
      });
    case 'Directory': {
      const dir = req.source.directory ?? {};
      const limits = req.limits ?? DEFAULT_RENDER_LIMITS;
      return renderDirectory(req.repoRoot, appPath, {
        ...pick(dir),
        logger: req.logger,
        maxBytes: limits.maxBytes,
        maxObjects: limits.maxObjects,
      });
    }
  }
}

function pick(dir: DirectorySourceOptions): {
  recurse?: boolean;
  include?: string;
  exclude?: string;
  disableExtensionFilter?: boolean;
} {
  return {
    recurse: dir.recurse,
    include: dir.include,
    exclude: dir.exclude,
    disableExtensionFilter: dir.disableExtensionFilter,
  };
}
