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
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { RepoCredentials } from '../sources/credentials';
import { redactURL } from '../sources/credentials';
import type { HelmHttpAuth } from '../sources/helmhttp';
import { HelmRepoClient, HelmRepoError } from '../sources/helmrepo';
import { OciClient, isOciRepo, ociChartRef, type OciChartRef } from '../sources/oci';
import { DEFAULT_MAX_REPO_BYTES } from '../common/limits';
import { assertNoEscapingSymlinks } from '../sources/paths';
import { RenderError } from './errors';
import { helmEnv, renderHelm, type ChartDependency, type RemoteDependencyBuilder } from './helm';
import type { RenderRequest, RenderResult, SourceSpec } from './index';
import { runTool } from './tool';

/** Repository credentials plus the CA certificates of the repository's host (`argocd-tls-certs-cm`). */
export type HelmRepoCredentials = RepoCredentials & {
  /** PEM CA certificates for the host's TLS certificate; absent: the system roots. */
  caData?: string;
};

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
  credentials: (repoURL: string) => Promise<HelmRepoCredentials | undefined>;
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
export function httpAuth(creds: HelmRepoCredentials | undefined): HelmHttpAuth | undefined {
  if (!creds) return undefined;
  return {
    username: creds.username,
    password: creds.password,
    tlsClientCertData: creds.tlsClientCertData,
    tlsClientCertKey: creds.tlsClientCertKey,
    insecure: creds.insecure,
    caData: creds.caData,
  };
}

/** Turns a repository error into a render error (same message; retryable when the network failed). */
function asRenderError(err: unknown): never {
  if (err instanceof HelmRepoError)
    throw new RenderError(err.message, { retryable: err.retryable, cause: err });
  throw err;
}

/** Where a chart source's chart lives, with the credentials to read it. */
type ChartLocation =
  { kind: 'oci'; ref: OciChartRef; auth?: HelmHttpAuth } | { kind: 'repo'; url: string; auth?: HelmHttpAuth };

/**
 * Decides between an OCI registry (`oci://`, or a Secret with `enableOCI`) and a Helm repository.
 * @throws RenderError for a `registry/path` URL without an `enableOCI` Secret (no scheme to fetch with).
 */
async function locate(source: SourceSpec, ctx: HelmChartContext): Promise<ChartLocation> {
  const creds = await ctx.credentials(source.repoURL);
  const auth = httpAuth(creds);
  if (isOciRepo(source.repoURL, creds?.enableOCI)) {
    try {
      return {
        kind: 'oci',
        ref: ociChartRef(source.repoURL, source.chart ?? '', creds?.insecureOCIForceHttp),
        auth,
      };
    } catch (err) {
      return asRenderError(err);
    }
  }
  if (!/^https?:\/\//i.test(source.repoURL.trim())) {
    throw new RenderError(
      `repoURL "${redactURL(source.repoURL)}" has no scheme: write oci://${redactURL(source.repoURL)} for an OCI ` +
        'registry (or add a repository Secret with enableOCI: "true"), or https:// for a Helm repository',
    );
  }
  return { kind: 'repo', url: source.repoURL.trim(), auth };
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
  const where = await locate(source, ctx);
  const { repo, oci } = clientsFor(ctx);
  const wanted = revision ?? source.targetRevision;
  try {
    if (where.kind === 'oci') return await oci.resolve(where.ref, wanted, where.auth, ctx.hard);
    return (await repo.resolve(where.url, source.chart ?? '', wanted, where.auth, ctx.hard)).version;
  } catch (err) {
    return asRenderError(err);
  }
}

/** The chart archive of a version, from the on-disk cache or downloaded into it. */
async function fetchArchive(source: SourceSpec, version: string, ctx: HelmChartContext): Promise<string> {
  const where = await locate(source, ctx);
  const { repo, oci } = clientsFor(ctx);
  try {
    if (where.kind === 'oci') return await oci.archive(where.ref, version, where.auth);
    const entry = await repo.resolve(where.url, source.chart ?? '', version, where.auth);
    return await repo.archive(where.url, source.chart ?? '', entry, where.auth);
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
 * @throws RenderError for a repository that cannot be read, an archive that is not a chart or unpacks to
 *   more than {@link MAX_EXTRACTED_BYTES}, helm failures (dependency build included, naming the
 *   dependency's repository); PathEscapeError for a value file outside the chart or a symlink in the
 *   archive that leaves it.
 */
export async function renderHelmRepositoryChart(
  req: HelmChartRenderRequest,
  ctx: HelmChartContext,
): Promise<RenderResult> {
  const { source } = req;
  const archive = await fetchArchive(source, req.version, ctx);
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'capstan-chart-'));
  try {
    const root = path.join(work, 'chart');
    const chartDir = await unpack(archive, work, root, req);
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
 * Largest unpacked chart archive, in bytes: the default ceiling of one git commit's files
 * (`--max-repo-bytes`), so a small archive cannot fill the disk (Argo CD's `helm.manifestMaxExtractedSize`).
 */
export const MAX_EXTRACTED_BYTES = DEFAULT_MAX_REPO_BYTES;

/**
 * Decompresses a `.tgz` into a `.tar`, stopping as soon as it passes `maxBytes`.
 * @throws RenderError naming the chart when it is not gzip or unpacks to more than `maxBytes`.
 */
export async function gunzipBounded(
  archive: string,
  tar: string,
  maxBytes: number,
  what: string,
): Promise<void> {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) done(new RenderError(`${what} unpacks to more than ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(fs.createReadStream(archive), zlib.createGunzip(), counter, fs.createWriteStream(tar));
  } catch (err) {
    if (err instanceof RenderError) throw err;
    throw new RenderError(`${what} is not a gzip archive: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Unpacks a chart archive into `root` (bounded by {@link MAX_EXTRACTED_BYTES}, then GNU tar, which drops
 * leading `/` and refuses members with `..`) and returns the chart's directory name (the archive's one
 * top-level directory); symlinks leaving the archive are refused afterwards.
 * @throws RenderError when the archive is too large, tar fails or it is not one chart directory;
 *   PathEscapeError for an escaping symlink.
 */
async function unpack(
  archive: string,
  work: string,
  root: string,
  req: HelmChartRenderRequest,
): Promise<string> {
  const what = `chart "${req.source.chart}" ${req.version}`;
  const tar = path.join(work, 'chart.tar');
  await gunzipBounded(archive, tar, MAX_EXTRACTED_BYTES, what);
  await fs.promises.mkdir(root, { recursive: true });
  await runTool({
    binary: 'tar',
    args: ['-xf', tar, '--no-same-owner', '--no-same-permissions', '-C', root],
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: req.timeoutMs ?? 90_000,
    what: `unpacking ${what}`,
  });
  await fs.promises.rm(tar, { force: true });
  const dirs = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory());
  if (dirs.length !== 1 || !fs.existsSync(path.join(root, dirs[0].name, 'Chart.yaml'))) {
    throw new RenderError(`${what} is not a Helm chart archive`);
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

/** The private Helm configuration of a dependency build: repositories.yaml entries, registry auths. */
interface HelmHomeConfig {
  repositories: Array<Record<string, unknown>>;
  auths: Record<string, { auth: string }>;
  plainHttp: boolean;
}

/** Registers an OCI registry's credentials (registry `config.json`, as `helm registry login` writes it). */
function addRegistry(config: HelmHomeConfig, url: string, creds: RepoCredentials | undefined): void {
  const { registry } = ociChartRef(url, 'chart');
  if (creds?.username || creds?.password) {
    const auth = Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64');
    config.auths[registry] = { auth };
  }
  config.plainHttp ||= !!creds?.insecureOCIForceHttp;
}

/**
 * Registers a Helm repository under `name` in repositories.yaml with its credentials (TLS client files
 * written 0600 next to it) and seeds helm's repository cache with the index capstan holds.
 * @throws RenderError naming the dependencies of that repository when its index cannot be read.
 */
async function addRepository(
  config: HelmHomeConfig,
  target: { name: string; url: string; work: string; deps: ChartDependency[] },
  creds: HelmRepoCredentials | undefined,
  ctx: HelmChartContext,
): Promise<void> {
  const { name, url, work } = target;
  const entry: Record<string, unknown> = { name, url };
  if (creds?.username) entry.username = creds.username;
  if (creds?.password) entry.password = creds.password;
  if (creds?.insecure) entry.insecure_skip_tls_verify = true;
  if (creds?.caData) {
    entry.caFile = path.join(work, 'tls', `${name}-ca.crt`);
    writePrivate(entry.caFile as string, creds.caData);
  }
  if (creds?.tlsClientCertData && creds.tlsClientCertKey) {
    entry.certFile = path.join(work, 'tls', `${name}.crt`);
    entry.keyFile = path.join(work, 'tls', `${name}.key`);
    writePrivate(entry.certFile as string, creds.tlsClientCertData);
    writePrivate(entry.keyFile as string, creds.tlsClientCertKey);
  }
  config.repositories.push(entry);
  let index;
  try {
    index = await clientsFor(ctx).repo.index(url, httpAuth(creds), ctx.hard);
  } catch (err) {
    const names = target.deps.map((d) => `"${d.name}"`).join(', ');
    throw new RenderError(
      `chart dependency ${names} (repository ${redactURL(url)}): ${(err as Error).message}`,
      {
        retryable: err instanceof HelmRepoError && err.retryable,
        cause: err,
      },
    );
  }
  const cache = helmEnv(work).HELM_CACHE_HOME as string;
  writePrivate(path.join(cache, 'repository', `${name}-index.yaml`), index.text);
}

/**
 * `helm dependency build` for the remote dependencies of a chart copy, as Argo CD does before rendering:
 * the missing dependencies go into a scratch chart (versions from Chart.lock when it pins them), whose
 * repositories are registered in the render's private `repositories.yaml` with their credentials, and
 * whose indexes are seeded from capstan's index cache (`--skip-refresh`); OCI registries get a private
 * registry `config.json`. Credentials never reach helm's command line. The built archives are copied
 * into the chart's `charts/`.
 * @param ctx - the app's credentials and the shared index cache.
 */
export function remoteDependencyBuilder(ctx: HelmChartContext): RemoteDependencyBuilder {
  return async (chartCopy, deps, work, run) => {
    const config: HelmHomeConfig = { repositories: [], auths: {}, plainHttp: false };
    const trimmed = (d: ChartDependency): string => (d.repository ?? '').replace(/\/+$/, '');
    const urls = [...new Set(deps.map(trimmed))];
    for (const [i, url] of urls.entries()) {
      const creds = await ctx.credentials(url);
      if (/^oci:\/\//i.test(url)) addRegistry(config, url, creds);
      else {
        const target = { name: `capstan-dep-${i}`, url, work, deps: deps.filter((d) => trimmed(d) === url) };
        await addRepository(config, target, creds, ctx);
      }
    }
    const home = helmEnv(work).HELM_CONFIG_HOME as string;
    const repositories = {
      apiVersion: '',
      generated: new Date(0).toISOString(),
      repositories: config.repositories,
    };
    writePrivate(path.join(home, 'repositories.yaml'), toYaml(repositories));
    writePrivate(path.join(home, 'registry', 'config.json'), JSON.stringify({ auths: config.auths }));
    const scratch = path.join(work, 'deps');
    const locked = lockedVersions(chartCopy);
    const dependencies = deps.map((d) => ({
      name: d.name,
      version: locked.get(d.name ?? '') || d.version,
      repository: d.repository,
    }));
    const chart = { apiVersion: 'v2', name: 'capstan-dependencies', version: '0.0.0', dependencies };
    writePrivate(path.join(scratch, 'Chart.yaml'), toYaml(chart));
    await run(
      ['dependency', 'build', '--skip-refresh', ...(config.plainHttp ? ['--plain-http'] : []), '--', scratch],
      work,
      `helm dependency build of ${deps.map((d) => `"${d.name}"`).join(', ')}`,
    );
    await copyBuilt(path.join(scratch, 'charts'), path.join(chartCopy, 'charts'));
  };
}

/** Copies the archives `helm dependency build` wrote into the chart's `charts/`. */
async function copyBuilt(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(to, { recursive: true });
  for (const file of fs.existsSync(from) ? fs.readdirSync(from) : []) {
    await fs.promises.copyFile(path.join(from, file), path.join(to, file));
  }
}
