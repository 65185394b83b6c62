/**
 * The Kustomize source type: `kubectl kustomize <app path>` (kustomize's `build`, embedded in kubectl),
 * as Argo CD runs `kustomize build`. The `spec.source.kustomize` overrides (namePrefix, images, commonLabels,
 * patches, components, ...) are written into the kustomization of a private copy of the checkout first
 * (`kustomizeedit.ts`, as Argo CD's `kustomize edit` calls; the shared checkout is never written), and
 * `kubeVersion` / `apiVersions` reach charts that kustomize inflates (`--helm-kube-version`,
 * `--helm-api-versions`, as Argo CD passes them when Helm is enabled).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYAML, stringify as stringifyYAML } from 'yaml';
import type { RenderLimits } from '../common/limits';
import type { KubeObject } from '../kube/object';
import { assertNoEscapingSymlinks } from '../sources/paths';
import { repoURLKind } from '../sources/repourl';
import { resolveAppDir } from './apppath';
import { RenderError } from './errors';
import { scanKustomization, type RemoteReference } from './kustomizerefs';
import { applyKustomizeOptions, hasEdits, type KustomizeOptions } from './kustomizeedit';
import { parseManifests } from './manifests';
import { KUSTOMIZATION_FILES } from './sourcetype';
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
  /** `spec.source.kustomize`: overrides applied to a copy of the kustomization before the build. */
  kustomize?: KustomizeOptions | null;
  /**
   * Argo CD's build environment (`ARGOCD_APP_NAME`, `ARGOCD_APP_REVISION`, ...), expanded in `images`,
   * `commonLabels` and (with `commonAnnotationsEnvsubst`) `commonAnnotations`; absent: every variable is empty.
   */
  buildEnv?: Record<string, string>;
  /** The destination cluster's version, for inflated charts unless `kustomize.kubeVersion` is set. */
  kubeVersion?: string;
  /** The destination cluster's API versions, for inflated charts unless `kustomize.apiVersions` is set. */
  apiVersions?: string[];
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
 * @throws RenderError when `kustomize.version` is set (only kubectl's kustomize is available), when an
 *   override cannot be applied (see `applyKustomizeOptions`); when a kustomization reaches a remote repository or URL and
 *   `--kustomize-allow-remote` is off or the project's `sourceRepos` do not permit it; when it uses
 *   `helmCharts` and `--kustomize-enable-helm` is off (all checked before kustomize runs, so nothing is
 *   fetched); or when kustomize fails (its trimmed stderr is the message); `retryable` on timeouts.
 * @throws PathEscapeError when the path resolves outside the repository or the repository contains a
 *   symlink that points outside it (kustomize may read any directory of the repository, so all of it is
 *   checked), or a kustomization names a local path outside the repository.
 */
export async function renderKustomize(req: KustomizeRenderRequest): Promise<KubeObject[]> {
  const options = req.kustomize ?? {};
  if (options.version) {
    throw new RenderError(
      `kustomize.version "${options.version}" selects a kustomize binary; capstan builds with kubectl's ` +
        'embedded kustomize only: remove the field',
    );
  }
  const sharedRoot = fs.realpathSync(req.repoRoot);
  resolveAppDir(sharedRoot, req.path);
  assertNoEscapingSymlinks(sharedRoot, sharedRoot);
  const policy = req.remote ?? { allowRemote: false, enableHelm: false };
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'capstan-kustomize-'));
  try {
    const realRoot = hasEdits(options) ? await editedCopy(sharedRoot, req, work) : sharedRoot;
    const dir = resolveAppDir(realRoot, req.path);
    await assertRemoteAllowed(scanKustomization(realRoot, dir), policy);
    const stdout = await runTool({
      binary: req.kubectlBinary ?? process.env.KUBECTL_BINARY ?? 'kubectl',
      args: kustomizeArgs(policy, req.helmBinary, helmCapabilities(req)),
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

/**
 * Copies the checkout (without `.git`) into `work/repo` and writes the overrides into the app's
 * kustomization there, so the shared checkout (used by every app at this commit) is never modified.
 * @returns the copy's root.
 * @throws RenderError when the app directory has no kustomization file or it is not a YAML map.
 */
async function editedCopy(sharedRoot: string, req: KustomizeRenderRequest, work: string): Promise<string> {
  const root = path.join(work, 'repo');
  await fs.promises.cp(sharedRoot, root, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => path.basename(src) !== '.git',
  });
  // Checkout snapshots are read-only (0555 directories, 0444 files) and cp keeps modes: without write
  // permission a non-root capstan could neither edit the copy nor remove it afterwards.
  await makeWritable(root);
  const dir = resolveAppDir(root, req.path);
  const name = KUSTOMIZATION_FILES.find((f) => fs.existsSync(path.join(dir, f)));
  if (!name) {
    throw new RenderError(`"${req.path || '.'}" has no kustomization file to apply the kustomize options to`);
  }
  const file = path.join(dir, name);
  await fs.promises.chmod(file, 0o644);
  let parsed: unknown;
  try {
    parsed = parseYAML(await fs.promises.readFile(file, 'utf8')) ?? {};
  } catch (err) {
    throw new RenderError(`${name}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new RenderError(`${name}: not a YAML map`);
  const edited = applyKustomizeOptions(
    parsed as Record<string, unknown>,
    req.kustomize ?? {},
    req.buildEnv ?? {},
    dir,
    root,
  );
  await fs.promises.writeFile(file, stringifyYAML(edited));
  return root;
}

/** Gives the owner write permission on every directory below `dir` (symlinks are not followed). */
async function makeWritable(dir: string): Promise<void> {
  await fs.promises.chmod(dir, 0o755);
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
  }
}

/** Helm capabilities for inflated charts: the app's `kustomize.kubeVersion` / `apiVersions`, else the cluster's. */
export function helmCapabilities(req: KustomizeRenderRequest): {
  kubeVersion?: string;
  apiVersions: string[];
} {
  const apiVersions = req.kustomize?.apiVersions?.length
    ? req.kustomize.apiVersions
    : (req.apiVersions ?? []);
  return { kubeVersion: req.kustomize?.kubeVersion || req.kubeVersion, apiVersions };
}

/**
 * `kubectl kustomize [--enable-helm --helm-command=<helm> [--helm-kube-version=v] [--helm-api-versions=a]...] -- .`:
 * the directory after `--`; every value glued to its flag.
 */
export function kustomizeArgs(
  policy: KustomizeRemotePolicy,
  helmBinary: string | undefined,
  capabilities: { kubeVersion?: string; apiVersions: string[] },
): string[] {
  const helm = policy.enableHelm
    ? [
        '--enable-helm',
        `--helm-command=${helmBinary ?? process.env.HELM_BINARY ?? 'helm'}`,
        ...(capabilities.kubeVersion ? [`--helm-kube-version=${capabilities.kubeVersion}`] : []),
        ...capabilities.apiVersions.map((v) => `--helm-api-versions=${v}`),
      ]
    : [];
  return ['kustomize', ...helm, '--', '.'];
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
