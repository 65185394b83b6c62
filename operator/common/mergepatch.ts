/**
 * JSON merge patches (RFC 7386) that replace a value instead of merging into it. In a merge patch an
 * absent key keeps its old value, so writing a new object over an old one leaves the old one's extra
 * keys behind (a stale `retryCount`, a previous `finishedAt`). {@link replacingPatch} adds a null for
 * each of those keys, at every depth, so that the result of applying the patch is exactly `next`.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The merge patch that turns `prev` into `next`.
 * @param prev - the value the server holds now (undefined: none).
 * @param next - the value it must hold after the patch; `undefined` members are left out, as JSON does.
 * @returns `next` with a null for every key of `prev` that `next` lacks (recursively in objects both
 *   hold); arrays and scalars are replaced whole.
 */
export function replacingPatch(prev: unknown, next: unknown): Json {
  if (!isObject(next)) return (next === undefined ? null : next) as Json;
  const out: Record<string, Json> = {};
  const old = isObject(prev) ? prev : {};
  for (const key of Object.keys(old)) {
    if (next[key] === undefined) out[key] = null;
  }
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    out[key] = isObject(value) && isObject(old[key]) ? replacingPatch(old[key], value) : (value as Json);
  }
  return out;
}

/**
 * Applies a JSON merge patch (RFC 7386) as the API server does: null deletes a key, objects merge,
 * everything else replaces. Used to check patches against the server's semantics in tests.
 * @param target - the current value.
 * @param patch - the merge patch.
 * @returns the patched value (a new object; inputs are not changed).
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
