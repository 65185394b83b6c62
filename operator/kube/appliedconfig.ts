/**
 * The configuration capstan's server-side apply stored in a live object, read back from the object
 * itself, so that a comparison needs no dry-run for an object unchanged since capstan applied it, also
 * after a restart (issue 10 P8: a restart dry-ran every object, about 5 per app).
 *
 * This is Kubernetes' own "extract" (`managedfields.ExtractInto`, client-go's `ExtractDeployment`): the
 * live object restricted to the fields that one field manager's `Apply` entry in `metadata.managedFields`
 * owns, with the live values. fieldsV1 is the structured-merge-diff set format: `f:<field>` a map field,
 * `k:<json>` the element of an associative list with those key fields, `v:<json>` an element of a set,
 * `i:<index>` an element by position, `.` the node itself; a key with an empty subtree is a leaf (a
 * scalar, or an atomic map or list, owned whole).
 *
 * Why equality with the desired object is enough: server-side apply of configuration D by manager M sets
 * every field of D and removes the fields M's previous apply owned that D lacks (unless another manager
 * owns them too). When the extract of M's entry equals D exactly (same field set, same values, same list
 * order), D sets nothing that is not already so and M owned nothing that D drops, so the apply changes
 * no field: it is a no-op, and its dry-run answer equals the live object (the comparison of
 * diff/normalize.ts finds them in sync). A field another manager took over is missing from M's entry, a
 * field git removed is still in it, a value the server normalised ("1000m" stored as "1") differs: each
 * makes the two unequal, and the caller dry-runs as before. Not seen here, as by any cached comparison:
 * a mutating admission webhook that would rewrite the object on every apply.
 *
 * The live cache drops capstan's entry to save memory (livecache.ts), so it keeps a digest of the
 * extract instead ({@link rememberAppliedDigest}): a 22-character string per object.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from './object';

/** The extract of one manager's apply, or undefined when it cannot be read soundly. */
export type Extract = Record<string, unknown> | undefined;

type FieldSet = Record<string, unknown>;

const FAIL = Symbol('fail');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isLeaf(sub: unknown): boolean {
  return !isObject(sub) || Object.keys(sub).length === 0;
}

/** The index of the one element of `list` a `k:`, `v:` or `i:` key names, or -1 (none, or ambiguous). */
function elementIndex(key: string, list: unknown[]): number {
  let value: unknown;
  try {
    value = JSON.parse(key.slice(2));
  } catch {
    return -1;
  }
  const kind = key.slice(0, 2);
  if (kind === 'i:')
    return Number.isInteger(value) && (value as number) < list.length ? (value as number) : -1;
  let match: (e: unknown) => boolean;
  if (kind === 'k:' && isObject(value)) {
    const fields = Object.entries(value);
    match = (e) => isObject(e) && fields.every(([k, v]) => isDeepStrictEqual(e[k], v));
  } else if (kind === 'v:') {
    match = (e) => isDeepStrictEqual(e, value);
  } else return -1;
  const found = list.flatMap((e, i) => (match(e) ? [i] : []));
  return found.length === 1 ? found[0] : -1;
}

/** A map node: the owned `f:` fields, each present in `node`. */
function extractMap(fields: FieldSet, node: Record<string, unknown>): Record<string, unknown> | typeof FAIL {
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(fields)) {
    if (key === '.') continue;
    if (!key.startsWith('f:')) return FAIL;
    const name = key.slice(2);
    if (!Object.hasOwn(node, name)) return FAIL;
    const value = isLeaf(sub) ? node[name] : extractNode(sub as FieldSet, node[name]);
    if (value === FAIL) return FAIL;
    out[name] = value;
  }
  return out;
}

/** A list node: the owned elements, in the live list's order, each restricted to its owned fields. */
function extractList(fields: FieldSet, node: unknown[]): unknown[] | typeof FAIL {
  const owned = new Map<number, unknown>();
  for (const [key, sub] of Object.entries(fields)) {
    if (key === '.') continue;
    const i = elementIndex(key, node);
    if (i < 0 || owned.has(i)) return FAIL;
    const value = isLeaf(sub) ? node[i] : extractNode(sub as FieldSet, node[i]);
    if (value === FAIL) return FAIL;
    owned.set(i, value);
  }
  return [...owned.keys()].sort((a, b) => a - b).map((i) => owned.get(i));
}

function extractNode(fields: FieldSet, node: unknown): unknown {
  if (Array.isArray(node)) return extractList(fields, node);
  if (isObject(node)) return extractMap(fields, node);
  return FAIL;
}

/**
 * The fields of `obj` that `manager`'s apply owns, with their live values (Kubernetes' ExtractInto), without
 * `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` (identity, never in managedFields).
 * @param obj - a live object with its `metadata.managedFields`.
 * @param manager - the field manager (capstan's is `capstan`).
 * @returns undefined when the manager has no `Apply` entry for the object itself (a subresource's does
 *   not count), the entry is of another fieldsType or apiVersion than the object, or it names a field or
 *   element the object lacks (doubt: the caller dry-runs).
 */
export function extractApplied(obj: KubeObject, manager: string): Extract {
  if (obj.metadata.deletionTimestamp) return undefined;
  const entry = (obj.metadata.managedFields ?? []).find(
    (e): e is Record<string, unknown> =>
      isObject(e) && e.manager === manager && e.operation === 'Apply' && !e.subresource,
  );
  if (!entry || (entry.fieldsType ?? 'FieldsV1') !== 'FieldsV1' || !isObject(entry.fieldsV1))
    return undefined;
  if (entry.apiVersion !== undefined && entry.apiVersion !== obj.apiVersion) return undefined;
  const out = extractMap(entry.fieldsV1, obj as Record<string, unknown>);
  return out === FAIL ? undefined : withoutIdentity(out);
}

/** `obj` without apiVersion, kind, metadata.name and metadata.namespace (and metadata, when that empties it). */
function withoutIdentity(obj: Record<string, unknown>): Record<string, unknown> {
  const out = { ...obj };
  delete out.apiVersion;
  delete out.kind;
  if (!isObject(out.metadata)) return out;
  const meta = { ...out.metadata };
  delete meta.name;
  delete meta.namespace;
  if (Object.keys(meta).length) out.metadata = meta;
  else delete out.metadata;
  return out;
}

/** JSON with every object's keys sorted (undefined members dropped, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isObject(value)) {
    const members = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function digestOf(apiVersion: string, kind: string, config: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson([apiVersion, kind, config]))
    .digest('base64url')
    .slice(0, 22);
}

/**
 * The digest of `manager`'s applied configuration in `obj` (128 bits of a SHA-256 of its canonical JSON with
 * the apiVersion and kind).
 * @returns undefined when {@link extractApplied} finds none.
 */
export function appliedDigestOf(obj: KubeObject, manager: string): string | undefined {
  const extract = extractApplied(obj, manager);
  return extract && digestOf(obj.apiVersion, obj.kind, extract);
}

/**
 * The digest a desired object (the configuration sent to server-side apply) would have as an extract
 * ({@link appliedDigestOf}): equal digests mean the apply of `desired` would change nothing.
 */
export function desiredDigestOf(desired: KubeObject): string {
  return digestOf(desired.apiVersion, desired.kind, withoutIdentity(desired));
}

/** Digests of objects whose managedFields entry was dropped (projected objects), by object identity. */
const remembered = new WeakMap<KubeObject, string>();

/**
 * Remembers the applied digest of `full` for `kept`, the projection of it that the live cache stores
 * without the manager's entry. Keyed by object identity: a copy made later (a spread with other fields)
 * has no digest, so a digest never outlives the object it describes.
 */
export function rememberAppliedDigest(kept: KubeObject, full: KubeObject, manager: string): void {
  const digest = appliedDigestOf(full, manager);
  if (digest) remembered.set(kept, digest);
}

/**
 * The applied digest of a live object: remembered for a projected one, else read from its managedFields
 * (an apply's answer, which keeps them).
 */
export function appliedDigest(live: KubeObject, manager: string): string | undefined {
  return remembered.get(live) ?? appliedDigestOf(live, manager);
}
