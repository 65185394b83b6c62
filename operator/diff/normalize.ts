/**
 * Diff normalisation: what is removed from both sides before a live object is compared with the
 * server-side dry-run of its desired state. Server-written bookkeeping (managedFields,
 * resourceVersion, generation, uid, creationTimestamp) and `status` never make an app OutOfSync.
 * Fields defaulted by the API server or mutated by admission are on both sides already, because the
 * desired side IS the server's answer to a dry-run apply.
 */
import { isDeepStrictEqual } from 'node:util';
import { KubeObject } from '../kube/object';

const VOLATILE_METADATA = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** Returns a deep copy of `obj` without the fields that never count as drift. */
export function normalizeForDiff(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  for (const key of VOLATILE_METADATA) delete copy.metadata[key];
  delete copy.status;
  return copy;
}

/** True when `live` already is what applying the desired state would produce (`dryRun`). */
export function inSync(dryRun: KubeObject, live: KubeObject): boolean {
  return isDeepStrictEqual(normalizeForDiff(dryRun), normalizeForDiff(live));
}
