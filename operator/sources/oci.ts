/**
 * Helm charts in OCI registries, in both of Argo CD's forms: `repoURL: oci://registry/path` and
 * `repoURL: registry/path` with a repository Secret holding `enableOCI: "true"`; the chart is
 * `<path>/<chart>` in the registry (as `helm pull oci://registry/path/chart`).
 *
 * Helm has no search for OCI, so versions come from the distribution API (`GET /v2/<name>/tags/list`,
 * fetched at most once per refresh interval per repository and credentials) and ranges resolve as for a
 * Helm repository ({@link resolveChartVersion}). Helm writes the `+` of a version as `_` in a tag; it is
 * read back as `+`. The archive is the manifest's Helm chart layer, checked against its digest and kept on
 * disk by (repository, chart, version, digest).
 *
 * Authentication as Docker/Helm clients: Basic credentials are sent first; a `401` with a
 * `WWW-Authenticate: Bearer realm=...` challenge is answered with a token from the realm (asked with the
 * same Basic credentials, scope `repository:<name>:pull`). Plain HTTP only with Argo CD's
 * `insecureOCIForceHttp: "true"` on the repository Secret.
 */
import { createHash } from 'node:crypto';
import { redactURL } from './credentials';
import { helmHttpGet, type HelmHttpAuth } from './helmhttp';
import {
  HelmRepoError,
  MAX_CHART_BYTES,
  TtlCache,
  archivePath,
  assertDigest,
  cachedArchive,
  repoKey,
  resolveChartVersion,
  statusError,
  writeArchive,
} from './helmrepo';

/** The media type of a Helm chart layer (Helm 3.8+). */
export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** A chart in a registry: `registry` is `host[:port]`, `name` the repository path ending in the chart. */
export interface OciChartRef {
  registry: string;
  name: string;
  /** Talk plain HTTP (Argo CD's `insecureOCIForceHttp`). */
  plainHttp: boolean;
}

/**
 * True when `repoURL` names an OCI registry: it starts with `oci://`, or the repository Secret that
 * matches it says `enableOCI: "true"` (Argo CD's `registry/path` form).
 */
export function isOciRepo(repoURL: string, enableOCI: boolean | undefined): boolean {
  return /^oci:\/\//i.test(repoURL.trim()) || !!enableOCI;
}

/**
 * The registry reference of `chart` under an OCI `repoURL`.
 * @throws HelmRepoError when the URL has no registry host.
 */
export function ociChartRef(repoURL: string, chart: string, plainHttp = false): OciChartRef {
  const bare = repoURL
    .trim()
    .replace(/^oci:\/\//i, '')
    .replace(/\/+$/, '');
  const slash = bare.indexOf('/');
  const registry = slash < 0 ? bare : bare.slice(0, slash);
  const path = slash < 0 ? '' : bare.slice(slash + 1);
  if (!registry || /[\s@]/.test(registry)) {
    throw new HelmRepoError(`repoURL ${JSON.stringify(redactURL(repoURL))} names no OCI registry host`);
  }
  return { registry, name: path ? `${path}/${chart}` : chart, plainHttp };
}

/** `http(s)://registry/v2/<name>/<rest>`. */
function apiURL(ref: OciChartRef, rest: string): string {
  return `${ref.plainHttp ? 'http' : 'https'}://${ref.registry}/v2/${ref.name}/${rest}`;
}

/** Reads `realm`, `service`, `scope` of a `Bearer` challenge; undefined for another scheme. */
export function parseBearerChallenge(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header.trim())) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2];
  return params.realm ? params : undefined;
}

/** Options of {@link OciClient}. */
export interface OciClientOptions {
  /** The operator's cache directory; archives go to `<cacheDir>/helm/charts/`. */
  cacheDir: string;
  /** How long a tag list is served before it is fetched again, in ms (the refresh interval). */
  tagsTtlMs: number;
  /** Deadline of one request, in ms. */
  timeoutMs?: number;
}

/** Reads Helm charts from OCI registries. */
export class OciClient {
  private readonly tagLists: TtlCache<string[]>;

  constructor(private readonly opts: OciClientOptions) {
    this.tagLists = new TtlCache(opts.tagsTtlMs);
  }

  /**
   * GETs a registry URL, answering a Bearer challenge with a token.
   * @throws HelmRepoError for network failures and non-2xx statuses (401/403 name the Secret).
   */
  private async get(
    ref: OciChartRef,
    url: string,
    what: string,
    auth: HelmHttpAuth | undefined,
    opts: { accept?: string; maxBytes: number },
  ): Promise<{ body: Buffer; headers: Record<string, unknown> }> {
    const headers: Record<string, string> = opts.accept ? { Accept: opts.accept } : {};
    const call = async (h: Record<string, string>, a: HelmHttpAuth | undefined) => {
      try {
        return await helmHttpGet(url, {
          auth: a,
          headers: h,
          maxBytes: opts.maxBytes,
          timeoutMs: this.opts.timeoutMs,
        });
      } catch (err) {
        throw new HelmRepoError(`${what}: ${(err as Error).message} (registry unreachable)`, {
          retryable: true,
          cause: err,
        });
      }
    };
    let answer = await call(headers, auth);
    const challenge = parseBearerChallenge(answer.headers['www-authenticate'] as string | undefined);
    if (answer.status === 401 && challenge) {
      const token = await this.token(ref, challenge, auth, what);
      answer = await call({ ...headers, Authorization: `Bearer ${token}` }, undefined);
    }
    if (answer.status < 200 || answer.status > 299) throw statusError(what, answer.status);
    return answer;
  }

  /** A pull token from the challenge's realm, asked with the Basic credentials when there are some. */
  private async token(
    ref: OciChartRef,
    challenge: Record<string, string>,
    auth: HelmHttpAuth | undefined,
    what: string,
  ): Promise<string> {
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? `repository:${ref.name}:pull`);
    let answer;
    try {
      answer = await helmHttpGet(url.href, {
        auth,
        maxBytes: MAX_JSON_BYTES,
        timeoutMs: this.opts.timeoutMs,
      });
    } catch (err) {
      throw new HelmRepoError(`${what}: token service ${(err as Error).message}`, { retryable: true });
    }
    if (answer.status !== 200) throw statusError(`${what}: token service`, answer.status);
    const body = JSON.parse(answer.body.toString('utf8')) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new HelmRepoError(`${what}: the token service answered without a token`);
    return token;
  }

  /**
   * The chart versions a registry holds (its tags, `_` read as `+`), fetched at most once per
   * `tagsTtlMs` per (repository, credentials) unless `hard`.
   * @throws HelmRepoError naming the registry.
   */
  versions(ref: OciChartRef, auth: HelmHttpAuth | undefined, hard = false): Promise<string[]> {
    const key = repoKey(`oci://${ref.registry}/${ref.name}#${ref.plainHttp}`, auth);
    return this.tagLists.get(key, () => this.fetchTags(ref, auth), hard);
  }

  private async fetchTags(ref: OciChartRef, auth: HelmHttpAuth | undefined): Promise<string[]> {
    const what = `OCI repository ${ref.registry}/${ref.name}`;
    const tags: string[] = [];
    let next: string | undefined = apiURL(ref, 'tags/list?n=1000');
    for (let page = 0; next && page < 50; page++) {
      const answer = await this.get(ref, next, what, auth, { maxBytes: MAX_JSON_BYTES });
      const body = JSON.parse(answer.body.toString('utf8')) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      // Pagination (distribution spec): `Link: </v2/<name>/tags/list?n=..&last=..>; rel="next"`.
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(answer.headers.link ?? ''))?.[1];
      next = link ? new URL(link, next).href : undefined;
    }
    return tags.map((t) => t.replace(/_/g, '+'));
  }

  /**
   * Resolves `revision` (exact or a range) against the registry's tags.
   * @throws HelmRepoError when the registry cannot be read or nothing matches.
   */
  async resolve(
    ref: OciChartRef,
    revision: string | undefined,
    auth: HelmHttpAuth | undefined,
    hard = false,
  ): Promise<string> {
    const versions = await this.versions(ref, auth, hard);
    const what = `chart ${ref.registry}/${ref.name}`;
    if (!versions.length) throw new HelmRepoError(`OCI repository ${ref.registry}/${ref.name} has no tags`);
    return resolveChartVersion(versions, revision, what);
  }

  /**
   * The chart archive of one version: its manifest is read for the chart layer's digest, and the layer
   * is downloaded unless `<cacheDir>/helm/charts/` has it under (repository, chart, version, digest).
   * @returns the path of the `.tgz`.
   * @throws HelmRepoError when the manifest has no Helm chart layer, or a request or the digest check fails.
   */
  async archive(ref: OciChartRef, version: string, auth: HelmHttpAuth | undefined): Promise<string> {
    const what = `chart ${ref.registry}/${ref.name}:${version}`;
    const tag = version.replace(/\+/g, '_');
    const manifest = await this.get(ref, apiURL(ref, `manifests/${encodeURIComponent(tag)}`), what, auth, {
      accept: MANIFEST_ACCEPT,
      maxBytes: MAX_JSON_BYTES,
    });
    const layers =
      (
        JSON.parse(manifest.body.toString('utf8')) as {
          layers?: Array<{ mediaType?: string; digest?: string }>;
        }
      ).layers ?? [];
    const layer =
      layers.find((l) => l.mediaType === HELM_CHART_LAYER) ??
      layers.find((l) => /tar\+gzip$/.test(l.mediaType ?? ''));
    if (!layer?.digest || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) {
      throw new HelmRepoError(`${what} is not a Helm chart (no ${HELM_CHART_LAYER} layer)`);
    }
    const file = archivePath(this.opts.cacheDir, [`oci://${ref.registry}`, ref.name, version, layer.digest]);
    if (await cachedArchive(file)) return file;
    const blob = await this.get(ref, apiURL(ref, `blobs/${layer.digest}`), what, auth, {
      maxBytes: MAX_CHART_BYTES,
    });
    assertDigest(blob.body, layer.digest, what);
    return writeArchive(file, blob.body);
  }
}

/** sha256 of a buffer as `sha256:<hex>` (OCI digest form). */
export function ociDigest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Why a `chart` source's repoURL cannot name a Helm repository or registry, or undefined when it can:
 * `https://`/`http://` (index.yaml), `oci://registry/path`, or `registry[:port]/path` (OCI with an
 * `enableOCI` Secret). Nothing else (`file://`, paths, `ssh://`) is accepted: capstan never reads a
 * chart repository from its own disk.
 * @param field - where it is written, for the message (`spec.source.repoURL`).
 */
export function chartRepoURLProblem(url: string, field: string): string | undefined {
  const u = url.trim();
  if (/^(https?|oci):\/\/[^/\s]+/i.test(u)) return undefined;
  if (/^[a-z0-9.-]+(:\d+)?\/[^\s]+$/i.test(u) && !u.startsWith('.')) return undefined;
  return (
    `${field} "${redactURL(url)}" is not a Helm repository: a chart source needs an https:// or http:// ` +
    'Helm repository, oci://registry/path, or registry/path with an enableOCI repository Secret'
  );
}
