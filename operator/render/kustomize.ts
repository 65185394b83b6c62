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
import { resolveAppDir } from './apppath';
import { RenderError } from './errors';
import { parseManifests } from './manifests';
import { DEFAULT_TOOL_TIMEOUT_MS, runTool } from './tool';

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
  /** Output ceilings (`--max-manifest-bytes`, `--max-objects`); absent: 32 MiB of output, objects unbounded. */
  limits?: RenderLimits;
}

/**
 * Builds a kustomization with `kubectl kustomize`.
 * @param req - repository, path, options, binary, timeout.
 * @returns the objects in kustomize's output order.
 * @throws RenderError when options are set, or kustomize fails (its trimmed stderr is the message);
 *   `retryable` on timeouts.
 * @throws PathEscapeError when the path resolves outside the repository or the repository contains a
 *   symlink that points outside it (kustomize may read any directory of the repository, so all of it is
 *   checked).
 */
export async function renderKustomize(req: KustomizeRenderRequest): Promise<KubeObject[]> {
  const options = setOptionNames(req.kustomize);
  if (options.length > 0) {
    throw new RenderError(`Kustomize options are not supported yet: ${options.join(', ')}`);
  }
  const realRoot = fs.realpathSync(req.repoRoot);
  const dir = resolveAppDir(realRoot, req.path);
  assertNoEscapingSymlinks(realRoot, realRoot);
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'capstan-kustomize-'));
  try {
    const stdout = await runTool({
      binary: req.kubectlBinary ?? process.env.KUBECTL_BINARY ?? 'kubectl',
      args: ['kustomize', '.'],
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

/** The process environment without cluster settings and with HOME in `work`, so no config leaks in. */
function kustomizeEnv(work: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'KUBECONFIG' || key.startsWith('KUBERNETES_SERVICE_')) continue;
    env[key] = value;
  }
  env.KUBECONFIG = path.join(work, 'no-kubeconfig');
  env.HOME = work;
  return env;
}
