/**
 * The Directory source type: plain manifest files in a repository directory, read the way Argo CD's
 * repo-server reads them (`findManifests` / `getPotentiallyValidManifestFile` in `reposerver/repository`):
 *
 * - files named `*.yaml`, `*.yml`, `*.json` (case-sensitive), or any file with `disableExtensionFilter`
 *   (Argo CD 3.x; then `include`/`exclude` alone select, and a file not named `*.json` is read as YAML);
 *   hidden files and directories included;
 * - only the app directory itself unless `recurse: true`; symlinked directories are never descended;
 * - `include` / `exclude` are globs over the path relative to the app directory, with Argo CD's matcher
 *   (see `glob.ts`: `*` crosses `/`); `exclude` wins over `include`;
 * - a symlinked file is read if its target is a regular file inside the repository, skipped with a warning
 *   if its target is missing or not a regular file, and refused if its target is outside the repository;
 * - a file containing `+argocd:skip-file-rendering` is skipped;
 * - a YAML file that does not parse and does not look like a manifest (it lacks one of `apiVersion:`,
 *   `kind:`, `metadata:`) is skipped: it is some other YAML (a CI config, Helm values) that happens to live
 *   next to the manifests; one that looks like a manifest is an error;
 * - objects come in walk order: names sorted bytewise within each directory, depth first (Go's
 *   `filepath.Walk`), so the same commit always renders the same list.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { resolveInside } from '../sources/paths';
import { resolveAppDir } from './apppath';
import { CEILINGS, ceilingMessage } from '../common/limits';
import { CeilingError, RenderError } from './errors';
import { globMatch } from './glob';
import { parseManifests } from './manifests';

/** `spec.source.directory` fields capstan implements (Jsonnet is not supported). */
export interface DirectoryOptions {
  /** Descend into subdirectories. Default false, as Argo CD. */
  recurse?: boolean;
  /** Only files whose app-relative path matches this glob (for example `{*.yml,*.yaml}`). */
  include?: string;
  /** Skip files whose app-relative path matches this glob; wins over `include`. */
  exclude?: string;
  /** Select files by `include`/`exclude` alone, whatever their extension (Argo CD's `disableExtensionFilter`). */
  disableExtensionFilter?: boolean;
  /** Receives a warning for each file skipped for a reason a user may want to know (dangling links). */
  logger?: Logger;
  /** Most bytes of selected files (`--max-manifest-bytes`), checked from their sizes before any is read. */
  maxBytes?: number;
  /** Most objects over all files (`--max-objects`). */
  maxObjects?: number;
}

/** A file name that may hold manifests; `.jsonnet` is recognised only to refuse it clearly. */
const MANIFEST_FILE = /\.(yaml|yml|json|jsonnet)$/;

/** Marker that makes Argo CD (and capstan) skip a file. */
export const SKIP_FILE_RENDERING_MARKER = '+argocd:skip-file-rendering';

/**
 * Renders a Directory source.
 * @param root - the repository checkout.
 * @param appPath - the source `path`, relative to the repository root (`''` or `.` for the root).
 * @param opts - recurse / include / exclude, and a logger for skipped files.
 * @returns the objects of all selected files, in walk order.
 * @throws RenderError when the app path does not exist or is not a directory, a glob is malformed, a
 *   `.jsonnet` file is selected, or a selected file does not parse (the message names the file).
 * @throws PathEscapeError when the app path or a selected symlinked file resolves outside the repository.
 * @throws CeilingError when the selected files together are larger than `maxBytes` (nothing is read) or
 *   hold more than `maxObjects` objects.
 */
export async function renderDirectory(
  root: string,
  appPath: string,
  opts: DirectoryOptions = {},
): Promise<KubeObject[]> {
  const realRoot = fs.realpathSync(root);
  const dir = resolveAppDir(realRoot, appPath);
  const files = await selectFiles(realRoot, dir, opts);
  if (opts.maxBytes !== undefined) await assertTotalSize(files, appPath, opts.maxBytes);
  const maxObjects = opts.maxObjects ?? Infinity;
  const objects: KubeObject[] = [];
  for (const file of files) {
    objects.push(...(await readManifestFile(file, opts.logger)));
    // Checked per file: the byte ceiling above already bounds what one file can hold.
    if (objects.length > maxObjects) {
      const what = `the manifest files of path "${appPath || '.'}" hold`;
      throw new CeilingError(ceilingMessage(what, CEILINGS.objects, maxObjects));
    }
  }
  return objects;
}

/**
 * Refuses a selection whose files add up to more than `maxBytes`, from their sizes alone, so that a huge
 * file is never read into memory.
 */
async function assertTotalSize(files: SelectedFile[], appPath: string, maxBytes: number): Promise<void> {
  let total = 0;
  for (const file of files) {
    total += (await fs.promises.stat(file.contentPath)).size;
    if (total > maxBytes) {
      const what = `the manifest files of path "${appPath || '.'}" hold`;
      throw new CeilingError(ceilingMessage(what, CEILINGS.manifestBytes, maxBytes));
    }
  }
}

/** A file chosen for reading. */
interface SelectedFile {
  /** Real path of the content (a symlink's target). */
  contentPath: string;
  /** Path relative to the repository root, for messages. */
  repoRel: string;
}

/** Walks the app directory and returns the files to read, in walk order. */
async function selectFiles(realRoot: string, dir: string, opts: DirectoryOptions): Promise<SelectedFile[]> {
  const selected: SelectedFile[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await fs.promises.readdir(current, { withFileTypes: true });
    entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        if (opts.recurse) await walk(full);
        continue;
      }
      const file = selectFile(realRoot, dir, full, entry, opts);
      if (file) selected.push(file);
    }
  };
  await walk(dir);
  return selected;
}

/** Applies the name, symlink and include/exclude rules to one directory entry. */
function selectFile(
  realRoot: string,
  dir: string,
  full: string,
  entry: fs.Dirent,
  opts: DirectoryOptions,
): SelectedFile | undefined {
  if (!opts.disableExtensionFilter && !MANIFEST_FILE.test(entry.name)) return undefined;
  const appRel = toSlash(path.relative(dir, full));
  const repoRel = toSlash(path.relative(realRoot, full));
  const contentPath = entry.isSymbolicLink() ? symlinkTarget(realRoot, repoRel, opts.logger) : full;
  if (contentPath === undefined) return undefined;
  if (!entry.isSymbolicLink() && !entry.isFile()) return undefined;
  if (opts.exclude && globMatch(opts.exclude, appRel)) return undefined;
  if (opts.include && !globMatch(opts.include, appRel)) return undefined;
  if (entry.name.endsWith('.jsonnet')) {
    throw new RenderError(`${repoRel}: Jsonnet is not supported; exclude the file or render it to YAML`);
  }
  return { contentPath, repoRel };
}

/**
 * The real path a symlinked manifest file points to, or undefined (with a warning) when the target is
 * missing or not a regular file.
 * @throws PathEscapeError when the target is outside the repository (Argo CD: "illegal filepath in symlink").
 */
function symlinkTarget(realRoot: string, repoRel: string, logger?: Logger): string | undefined {
  const target = resolveInside(realRoot, repoRel, 'symlinked manifest file');
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(target);
  } catch {
    stat = undefined;
  }
  if (!stat?.isFile()) {
    logger?.warn('Skipping a symlinked manifest file whose target is missing or not a regular file.', {
      file: repoRel,
    });
    return undefined;
  }
  return target;
}

/** Reads and parses one selected file, applying the skip marker and the not-a-manifest leniency. */
async function readManifestFile(file: SelectedFile, logger?: Logger): Promise<KubeObject[]> {
  const text = await fs.promises.readFile(file.contentPath, 'utf8');
  if (text.includes(SKIP_FILE_RENDERING_MARKER)) return [];
  try {
    return parseManifests(stripBom(text), file.repoRel);
  } catch (err) {
    if (!(err instanceof RenderError) || file.repoRel.endsWith('.json') || looksLikeManifest(text)) throw err;
    logger?.debug('Skipping a YAML file that is not a Kubernetes manifest.', { file: file.repoRel });
    return [];
  }
}

/** Argo CD's test for "this YAML was meant to be a manifest": all three keys appear somewhere. */
function looksLikeManifest(text: string): boolean {
  return text.includes('apiVersion:') && text.includes('kind:') && text.includes('metadata:');
}

/** Argo CD reads files through a UTF-8 BOM-stripping reader; so does capstan. */
function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function toSlash(p: string): string {
  return p.split(path.sep).join('/');
}
