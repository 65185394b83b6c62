/**
 * Concrete paths into a JSON document, the common currency of the ignoreDifferences normalizers:
 * JSON pointers, jq path expressions and managedFields sets are each turned into a list of
 * {@link Path}s on one object, and these functions remove or restore them.
 *
 * A path is jq's form (the output of `path(...)`): object keys as strings, array indexes as
 * numbers, root first. `['spec', 'template', 'spec', 'containers', 1, 'image']` is
 * `/spec/template/spec/containers/1/image` as a JSON pointer.
 */
import { isDeepStrictEqual } from 'node:util';

/** A concrete location in a JSON document: object keys and array indexes, root first. */
export type Path = Array<string | number>;

type Container = Record<string, unknown> | unknown[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

/**
 * Splits an RFC 6901 JSON pointer into its unescaped reference tokens (`~1` -> `/`, `~0` -> `~`).
 * @param pointer - a pointer such as `/metadata/annotations/a~1b`.
 * @returns the tokens, for example `['metadata', 'annotations', 'a/b']`.
 * @throws Error when the pointer is empty (the whole document), does not start with `/`, or has a `~`
 * not followed by `0` or `1`.
 */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') throw new Error('the empty pointer names the whole object, which cannot be ignored');
  if (!pointer.startsWith('/')) throw new Error('a JSON pointer must start with "/"');
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new Error(`invalid escape in token "${token}" (only ~0 and ~1)`);
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/**
 * Resolves pointer tokens against a document into a concrete path, or undefined when the location
 * does not exist (RFC 6901: an array token must be a decimal index without leading zeros; `-`
 * names no existing element).
 */
export function resolveTokens(doc: unknown, tokens: readonly string[]): Path | undefined {
  const path: Path = [];
  let node = doc;
  for (const token of tokens) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      const i = Number(token);
      if (i >= node.length) return undefined;
      path.push(i);
      node = node[i];
    } else if (isObject(node) && Object.hasOwn(node, token)) {
      path.push(token);
      node = node[token];
    } else {
      return undefined;
    }
  }
  return path;
}

/** The value at `path`, or undefined when the path does not exist. */
export function getAt(doc: unknown, path: Path): unknown {
  let node = doc;
  for (const seg of path) {
    if (Array.isArray(node) && typeof seg === 'number') node = node[seg];
    else if (isObject(node) && typeof seg === 'string' && Object.hasOwn(node, seg)) node = node[seg];
    else return undefined;
  }
  return node;
}

/** jq's order of paths: element-wise, numbers before strings, a prefix before its extensions. */
export function comparePaths(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Distinct paths in jq order, without those inside another path of the set. */
export function outermostPaths(paths: readonly Path[]): Path[] {
  const keys = new Set(paths.map((p) => JSON.stringify(p)));
  const insideAnother = (p: Path): boolean =>
    p.some((_, i) => i > 0 && keys.has(JSON.stringify(p.slice(0, i))));
  const seen = new Set<string>();
  const out: Path[] = [];
  for (const p of [...paths].sort(comparePaths)) {
    const key = JSON.stringify(p);
    if (seen.has(key) || insideAnother(p)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

function removeChild(parent: unknown, seg: string | number): boolean {
  if (Array.isArray(parent) && typeof seg === 'number' && seg < parent.length) {
    parent.splice(seg, 1);
    return true;
  }
  if (isObject(parent) && typeof seg === 'string' && Object.hasOwn(parent, seg)) {
    delete parent[seg];
    return true;
  }
  return false;
}

function isEmptyContainer(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0;
}

/**
 * Removes every path from `doc` in place, as jq's `delpaths` does: all paths refer to the document
 * as it was, so they are removed last-first (array elements from the highest index) and a path
 * inside another removed path is skipped. Paths that do not exist are no-ops.
 *
 * A map or list that becomes empty because of a removal is removed too, up to (not including) the
 * root, so that ignoring the only annotation of an object equals an object without annotations (as
 * Argo CD's ignore normalizer, which drops empty objects after patching). Containers that were
 * already empty (`emptyDir: {}`) are kept.
 */
export function deletePaths(doc: unknown, paths: readonly Path[]): void {
  for (const path of outermostPaths(paths).reverse()) {
    if (path.length === 0) continue;
    if (!removeChild(getAt(doc, path.slice(0, -1)), path[path.length - 1])) continue;
    for (let depth = path.length - 1; depth > 0; depth--) {
      const ancestor = path.slice(0, depth);
      if (!isEmptyContainer(getAt(doc, ancestor))) break;
      removeChild(getAt(doc, ancestor.slice(0, -1)), ancestor[depth - 1]);
    }
  }
}

/**
 * Where the element `src[srcIndex]` of a live list is in the corresponding target list: the element
 * with the same `name` when it has one (the merge key of most Kubernetes lists: containers, env,
 * volumes, ports), else the same position when the target list is that long.
 */
function locateElement(target: unknown[], element: unknown, srcIndex: number): number | undefined {
  if (isObject(element) && typeof element.name === 'string') {
    const i = target.findIndex((t) => isObject(t) && t.name === element.name);
    return i < 0 ? undefined : i;
  }
  return srcIndex < target.length ? srcIndex : undefined;
}

function placeValue(target: Container, srcParent: unknown, seg: string | number, value: unknown): void {
  if (Array.isArray(target) && typeof seg === 'number') {
    const named = isObject(value) && typeof value.name === 'string';
    const at = named
      ? locateElement(target, value, -1)
      : target.findIndex((t) => isDeepStrictEqual(t, value));
    if (at !== undefined && at >= 0) target[at] = value;
    else target.splice(Math.min(seg, target.length), 0, value);
  } else if (!Array.isArray(target) && !Array.isArray(srcParent)) {
    target[seg as string] = value;
  }
}

/**
 * Copies the value at one path of `src` (the live object) into `target` in place, creating the
 * maps on the way. List elements on the way are found by {@link locateElement}; a path through a
 * list element that the target lacks is skipped (a partial container would be invalid). A path
 * that ends at a list element inserts it (or replaces the element with the same `name`).
 */
export function restorePath(target: unknown, src: unknown, path: Path): void {
  if (path.length === 0 || !isContainer(target) || getAt(src, path) === undefined) return;
  let tgt: Container = target;
  let from: unknown = src;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i];
    const srcChild = getAt(from, [seg]);
    let next: unknown;
    if (Array.isArray(from)) {
      if (!Array.isArray(tgt)) return;
      const at = locateElement(tgt, srcChild, seg as number);
      if (at === undefined) return;
      next = tgt[at];
    } else {
      if (Array.isArray(tgt)) return;
      next = tgt[seg as string];
      const wantArray = Array.isArray(srcChild);
      if (!isContainer(next) || Array.isArray(next) !== wantArray) {
        if (wantArray && i + 2 < path.length) return; // only an element insertion may create a list
        next = wantArray ? [] : {};
        tgt[seg as string] = next;
      }
    }
    if (!isContainer(next)) return;
    tgt = next;
    from = srcChild;
  }
  const last = path[path.length - 1];
  placeValue(tgt, from, last, structuredClone(getAt(from, [last])));
}
