/**
 * A chart from a Helm repository or an OCI registry (`spec.source.chart`), as Argo CD renders it:
 *
 * ```yaml
 * source:
 *   repoURL: https://charts.example.com      # or oci://registry/path, or registry/path + enableOCI Secret
 *   chart: web
 *   targetRevision: 1.2.*                    # exact version or semver range: the highest match wins
 *   helm: { valueFiles: [values-prod.yaml] } # value files inside the chart, or $ref/... of another source
 * ```
 *
 * 1. {@link resolveHelmChartRevision}: the version, from the repository's index.yaml or the registry's tags
 *    (fetched at most once per refresh interval per repository, shared by all apps; a hard refresh
 *    fetches again). The version is the source's revision (`status.sync.revision`, history).
 * 2. {@link renderHelmRepositoryChart}: the archive of that version (downloaded once, kept on disk by
 *    repository, chart, version and digest under `<cacheDir>/helm/charts/`), unpacked into a private
 *    temporary directory and rendered by `renderHelm` exactly as a chart in git (same flags, value-file
 *    rules, limits). Remote dependencies missing from the archive's `charts/` are built with
 *    `helm dependency build` under the render's private Helm homes, with the credentials of the
 *    dependency's repository written to a 0600 `repositories.yaml` / registry `config.json` there (never on
 *    a command line), and helm's repository cache seeded with the index capstan already holds.
 *
 * Archives and helm's stderr never carry credentials; errors name repositories without userinfo.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { RepoCredentials } from '../sources/credentials';
import { redactURL } from '../sources/credentials';
import type { HelmHttpAuth } from '../sources/helmhttp';
import { HelmRepoClient, HelmRepoError } from '../sources/helmrepo';
import { OciClient, isOciRepo, ociChartRef } from '../sources/oci';
import { assertNoEscapingSymlinks } from '../sources/paths';
import { RenderError } from './errors';
import { helmEnv, renderHelm, type ChartDependency, type RemoteDependencyBuilder } from './helm';
import type { RenderRequest, RenderResult, SourceSpec } from './index';
import { runTool } from './tool';

/** What a Helm repository chart needs beyond a render request. */
export interface HelmChartContext {
  /** The operator's cache directory (`--cache-dir`). */
  cacheDir: string;
  /** How long an index.yaml or tag list is served before it is fetched again, in ms (refresh interval). */
  refreshIntervalMs: number;
  /**
   * The credentials of a repository URL for this app (repository Secrets of `type: helm`, `repo-creds`
   * templates, project scope applied), or undefined for anonymous access.
   */
  credentials: (repoURL: string) => Promise<RepoCredentials | undefined>;
  /** A hard refresh: fetch indexes and tag lists again. */
  hard?: boolean;
}

/** The clients of one cache directory and refresh interval, shared by every app of the process. */
const clients = new Map<string, { repo: HelmRepoClient; oci: OciClient }>();

function clientsFor(ctx: HelmChartContext): { repo: HelmRepoClient; oci: OciClient } {
  const key = `${ctx.cacheDir}\0${ctx.refreshIntervalMs}`;
  let c = clients.get(key);
  if (!c) {
    c = {
      repo: new HelmRepoClient({ cacheDir: ctx.cacheDir, indexTtlMs: ctx.refreshIntervalMs }),
      oci: new OciClient({ cacheDir: ctx.cacheDir, tagsTtlMs: ctx.refreshIntervalMs }),
    };
    clients.set(key, c);
  }
  return c;
}

/** The HTTP auth part of repository credentials. */
export function httpAuth(creds: RepoCredentials | undefined): HelmHttpAuth | undefined {
  if (!creds) return undefined;
  return {
    username: creds.username,
    password: creds.password,
    tlsClientCertData: creds.tlsClientCertData,
    tlsClientCertKey: creds.tlsClientCertKey,
    insecure: creds.insecure,
  };
}

/** Turns a repository error into a render error (same message; retryable when the network failed). */
function asRenderError(err: unknown): never {
  if (err instanceof HelmRepoError)
    throw new RenderError(err.message, { retryable: err.retryable, cause: err });
  throw err;
}

/**
 * Resolves the chart version of a `spec.source.chart` source (Argo CD: exact version as written, else the
 * highest version matching the semver constraint).
 * @param source - `repoURL`, `chart` and `targetRevision`.
 * @param revision - overrides `targetRevision` (an operation's or a rollback's revision).
 * @returns the version, as the repository lists it.
 * @throws RenderError naming the repository: unreachable (retryable), 401/403 (check the Secret), no such
 *   chart, no matching version, or a revision that is neither a version nor a range.
 */
export async function resolveHelmChartRevision(
  source: SourceSpec,
  revision: string | undefined,
  ctx: HelmChartContext,
): Promise<string> {
  const chart = source.chart ?? '';
  const creds = await ctx.credentials(source.repoURL);
  const { repo, oci } = clientsFor(ctx);
  const wanted = revision ?? source.targetRevision;
  try {
    if (isOciRepo(source.repoURL, creds?.enableOCI)) {
      const ref = ociChartRef(source.repoURL, chart, creds?.insecureOCIForceHttp);
      return await oci.resolve(ref, wanted, httpAuth(creds), ctx.hard);
    }
    return (await repo.resolve(source.repoURL, chart, wanted, httpAuth(creds), ctx.hard)).version;
  } catch (err) {
    return asRenderError(err);
  }
}

/** A render request for a repository chart: no checkout, and the version already resolved. */
export type HelmChartRenderRequest = Omit<RenderRequest, 'repoRoot'> & {
  /** The chart version ({@link resolveHelmChartRevision}). */
  version: string;
};

/**
 * Renders a chart from a Helm repository or an OCI registry at a resolved version.
 * @param req - the app, destination namespace, source (`repoURL`, `chart`, `helm`), version, tool settings
 *   and limits (`--max-manifest-bytes`, `--max-objects` apply as to a chart in git); `refRoots` for
 *   `$ref/...` value files.
 * @param ctx - cache directory, refresh interval and credentials.
 * @returns `Helm` and the objects.
 * @throws RenderError for a repository that cannot be read, an archive that is not a chart, helm
 *   failures (dependency build included, naming the dependency's repository); PathEscapeError for a
 *   value file outside the chart or a symlink in the archive that leaves it.
 */
export async function renderHelmRepositoryChart(
  req: HelmChartRenderRequest,
  ctx: HelmChartContext,
): Promise<RenderResult> {
  const { source } = req;
  const chart = source.chart ?? '';
  const creds = await ctx.credentials(source.repoURL);
  const { repo, oci } = clientsFor(ctx);
  let archive: string;
  try {
    if (isOciRepo(source.repoURL, creds?.enableOCI)) {
      archive = await oci.archive(
        ociChartRef(source.repoURL, chart, creds?.insecureOCIForceHttp),
        req.version,
        httpAuth(creds),
      );
    } else {
      const entry = await repo.resolve(source.repoURL, chart, req.version, httpAuth(creds));
      archive = await repo.archive(source.repoURL, chart, entry, httpAuth(creds));
    }
  } catch (err) {
    return asRenderError(err);
  }
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'capstan-chart-'));
  try {
    const root = path.join(work, 'chart');
    const chartDir = await unpack(archive, root, req);
    const objects = await renderHelm({
      repoRoot: root,
      chartPath: chartDir,
      appName: req.appName,
      namespace: req.namespace,
      helm: source.helm ?? undefined,
      refRoots: req.refRoots,
      helmBinary: req.helmBinary,
      timeoutMs: req.timeoutMs,
      kubeVersion: req.kubeVersion,
      apiVersions: req.apiVersions,
      valuesFileSchemes: req.helmValuesFileSchemes,
      limits: req.limits,
      remoteDependencies: remoteDependencyBuilder(ctx),
    });
    return { sourceType: 'Helm', objects };
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}

/**
 * Unpacks a chart archive with tar into `root` and returns the chart's directory name (the archive's one
 * top-level directory). GNU tar drops leading `/` and refuses members with `..`; symlinks leaving the
 * archive are refused afterwards.
 * @throws RenderError when tar fails or the archive is not one chart directory.
 */
async function unpack(archive: string, root: string, req: HelmChartRenderRequest): Promise<string> {
  await fs.promises.mkdir(root, { recursive: true });
  await runTool({
    binary: 'tar',
    args: ['-xzf', archive, '--no-same-owner', '--no-same-permissions', '-C', root],
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: req.timeoutMs ?? 90_000,
    what: `unpacking chart "${req.source.chart}" ${req.version}`,
  });
  const dirs = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory());
  if (dirs.length !== 1 || !fs.existsSync(path.join(root, dirs[0].name, 'Chart.yaml'))) {
    throw new RenderError(`chart "${req.source.chart}" ${req.version} is not a Helm chart archive`);
  }
  assertNoEscapingSymlinks(root, root);
  return dirs[0].name;
}

/** A Helm home file that may hold credentials: owner-only. */
function writePrivate(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, text, { mode: 0o600 });
}

/** The versions pinned by the chart's Chart.lock, by dependency name. */
function lockedVersions(chartCopy: string): Map<string, string> {
  try {
    const lock = parseYaml(fs.readFileSync(path.join(chartCopy, 'Chart.lock'), 'utf8')) as {
      dependencies?: Array<{ name?: string; version?: string }>;
    } | null;
    return new Map((lock?.dependencies ?? []).map((d) => [d.name ?? '', d.version ?? '']));
  } catch {
    return new Map();
  }
}

/**
 * `helm dependency build` for the remote dependencies of a chart copy, as Argo CD does before rendering:
 * the missing dependencies go into a scratch chart (versions from Chart.lock when it pins them), whose
 * repositories are registered in the render's private `repositories.yaml` with their credentials, and
 * whose indexes are seeded from capstan's index cache (`--skip-refresh`); OCI registries get a private
 * registry `config.json`. The built archives are copied into the chart's `charts/`.
 */
export function remoteDependencyBuilder(ctx: HelmChartContext): RemoteDependencyBuilder {
  return async (chartCopy, deps, work, run) => {
    const env = helmEnv(work);
    const scratch = path.join(work, 'deps');
    const locked = lockedVersions(chartCopy);
    const repositories: Array<Record<string, unknown>> = [];
    const auths: Record<string, { auth: string }> = {};
    let plainHttp = false;
    const { repo } = clientsFor(ctx);
    const urls = [...new Set(deps.map((d) => (d.repository ?? '').replace(/\/+$/, '')))];
    for (const [i, url] of urls.entries()) {
      const creds = await ctx.credentials(url);
      if (/^oci:\/\//i.test(url)) {
        const { registry } = ociChartRef(url, 'x');
        if (creds?.username || creds?.password) {
          auths[registry] = {
            auth: Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64'),
          };
        }
        plainHttp ||= !!creds?.insecureOCIForceHttp;
        continue;
      }
      const name = `capstan-dep-${i}`;
      const entry: Record<string, unknown> = { name, url };
      if (creds?.username) entry.username = creds.username;
      if (creds?.password) entry.password = creds.password;
      if (creds?.insecure) entry.insecure_skip_tls_verify = true;
      if (creds?.tlsClientCertData && creds.tlsClientCertKey) {
        entry.certFile = path.join(work, 'tls', `${name}.crt`);
        entry.keyFile = path.join(work, 'tls', `${name}.key`);
        writePrivate(entry.certFile as string, creds.tlsClientCertData);
        writePrivate(entry.keyFile as string, creds.tlsClientCertKey);
      }
      repositories.push(entry);
      let index;
      try {
        index = await repo.index(url, httpAuth(creds), ctx.hard);
      } catch (err) {
        const names = deps.filter((d) => (d.repository ?? '').replace(/\/+$/, '') === url).map((d) => d.name);
        throw new RenderError(
          `chart dependency ${names.map((n) => `"${n}"`).join(', ')} (repository ${redactURL(url)}): ${(err as Error).message}`,
          { retryable: err instanceof HelmRepoError && err.retryable, cause: err },
        );
      }
      writePrivate(path.join(env.HELM_CACHE_HOME as string, 'repository', `${name}-index.yaml`), index.text);
    }
    writePrivate(
      path.join(env.HELM_CONFIG_HOME as string, 'repositories.yaml'),
      toYaml({ apiVersion: '', generated: new Date(0).toISOString(), repositories }),
    );
    writePrivate(
      path.join(env.HELM_CONFIG_HOME as string, 'registry', 'config.json'),
      JSON.stringify({ auths }),
    );
    const scratchDeps = deps.map((d: ChartDependency) => ({
      name: d.name,
      version: locked.get(d.name ?? '') || d.version,
      repository: d.repository,
    }));
    writePrivate(
      path.join(scratch, 'Chart.yaml'),
      toYaml({ apiVersion: 'v2', name: 'capstan-dependencies', version: '0.0.0', dependencies: scratchDeps }),
    );
    await run(
      ['dependency', 'build', '--skip-refresh', ...(plainHttp ? ['--plain-http'] : []), '--', scratch],
      work,
      `helm dependency build of ${deps.map((d) => `"${d.name}"`).join(', ')}`,
    );
    const built = path.join(scratch, 'charts');
    await fs.promises.mkdir(path.join(chartCopy, 'charts'), { recursive: true });
    for (const file of fs.existsSync(built) ? fs.readdirSync(built) : []) {
      await fs.promises.copyFile(path.join(built, file), path.join(chartCopy, 'charts', file));
    }
  };
}
