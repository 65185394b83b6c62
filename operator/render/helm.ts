/**
 * The Helm source type: a chart in the repository rendered with the real `helm template`, with the flags
 * Argo CD's repo-server passes (`util/helm/cmd.go` `template`, `reposerver/repository` `helmTemplate`):
 *
 * ```
 * helm template --namespace=<ns> [--kube-version=v] [--set=a=b]... [--set-string=a=b]...
 *     [--set-file=a=/abs/path]... [--values=/abs/file]... [--values=<inline values>]
 *     [--api-versions=g/v]... --include-crds | --skip-crds [--skip-tests] [--skip-schema-validation]
 *     -- <releaseName> .
 * ```
 *
 * run with the chart directory as cwd. Argument injection: every author-controlled value is glued to its
 * flag (`--namespace=<ns>`), so a value starting with `-` can never become a flag of its own; positionals
 * come after `--`; and the release name must be a valid Helm release name (Helm's own rule), so
 * `releaseName: --set-file=x=/var/run/secrets/...` is refused before helm runs. Value files and file parameters are resolved relative to the chart
 * directory and must stay inside the repository (CVE-2022-24348); absolute ones are repository-relative.
 * `$ref/...` value files resolve inside another source's checkout (multi-source apps). Helm hooks stay in
 * the output (with their `helm.sh/hook` annotations) for the sync engine to map onto Argo CD hooks.
 *
 * Each render gets its own empty `HELM_CACHE_HOME` / `HELM_CONFIG_HOME` / `HELM_DATA_HOME` and no
 * kubeconfig, so no repository, plugin, credential or cluster leaks from the process or between apps.
 *
 * Dependencies: vendored charts in `charts/` work as they are. When `helm template` reports dependencies
 * missing from `charts/`, the ones with a `file://` repository are packaged into a temporary copy of the
 * chart (the repository checkout is never written) and the render is retried, as Argo CD retries after
 * `helm dependency build`. A missing dependency from a remote repository (`https://`, `oci://`) is built
 * with `helm dependency build` and the app's repository credentials when the caller passes
 * `remoteDependencies` (`helmchart.ts`), else it is a clear error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RenderLimits } from '../common/limits';
import type { KubeObject } from '../kube/object';
import { assertNoEscapingSymlinks, resolveInside } from '../sources/paths';
import { resolveAppDir } from './apppath';
import { RenderError } from './errors';
import { KUBE_YAML_OPTIONS, parseManifests } from './manifests';
import { DEFAULT_TOOL_TIMEOUT_MS, runTool } from './tool';

/** One `spec.source.helm.parameters[]` entry. */
export interface HelmParameter {
  /** Dotted value path, as for `helm --set` (`image.tag`). Required. */
  name?: string;
  /** The value; absent is `''`. */
  value?: string;
  /** Pass with `--set-string` so that `true` or `1` stay strings. */
  forceString?: boolean;
}

/** One `spec.source.helm.fileParameters[]` entry: the value is the content of a repository file. */
export interface HelmFileParameter {
  /** Dotted value path. Required. */
  name?: string;
  /** Path relative to the chart directory (absolute: relative to the repository root). Required. */
  path?: string;
}

/** The `spec.source.helm` fields capstan implements (Argo CD's ApplicationSourceHelm). */
export interface HelmSourceOptions {
  /** Release name; default the Application's name. Must match {@link HELM_RELEASE_NAME} (53 chars max). */
  releaseName?: string;
  /**
   * Value files, in order; relative to the chart directory, `$ref/path` into another source, or a URL whose
   * scheme is in the request's `valuesFileSchemes`.
   */
  valueFiles?: string[];
  /** Skip value files that do not exist instead of failing. */
  ignoreMissingValueFiles?: boolean;
  /** Inline values as a YAML string; passed after the value files. */
  values?: string;
  /** Inline values as an object; replaces `values` when both are set (as Argo CD's `ValuesYAML`). */
  valuesObject?: Record<string, unknown> | null;
  parameters?: HelmParameter[];
  fileParameters?: HelmFileParameter[];
  /** Do not render the chart's `crds/` directory. */
  skipCrds?: boolean;
  /** Do not render test hooks (`helm.sh/hook: test`). */
  skipTests?: boolean;
  /** Do not validate values against `values.schema.json`. */
  skipSchemaValidation?: boolean;
  /** Overrides the destination namespace as `.Release.Namespace`. */
  namespace?: string;
  /** Overrides the cluster's version for `.Capabilities.KubeVersion`. */
  kubeVersion?: string;
  /** Overrides the cluster's API versions for `.Capabilities.APIVersions`. */
  apiVersions?: string[];
}

/** Everything `renderHelm` needs. */
export interface HelmRenderRequest {
  /** The repository checkout. */
  repoRoot: string;
  /** The chart directory relative to the repository root (the source `path`). */
  chartPath: string;
  /** The Application's name: the default release name. */
  appName: string;
  /** The destination namespace: `--namespace`, `.Release.Namespace`. Empty: not passed. */
  namespace: string;
  /** `spec.source.helm`. */
  helm?: HelmSourceOptions;
  /** Checkouts of the other sources by `ref` name (without `$`), for `$ref/...` value files. */
  refRoots?: Record<string, string>;
  /** The helm executable; default `$HELM_BINARY`, else `helm` on PATH. */
  helmBinary?: string;
  /** Time one helm invocation may take, in milliseconds; default 90 000. */
  timeoutMs?: number;
  /** The cluster's Kubernetes version (`v1.31.0`), for `--kube-version`. */
  kubeVersion?: string;
  /** The cluster's API versions (`apps/v1`, `example.com/v1/Widget`), for `--api-versions`. */
  apiVersions?: string[];
  /**
   * URL schemes a value file may use (lower case), as Argo CD's `helm.valuesFileSchemes` in argocd-cm;
   * default {@link DEFAULT_VALUES_FILE_SCHEMES}; `[]` refuses every URL value file.
   */
  valuesFileSchemes?: string[];
  /** Output ceilings (`--max-manifest-bytes`, `--max-objects`); absent: 32 MiB of output, objects unbounded. */
  limits?: RenderLimits;
  /**
   * Builds the chart's remote dependencies (`https://`, `oci://`) into `chartCopy/charts/` with
   * `helm dependency build` (see `helmchart.ts`); absent: a missing remote dependency is refused.
   */
  remoteDependencies?: RemoteDependencyBuilder;
}

/**
 * Builds remote dependencies of a chart copy: `deps` are the missing ones (name, version, repository),
 * `work` is this render's private directory whose Helm homes `run` uses.
 */
export type RemoteDependencyBuilder = (
  chartCopy: string,
  deps: ChartDependency[],
  work: string,
  run: HelmRunner,
) => Promise<void>;

/** Value file URL schemes helm may fetch when none are configured (Argo CD's default `helm.valuesFileSchemes`). */
export const DEFAULT_VALUES_FILE_SCHEMES: readonly string[] = ['https', 'http'];

/**
 * Helm's release name rule (`chartutil.ValidateReleaseName`): DNS-1123 labels joined by dots, at most
 * {@link HELM_RELEASE_NAME_MAX} characters. A valid name never starts with `-`.
 */
export const HELM_RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Longest Helm release name, in characters (Helm's `maxReleaseNameLen`). */
export const HELM_RELEASE_NAME_MAX = 53;

/** How `helm template` reports dependencies missing from `charts/` (Helm 3 and 4). */
const MISSING_DEPENDENCIES = /found in Chart\.yaml, but missing in charts\/ directory: (.+)$/m;

/**
 * Renders a Helm chart from the repository with `helm template`.
 * @param req - chart location, release, namespace, `spec.source.helm`, binary and timeout.
 * @returns the rendered objects, CRDs first (unless skipped), hooks included, in helm's output order.
 * @throws RenderError when `releaseName` is not a valid Helm release name, a value file URL's scheme is not
 *   in `valuesFileSchemes`, helm fails (its trimmed stderr is the message), a value file is missing, a
 *   dependency cannot be built offline, or the output does not parse; `retryable` on timeouts.
 * @throws PathEscapeError when the chart, a value file, a file parameter or a local dependency resolves
 *   outside its repository, or the chart contains a symlink that does.
 */
export async function renderHelm(req: HelmRenderRequest): Promise<KubeObject[]> {
  assertReleaseName(req.helm?.releaseName);
  const realRoot = fs.realpathSync(req.repoRoot);
  const chartDir = resolveAppDir(realRoot, req.chartPath);
  assertNoEscapingSymlinks(realRoot, chartDir);
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'capstan-helm-'));
  try {
    const helm = helmRunner(req, work);
    const args = templateArgs(req, realRoot, chartDir, writeInlineValues(req.helm, work));
    let stdout: string;
    try {
      stdout = await helm(args, chartDir, 'helm template');
    } catch (err) {
      const missing = missingDependencies(err);
      if (missing.length === 0) throw err;
      const copy = await vendorLocalDependencies(realRoot, chartDir, missing, work, {
        helm,
        remote: req.remoteDependencies,
      });
      stdout = await helm(args, copy, 'helm template');
    }
    return parseManifests(stdout, `helm template of "${req.chartPath || '.'}"`, {
      maxObjects: req.limits?.maxObjects,
    });
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}

/** Runs helm with args in a cwd; `what` names the step in errors. */
export type HelmRunner = (args: string[], cwd: string, what: string) => Promise<string>;

/** A runner bound to the binary, timeout and isolated environment of this render. */
function helmRunner(req: HelmRenderRequest, work: string): HelmRunner {
  const binary = req.helmBinary ?? process.env.HELM_BINARY ?? 'helm';
  const env = helmEnv(work);
  const timeoutMs = req.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const maxOutputBytes = req.limits?.maxBytes;
  return (args, cwd, what) => runTool({ binary, args, cwd, env, timeoutMs, what, maxOutputBytes });
}

/**
 * Checks an explicit `spec.source.helm.releaseName` against Helm's rule before it reaches a command line.
 * @param name - the release name; absent or `''` means the app name (a Kubernetes name, already safe).
 * @throws RenderError naming the field when the name is longer than 53 characters or not DNS-1123-like.
 */
export function assertReleaseName(name: string | undefined): void {
  if (!name) return;
  if (name.length > HELM_RELEASE_NAME_MAX || !HELM_RELEASE_NAME.test(name)) {
    throw new RenderError(
      `spec.source.helm.releaseName ${JSON.stringify(name.slice(0, 80))} is not a valid Helm release name: ` +
        `it must be at most ${HELM_RELEASE_NAME_MAX} characters of lower-case letters, digits, '-' and '.', ` +
        'starting and ending with a letter or digit',
    );
  }
}

/** `--name=value`: the value stays glued to its flag, so it cannot be read as a flag however it starts. */
function flag(name: string, value: string): string {
  return `--${name}=${value}`;
}

/**
 * The environment of a helm child: the process environment without `HELM_*` and cluster settings, plus
 * private Helm homes under `work` and a kubeconfig that does not exist.
 * @param work - this render's private temporary directory.
 * @returns the complete child environment.
 */
export function helmEnv(work: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('HELM_') || key === 'KUBECONFIG' || key.startsWith('KUBERNETES_SERVICE_')) continue;
    env[key] = value;
  }
  env.HELM_CACHE_HOME = path.join(work, 'cache');
  env.HELM_CONFIG_HOME = path.join(work, 'config');
  env.HELM_DATA_HOME = path.join(work, 'data');
  // No plugins: an empty directory that never exists (helm looks nowhere else for them).
  env.HELM_PLUGINS = path.join(work, 'no-plugins');
  env.KUBECONFIG = path.join(work, 'no-kubeconfig');
  return env;
}

/**
 * The `helm template` arguments, in Argo CD's order.
 * @param inlineValuesFile - the temp file holding `valuesObject` / `values`, if any.
 */
function templateArgs(
  req: HelmRenderRequest,
  realRoot: string,
  chartDir: string,
  inlineValuesFile: string | undefined,
): string[] {
  const h = req.helm ?? {};
  const valueFiles = resolveValueFiles(req, realRoot, chartDir);
  if (inlineValuesFile) valueFiles.push(inlineValuesFile);
  return [
    'template',
    ...releaseArgs(req),
    ...setArgs(h, realRoot, chartDir),
    ...valueFiles.map((file) => flag('values', file)),
    ...capabilityArgs(req).apiVersions,
    ...switchArgs(h),
    // Positionals after `--`: nothing after it is parsed as a flag (cobra/pflag).
    '--',
    h.releaseName || req.appName,
    '.',
  ];
}

/** `--namespace` and `--kube-version`; `spec.source.helm` overrides the destination and the cluster. */
function releaseArgs(req: HelmRenderRequest): string[] {
  const args: string[] = [];
  const namespace = req.helm?.namespace || req.namespace;
  if (namespace) args.push(flag('namespace', namespace));
  const kubeVersion = capabilityArgs(req).kubeVersion;
  if (kubeVersion) args.push(flag('kube-version', kubeVersion));
  return args;
}

/** The cluster capabilities to render for: `spec.source.helm` values win over the cluster's. */
function capabilityArgs(req: HelmRenderRequest): { kubeVersion?: string; apiVersions: string[] } {
  const h = req.helm ?? {};
  const apiVersions = h.apiVersions?.length ? h.apiVersions : (req.apiVersions ?? []);
  return {
    kubeVersion: h.kubeVersion || req.kubeVersion,
    apiVersions: apiVersions.map((v) => flag('api-versions', v)),
  };
}

/** `--set` / `--set-string` per parameter and `--set-file` per file parameter (paths checked). */
function setArgs(h: HelmSourceOptions, realRoot: string, chartDir: string): string[] {
  const args: string[] = [];
  (h.parameters ?? []).forEach((p, i) => {
    if (!p.name) throw new RenderError('a helm parameter has no name');
    assertSetName(p.name, `spec.source.helm.parameters[${i}].name`);
    args.push(flag(p.forceString ? 'set-string' : 'set', `${p.name}=${escapeSetValue(p.value ?? '')}`));
  });
  for (const [i, p] of (h.fileParameters ?? []).entries()) {
    if (!p.name || !p.path) throw new RenderError('a helm file parameter has no name or no path');
    assertSetName(p.name, `spec.source.helm.fileParameters[${i}].name`);
    const file = resolveInside(realRoot, p.path, 'file parameter', chartDir);
    args.push(flag('set-file', `${p.name}=${escapeSetValue(file)}`));
  }
  return args;
}

/**
 * Refuses a `--set` / `--set-file` name holding `=` or `,`: helm splits the flag's value into
 * `name=value` pairs at them, so `name: "x=/etc/passwd,y"` would add a `--set-file` of any file.
 * @param name - the parameter name (a dotted value path such as `image.tag` or `a\.b[0]`).
 * @param field - where it is written, for the message.
 * @throws RenderError naming the field.
 */
export function assertSetName(name: string, field: string): void {
  if (/[=,]/.test(name)) {
    throw new RenderError(`${field} ${JSON.stringify(name.slice(0, 80))} may not contain '=' or ','`);
  }
}

/** CRDs in (unless skipped), tests and schema validation as asked. */
function switchArgs(h: HelmSourceOptions): string[] {
  const args = [h.skipCrds ? '--skip-crds' : '--include-crds'];
  if (h.skipTests) args.push('--skip-tests');
  if (h.skipSchemaValidation) args.push('--skip-schema-validation');
  return args;
}

/**
 * Escapes a `--set` value as Argo CD's `cleanSetParameters`: commas are escaped (helm would split the
 * value at them) unless already escaped or the value is a `{a,b}` list.
 */
export function escapeSetValue(value: string): string {
  if (value.startsWith('{') && value.endsWith('}')) return value;
  return value.replace(/(?<!\\),/g, '\\,');
}

/**
 * Resolves `valueFiles` to absolute paths (or allowed URLs), in order.
 * @throws RenderError for a missing file (unless `ignoreMissingValueFiles`) or a URL scheme not in
 *   `valuesFileSchemes` (Argo CD's message: `the URL scheme '<s>' is not allowed`); PathEscapeError for a file
 *   outside its repository.
 */
function resolveValueFiles(req: HelmRenderRequest, realRoot: string, chartDir: string): string[] {
  const resolved: string[] = [];
  const schemes = req.valuesFileSchemes ?? DEFAULT_VALUES_FILE_SCHEMES;
  for (const raw of req.helm?.valueFiles ?? []) {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw)?.[1];
    if (scheme) {
      if (!schemes.includes(scheme.toLowerCase())) {
        throw new RenderError(
          `spec.source.helm.valueFiles: value file "${raw}": the URL scheme '${scheme}' is not allowed ` +
            `(allowed: ${schemes.length ? schemes.join(', ') : 'none'}; see --helm-values-file-schemes)`,
        );
      }
      resolved.push(raw);
      continue;
    }
    const file = resolveValueFile(req, realRoot, chartDir, raw);
    if (fs.existsSync(file)) resolved.push(file);
    else if (!req.helm?.ignoreMissingValueFiles) throw new RenderError(`value file "${raw}" does not exist`);
  }
  return resolved;
}

/** One local value file: `$ref/path` inside that source's checkout, else relative to the chart. */
function resolveValueFile(req: HelmRenderRequest, realRoot: string, chartDir: string, raw: string): string {
  const ref = /^\$([^/]+)\/(.*)$/.exec(raw);
  const refRoot = ref ? req.refRoots?.[ref[1]] : undefined;
  // As Argo CD: a `$name/...` path whose name is not a ref source is an ordinary relative path.
  if (ref && refRoot !== undefined) return resolveInside(refRoot, ref[2], 'value file');
  return resolveInside(realRoot, raw, 'value file', chartDir);
}

/**
 * Writes `valuesObject` (as JSON, which is YAML and keeps every string a string) or else `values` to a temp
 * file, as Argo CD does; nothing when both are empty.
 * @returns the file path, or undefined.
 */
function writeInlineValues(helm: HelmSourceOptions | undefined, work: string): string | undefined {
  const obj = helm?.valuesObject;
  const text = obj !== undefined && obj !== null ? JSON.stringify(obj) : (helm?.values ?? '');
  if (text.trim() === '') return undefined;
  const file = path.join(work, 'inline-values.yaml');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** Names of the dependencies helm reported missing from `charts/`, or `[]` for any other error. */
function missingDependencies(err: unknown): string[] {
  if (!(err instanceof RenderError)) return [];
  const match = MISSING_DEPENDENCIES.exec(err.message);
  if (!match) return [];
  return match[1]
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** A `dependencies[]` entry of Chart.yaml. */
export interface ChartDependency {
  name?: string;
  version?: string;
  repository?: string;
}

/**
 * Copies the chart to `work/chart`, packages each missing `file://` dependency into its `charts/`, and has
 * `remote` build the missing `https://` / `oci://` ones (when given).
 * @returns the directory of the copy, to render from.
 * @throws RenderError for a missing dependency capstan cannot build, or what `remote` throws;
 *   PathEscapeError for a `file://` dependency outside the repository.
 */
async function vendorLocalDependencies(
  realRoot: string,
  chartDir: string,
  missing: string[],
  work: string,
  { helm, remote }: { helm: HelmRunner; remote?: RemoteDependencyBuilder },
): Promise<string> {
  const deps = readDependencies(chartDir);
  const isRemote = (repository: string): boolean => !!remote && /^(https?|oci):\/\//i.test(repository);
  const remoteDeps = deps.filter((d) => missing.includes(d.name ?? '') && isRemote(d.repository ?? ''));
  const local = missing.flatMap((name) => {
    const repository = deps.find((d) => d.name === name)?.repository ?? '';
    if (isRemote(repository)) return [];
    if (!repository.startsWith('file://')) {
      const from = repository ? ` (repository ${repository})` : '';
      // `@name` / `alias:name` (a repository by its name in Argo CD's list) is not resolved by capstan.
      const builds = remote ? 'file://, https:// and oci://' : 'file://';
      throw new RenderError(
        `chart dependency "${name}"${from} is missing from charts/; capstan builds only ${builds} ` +
          'dependencies: write the repository URL, or run `helm dependency build` and commit the charts/ directory',
      );
    }
    const dir = resolveInside(realRoot, repository.slice('file://'.length), 'chart dependency', chartDir);
    assertNoEscapingSymlinks(realRoot, dir);
    return [{ name, dir }];
  });
  const copy = path.join(work, 'chart');
  try {
    await fs.promises.cp(chartDir, copy, { recursive: true, dereference: true });
  } catch (err) {
    throw new RenderError(`cannot copy the chart to build its dependencies: ${String(err)}`, { cause: err });
  }
  for (const dep of local) {
    await helm(
      ['package', flag('destination', path.join(copy, 'charts')), '--', dep.dir],
      work,
      `helm package of "${dep.name}"`,
    );
  }
  if (remote && remoteDeps.length) await remote(copy, remoteDeps, work, helm);
  return copy;
}

/** The `dependencies` of the chart's Chart.yaml (empty when absent or unreadable). */
function readDependencies(chartDir: string): ChartDependency[] {
  try {
    const chart = parseYaml(
      fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8'),
      KUBE_YAML_OPTIONS,
    ) as {
      dependencies?: unknown;
    };
    return Array.isArray(chart?.dependencies) ? (chart.dependencies as ChartDependency[]) : [];
  } catch {
    return [];
  }
}
