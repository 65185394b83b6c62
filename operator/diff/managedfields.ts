/**
 * Fields owned by given field managers, read from `metadata.managedFields[].fieldsV1` of the live
 * object, for `ignoreDifferences[].managedFieldsManagers` ("fields mutated by those managers take
 * precedence over the desired state and are not shown in diffs", Argo CD).
 *
 * fieldsV1 is the structured-merge-diff set format: a tree whose keys are
 * `f:<field>` (a map field), `k:<json object>` (the list element with those key fields, such as
 * `k:{"name":"app"}`), `v:<json value>` (an element of a set-like list, such as a finalizer),
 * `i:<index>` (a list element by position) and `.` (the node itself). A key whose subtree is empty
 * is a leaf owned by the manager. For example the HPA's scale subresource, written by
 * `kube-controller-manager`:
 *
 * ```yaml
 * managedFields:
 * - manager: kube-controller-manager
 *   operation: Update
 *   subresource: scale
 *   fieldsV1: { "f:spec": { "f:replicas": {} } }
 * ```
 */
import { isDeepStrictEqual } from 'node:util';
import { KubeObject } from '../kube/object';
import { Path } from './paths';

type FieldSet = Record<string, unknown>;

interface ManagedFieldsEntry {
  manager?: unknown;
  fieldsType?: unknown;
  fieldsV1?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The index of the list element a `k:`, `v:` or `i:` key names in `list`, or -1. */
function elementIndex(key: string, list: unknown[]): number {
  const kind = key.slice(0, 2);
  const parsed = parseJson(key.slice(2));
  if (!parsed.ok) return -1;
  const value = parsed.value;
  if (kind === 'k:' && isObject(value)) {
    return list.findIndex(
      (e) => isObject(e) && Object.entries(value).every(([k, v]) => isDeepStrictEqual(e[k], v)),
    );
  }
  if (kind === 'v:') return list.findIndex((e) => isDeepStrictEqual(e, value));
  if (kind === 'i:' && typeof value === 'number') return value < list.length ? value : -1;
  return -1;
}

/**
 * Walks one fieldsV1 subtree alongside the document node it describes, collecting owned leaves.
 * A list element whose `.` the manager owns (it created the element) is owned whole, so that a
 * container injected by a controller is ignored with the fields the API server defaulted in it.
 * A map's `.` alone owns nothing: other managers' keys in it stay compared.
 */
function walk(fields: FieldSet, node: unknown, prefix: Path, out: Path[]): void {
  for (const [key, sub] of Object.entries(fields)) {
    if (key === '.') continue;
    const children: FieldSet = isObject(sub) ? sub : {};
    const leaf = Object.keys(children).length === 0;
    if (key.startsWith('f:')) {
      const name = key.slice(2);
      if (!isObject(node) || !Object.hasOwn(node, name)) continue;
      if (leaf) out.push([...prefix, name]);
      else walk(children, node[name], [...prefix, name], out);
    } else if (Array.isArray(node)) {
      const i = elementIndex(key, node);
      if (i < 0) continue;
      if (leaf || Object.hasOwn(children, '.')) out.push([...prefix, i]);
      else walk(children, node[i], [...prefix, i], out);
    }
  }
}

/**
 * The paths in `doc` of the fields that the given managers own according to the managedFields of
 * `live`. The same live ownership is applied to the live object and to the desired (dry-run)
 * object, as Argo CD does; list elements are found by their keys (`k:`), values (`v:`) or position
 * (`i:`) in each document, so a list whose order differs still lines up.
 * @param live - the live object whose `metadata.managedFields` say who owns what.
 * @param managers - manager names, matched exactly (`kube-controller-manager`).
 * @param doc - the document to find the owned fields in (live itself or the desired object).
 * @returns the paths that exist in `doc`; entries of other managers, entries without `fieldsV1`,
 * and keys that cannot be parsed are skipped.
 */
export function managedFieldsPaths(live: KubeObject, managers: readonly string[], doc: unknown): Path[] {
  if (managers.length === 0) return [];
  const out: Path[] = [];
  for (const raw of live.metadata.managedFields ?? []) {
    if (!isObject(raw)) continue;
    const entry: ManagedFieldsEntry = raw;
    if (typeof entry.manager !== 'string' || !managers.includes(entry.manager)) continue;
    if (entry.fieldsType !== undefined && entry.fieldsType !== 'FieldsV1') continue;
    if (isObject(entry.fieldsV1)) walk(entry.fieldsV1, doc, [], out);
  }
  return out;
}
