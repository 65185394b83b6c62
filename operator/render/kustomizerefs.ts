/**
 * What a kustomization reaches outside its repository, found before `kubectl kustomize` runs, because
 * kustomize fetches remote bases itself (`resources: [https://github.com/org/repo//base?ref=v1]`,
 * `github.com/org/repo/base`, `git@github.com:org/repo`, `ssh://...`, `git::...`), loads http(s) files
 * (`patches: [{path: https://...}]`) and, with `--enable-helm`, pulls `helmCharts` from chart
 * repositories. Such references escape the project's `sourceRepos`; Argo CD leaves them to kustomize,
 * capstan refuses them unless the platform admin allows them (`--kustomize-allow-remote`, and then only
 * repositories the project permits).
 *
 * The scan starts at the app directory and follows every local directory that `resources`, `bases`,
 * `components`, `generators`, `transformers` or `validators` name, reading each directory's kustomization
 * file (`kustomization.yaml`, `kustomization.yml`, `Kustomization`, kustomize's order). Classification
 * follows kustomize's loader:
 *
 * - a directory-like entry (`resources`, ...) with a URL scheme, `git::` or `user@host:` is remote; any
 *   other entry is a local path: it must stay inside the repository (kustomize itself lets a `resources`
 *   directory lie anywhere on disk) and, when it does not exist there but starts with a host
 *   (`github.com/org/repo`), kustomize would try it as a remote repository, so it counts as remote too;
 * - a file-like entry (`patches[].path`, `crds`, `configMapGenerator[].files`, ...) is remote only with a
 *   URL scheme; otherwise it is local and must stay inside the repository.
 *
 * Remote bases that are allowed are fetched by kustomize; their own kustomizations cannot be scanned
 * before that and are not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PathEscapeError } from '../sources/paths';
import { RenderError } from './errors';
import { KUSTOMIZATION_FILES } from './sourcetype';

/** One reference from a kustomization to something outside the repository. */
export interface RemoteReference {
  /** The kustomization file that holds it, relative to the repository root (`apps/web/kustomization.yaml`). */
  file: string;
  /** The field: `resources`, `patches[2].path`, `helmCharts[0].repo`. */
  field: string;
  /** The entry as written. */
  value: string;
  /** The repository (or file URL) to check against the project's `sourceRepos`. */
  repoURL: string;
  /** True for a scheme-less entry that is no path in the repository (kustomize then fetches it). */
  notLocal?: boolean;
}

/** One `helmCharts[]` (or `helmChartInflationGenerator[]`) entry. */
export interface HelmChartReference {
  file: string;
  field: string;
  /** The chart name. */
  name: string;
}

/** Everything a kustomization tree reaches that the renderer must decide on. */
export interface KustomizationScan {
  remote: RemoteReference[];
  helmCharts: HelmChartReference[];
}

/** Fields whose entries are kustomizations, directories or files (or remote repositories). */
const DIRECTORY_FIELDS = ['resources', 'bases', 'components', 'generators', 'transformers', 'validators'];
/** Fields whose entries are file paths (or http(s) URLs) only. */
const FILE_LIST_FIELDS = ['crds', 'configurations', 'patchesStrategicMerge'];
/** Fields that are lists of objects with a file `path`. */
const PATH_OBJECT_FIELDS = ['patches', 'patchesJson6902', 'replacements'];
/** Generators whose `files`, `envs` and `env` name files. */
const GENERATOR_FIELDS = ['configMapGenerator', 'secretGenerator'];
/** Fields that inflate Helm charts (`helmChartInflationGenerator` is the deprecated form). */
const HELM_FIELDS = ['helmCharts', 'helmChartInflationGenerator'];

const URL_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
/** A scheme-less `host.domain/path`, which kustomize's repospec reads as a repository. */
const HOST_PATH = /^[^/\s.]+(\.[^/\s.]+)+(:\d+)?\//;
/** Forms kustomize's repospec reads as a git repository even without a scheme. */
const GIT_FORMS = /^(git::|gh:|[^@/:\s]+@[^/:\s]+:)/;

/**
 * Scans the kustomization tree of an app directory.
 * @param realRoot - the repository root (a real path).
 * @param appDir - the app directory (a real path inside `realRoot`).
 * @returns the remote references and Helm charts, in file order.
 * @throws RenderError when a kustomization file is not YAML (kustomize would refuse it too; the scan
 *   must not miss what it cannot read).
 * @throws PathEscapeError when a local entry resolves outside the repository.
 */
export function scanKustomization(realRoot: string, appDir: string): KustomizationScan {
  const scan: KustomizationScan = { remote: [], helmCharts: [] };
  walk(realRoot, appDir, scan, new Set());
  return scan;
}

function walk(realRoot: string, dir: string, scan: KustomizationScan, seen: Set<string>): void {
  if (seen.has(dir)) return;
  seen.add(dir);
  const name = KUSTOMIZATION_FILES.find((f) => fs.existsSync(path.join(dir, f)));
  if (!name) return;
  const file = path.relative(realRoot, path.join(dir, name)) || name;
  const doc = readKustomization(path.join(dir, name), file);
  const at = { realRoot, dir, file, scan };
  for (const field of DIRECTORY_FIELDS) {
    strings(doc[field]).forEach(([i, value]) => {
      // Inline generator/transformer configs are YAML documents, not paths.
      if (value.includes('\n')) return;
      const local = directoryEntry(at, `${field}[${i}]`, value);
      if (local && fs.statSync(local).isDirectory()) walk(realRoot, local, scan, seen);
    });
  }
  for (const field of FILE_LIST_FIELDS) {
    strings(doc[field]).forEach(([i, value]) => {
      if (!value.includes('\n')) fileEntry(at, `${field}[${i}]`, value);
    });
  }
  for (const field of PATH_OBJECT_FIELDS) {
    objects(doc[field]).forEach(([i, o]) => {
      if (typeof o.path === 'string') fileEntry(at, `${field}[${i}].path`, o.path);
    });
  }
  for (const field of GENERATOR_FIELDS)
    objects(doc[field]).forEach(([i, o]) => generatorFiles(at, `${field}[${i}]`, o));
  const openapi = doc.openapi as { path?: unknown } | undefined;
  if (typeof openapi?.path === 'string') fileEntry(at, 'openapi.path', openapi.path);
  helmEntries(at, doc);
}

/** Where an entry is, for messages and for resolving it. */
interface Site {
  realRoot: string;
  dir: string;
  file: string;
  scan: KustomizationScan;
}

function readKustomization(abs: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new RenderError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc)
    ? (doc as Record<string, unknown>)
    : {};
}

/**
 * A `resources`-like entry: records it when remote.
 * @returns its real local path when it exists in the repository, else undefined.
 */
function directoryEntry(at: Site, field: string, value: string): string | undefined {
  if (URL_SCHEME.test(value) || GIT_FORMS.test(value)) {
    at.scan.remote.push({ file: at.file, field, value, repoURL: remoteRepoURL(value) });
    return undefined;
  }
  const local = localPath(at, field, value);
  if (local !== undefined) return local;
  // kustomize tries an entry that is no local file or directory as a remote repository when it starts
  // with a host (`github.com/org/repo`); anything else is a missing file, which kustomize reports.
  if (!HOST_PATH.test(value)) return undefined;
  at.scan.remote.push({ file: at.file, field, value, repoURL: remoteRepoURL(value), notLocal: true });
  return undefined;
}

/** A file entry: remote only with a URL scheme (kustomize's loader fetches http(s)); else local. */
function fileEntry(at: Site, field: string, value: string): void {
  if (URL_SCHEME.test(value)) {
    at.scan.remote.push({ file: at.file, field, value, repoURL: value.split(/[?#]/)[0] });
    return;
  }
  localPath(at, field, value);
}

/** `files` (`[key=]path`), `envs` and `env` of a generator. */
function generatorFiles(at: Site, field: string, o: Record<string, unknown>): void {
  strings(o.files).forEach(([i, v]) => fileEntry(at, `${field}.files[${i}]`, v.replace(/^[^=/]*=/, '')));
  strings(o.envs).forEach(([i, v]) => fileEntry(at, `${field}.envs[${i}]`, v));
  if (typeof o.env === 'string') fileEntry(at, `${field}.env`, o.env);
}

/** `helmCharts[]`: recorded; a chart `repo` is a remote reference; `helmGlobals.chartHome` stays inside. */
function helmEntries(at: Site, doc: Record<string, unknown>): void {
  for (const field of HELM_FIELDS) {
    objects(doc[field]).forEach(([i, o]) => {
      const name = typeof o.name === 'string' ? o.name : typeof o.chartName === 'string' ? o.chartName : '';
      at.scan.helmCharts.push({ file: at.file, field: `${field}[${i}]`, name });
      const repo =
        typeof o.repo === 'string' ? o.repo : typeof o.chartRepoUrl === 'string' ? o.chartRepoUrl : '';
      if (repo)
        at.scan.remote.push({ file: at.file, field: `${field}[${i}].repo`, value: repo, repoURL: repo });
      if (typeof o.chartHome === 'string') localPath(at, `${field}[${i}].chartHome`, o.chartHome);
    });
  }
  const globals = doc.helmGlobals as { chartHome?: unknown } | undefined;
  if (typeof globals?.chartHome === 'string') localPath(at, 'helmGlobals.chartHome', globals.chartHome);
}

/**
 * Resolves a local entry as kustomize does (relative to the kustomization's directory; absolute paths
 * are absolute) and checks that it stays inside the repository, also through symlinks.
 * @returns the real path when it exists, else undefined.
 * @throws PathEscapeError when it resolves outside the repository.
 */
function localPath(at: Site, field: string, value: string): string | undefined {
  const escape = new PathEscapeError(
    `${at.file}: ${field} "${value}" resolves outside the repository`,
    value,
  );
  if (value.includes('\0')) throw escape;
  const abs = path.resolve(at.dir, value);
  if (!isInside(at.realRoot, abs)) throw escape;
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return undefined;
  }
  if (!isInside(at.realRoot, real)) throw escape;
  return real;
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The string entries of a list field, with their indexes. */
function strings(v: unknown): Array<[number, string]> {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x, i): Array<[number, string]> => (typeof x === 'string' ? [[i, x.trim()]] : []));
}

/** The object entries of a list field, with their indexes. */
function objects(v: unknown): Array<[number, Record<string, unknown>]> {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x, i): Array<[number, Record<string, unknown>]> =>
    typeof x === 'object' && x !== null && !Array.isArray(x) ? [[i, x as Record<string, unknown>]] : [],
  );
}

/**
 * The repository a kustomize remote reference clones, as kustomize's repospec reads it, for matching
 * against the project's `sourceRepos`: `git::` and the query (`?ref=`, `?timeout=`) dropped, the path cut at
 * the `//` that starts the directory inside the repository, else after a `.git` or `_git/<name>` segment,
 * else (github.com, gitlab.com, bitbucket.org) after `org/repo`; scheme-less hosts get `https://`.
 * @param ref - the entry as written: `https://github.com/org/repo//base?ref=v1`, `github.com/org/repo/base`,
 *   `git@github.com:org/repo.git//base`.
 * @returns `https://github.com/org/repo`, `git@github.com:org/repo.git`.
 */
export function remoteRepoURL(ref: string): string {
  let rest = ref
    .trim()
    .replace(/^git::/, '')
    .split('?')[0];
  if (rest.startsWith('gh:')) rest = `https://github.com/${rest.slice(3)}`;
  const scp = /^[^@/:\s]+@[^/:\s]+:/.exec(rest)?.[0];
  // scp-like: the host is in the prefix, all the rest is the path.
  if (scp && !URL_SCHEME.test(rest)) return scp + repoPathOnly('', rest.slice(scp.length));
  const scheme = URL_SCHEME.exec(rest)?.[0] ?? '';
  const body = rest.slice(scheme.length);
  const slash = body.indexOf('/');
  if (slash < 0) return (scheme || 'https://') + body;
  const host = body.slice(0, slash);
  return `${scheme || 'https://'}${host}/${repoPathOnly(host, body.slice(slash + 1))}`;
}

function repoPathOnly(host: string, p: string): string {
  const subdir = p.indexOf('//');
  if (subdir >= 0) return p.slice(0, subdir);
  const dotGit = /^(.*?\.git)(\/|$)/.exec(p);
  if (dotGit) return dotGit[1];
  const azure = /^(.*?_git\/[^/]+)(\/|$)/.exec(p);
  if (azure) return azure[1];
  if (/^(github\.com|gitlab\.com|bitbucket\.org)(:\d+)?$/i.test(host))
    return p.split('/').slice(0, 2).join('/');
  return p;
}
