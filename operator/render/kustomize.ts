/**
 * The Kustomize source type: `kubectl kustomize <app path>` (kustomize's `build`, embedded in kubectl),
 * as Argo CD runs `kustomize build`. The `spec.source.kustomize` options (namePrefix, images, patches, ...)
 * are not implemented yet and are refused rather than ignored, so an app never syncs without them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RenderLimits } from '../common/limits';
import type { KubeObject } from '../kube/object';
import { assertNoEscapingSymlinks } from '../sources/paths';
import { repoURLKind } from '../sources/repourl';
import { resolveAppDir } from './apppath';
import { RenderError } from './errors';
import { scanKustomization, type RemoteReference } from './kustomizerefs';
import { parseManifests } from './manifests';
import { DEFAULT_TOOL_TIMEOUT_MS, runTool } from './tool';

/**
 * What a kustomization may reach beyond its repository; the platform admin's flags plus the app's project.
 * Absent: nothing remote and no Helm charts (the safe default).
 */
export interface KustomizeRemotePolicy {
  /** `--kustomize-allow-remote`: remote bases, resources and files may be fetched at all. */
  allowRemote: boolean;
  /** `--kustomize-enable-helm`: `helmCharts` are inflated (kustomize `--enable-helm`, with capstan's helm). */
  enableHelm: boolean;
  /**
   * Whether the app's project permits a repository URL (its `sourceRepos`, as for `spec.source.repoURL`).
   * Asked only when `allowRemote` is on; absent: no repository is permitted.
   */
  permitsRepo?: (repoURL: string) => boolean | Promise<boolean>;
}

/** Everything `renderKustomize` needs. */
export interface KustomizeRenderRequest {
  /** The repository checkout. */
  repoRoot: string;
  /** The kustomization directory relative to the repository root. */
  path: string;
  /** `spec.source.kustomize`; must be empty (options are not supported yet). */
  kustomize?: unknown;
  /** The kubectl executable; default `$KUBECTL_BINARY`, else `kubectl` on PATH. */
  kubectlBinary?: string;
  /** Time the build may take, in milliseconds; default 90 000. */
  timeoutMs?: number;
  /** Remote references and Helm charts; default: none allowed. */
  remote?: KustomizeRemotePolicy;
  /** The helm executable for `helmCharts` (with `remote.enableHelm`); default `$HELM_BINARY`, else `helm`. */
  helmBinary?: string;
  /** Output ceilings (`--max-manifest-bytes`, `--max-objects`); absent: 32 MiB of output, objects unbounded. */
  limits?: RenderLimits;
}

/**
 * Builds a kustomization with `kubectl kustomize`.
 * @param req - repository, path, options, binary, timeout.
 * @returns the objects in kustomize's output order.
 * @throws RenderError when options are set; when a kustomization reaches a remote repository or URL and
 *   `--kustomize-allow-remote` is off or the project's `sourceRepos` do not permit it; when it uses
 *   `helmCharts` and `--kustomize-enable-helm` is off (all checked before kustomize runs, so nothing is
 *   fetched); or when kustomize fails (its trimmed stderr is the message); `retryable` on timeouts.
 * @throws PathEscapeError when the path resolves outside the repository or the repository contains a
 *   symlink that points outside it (kustomize may read any directory of the repository, so all of it is
 *   checked), or a kustomization names a local path outside the repository.
 */
export async function renderKustomize(req: KustomizeRenderRequest): Promise<KubeObject[]> {
  const options = setOptionNames(req.kustomize);
  if (options.length > 0) {
    throw new RenderError(`Kustomize options are not supported yet: ${options.join(', ')}`);
  }
  const realRoot = fs.realpathSync(req.repoRoot);
  const dir = resolveAppDir(realRoot, req.path);
  assertNoEscapingSymlinks(realRoot, realRoot);
  const policy = req.remote ?? { allowRemote: false, enableHelm: false };
  await assertRemoteAllowed(scanKustomization(realRoot, dir), policy);
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'capstan-kustomize-'));
  try {
    const stdout = await runTool({
      binary: req.kubectlBinary ?? process.env.KUBECTL_BINARY ?? 'kubectl',
      args: kustomizeArgs(policy, req.helmBinary),
      cwd: dir,
      env: kustomizeEnv(work),
      timeoutMs: req.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      what: 'kustomize build',
      maxOutputBytes: req.limits?.maxBytes,
    });
    return parseManifests(stdout, `kustomize build of "${req.path || '.'}"`, {
      maxObjects: req.limits?.maxObjects,
    });
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}

/**
 * Refuses what the policy does not allow, naming the kustomization file, the field and the flag.
 * @throws RenderError for the first reference that is not allowed.
 */
async function assertRemoteAllowed(
  scan: ReturnType<typeof scanKustomization>,
  policy: KustomizeRemotePolicy,
): Promise<void> {
  const chart = scan.helmCharts[0];
  if (chart && !policy.enableHelm) {
    throw new RenderError(
      `${chart.file}: ${chart.field} inflates the Helm chart "${chart.name}"; kustomize Helm charts are ` +
        'disabled (capstan runs without --kustomize-enable-helm); render the chart as a Helm source instead',
    );
  }
  for (const ref of scan.remote) {
    // `file://` and other non-network forms would read the operator's disk: never, whatever the flags.
    if (repoURLKind(ref.repoURL) !== 'remote') {
      throw new RenderError(`${describe(ref)}; only https, http, ssh and git remotes may be referenced`);
    }
    if (!policy.allowRemote) {
      throw new RenderError(
        `${describe(ref)}; remote kustomize references are disabled (capstan runs without ` +
          '--kustomize-allow-remote): vendor the base into the repository',
      );
    }
    if (!(await policy.permitsRepo?.(ref.repoURL))) {
      throw new RenderError(
        `${describe(ref)}; the repository "${ref.repoURL}" is not permitted by the project's sourceRepos`,
      );
    }
  }
}

function describe(ref: RemoteReference): string {
  const what = ref.notLocal
    ? 'is no path in the repository, so kustomize would fetch it as a remote repository'
    : 'is a remote reference';
  return `${ref.file}: ${ref.field} "${ref.value}" ${what}`;
}

/** `kubectl kustomize [--enable-helm --helm-command=<helm>] -- .`: the directory after `--`. */
function kustomizeArgs(policy: KustomizeRemotePolicy, helmBinary: string | undefined): string[] {
  const helm = policy.enableHelm
    ? ['--enable-helm', `--helm-command=${helmBinary ?? process.env.HELM_BINARY ?? 'helm'}`]
    : [];
  return ['kustomize', ...helm, '--', '.'];
}

/** The names of `spec.source.kustomize` fields that carry a value (empty strings, lists and maps do not). */
function setOptionNames(kustomize: unknown): string[] {
  if (typeof kustomize !== 'object' || kustomize === null) return [];
  return Object.entries(kustomize)
    .filter(([, value]) => !isEmpty(value))
    .map(([key]) => key);
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * The process environment without cluster and Helm settings and with HOME in `work`, so no config,
 * repository or credential leaks in (kustomize's helm inherits it).
 */
function kustomizeEnv(work: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'KUBECONFIG' || key.startsWith('KUBERNETES_SERVICE_') || key.startsWith('HELM_')) continue;
    env[key] = value;
  }
  env.KUBECONFIG = path.join(work, 'no-kubeconfig');
  env.HOME = work;
  return env;
}
