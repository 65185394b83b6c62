/**
 * Which watch events are worth a reconcile: a change of generation (spec), labels, annotations or the
 * deletion mark, never of status alone, so that an operator's own status writes do not re-trigger it.
 */
import type { KubeObject } from '../kube/object';

/** The parts of an object whose change calls for a reconcile. */
export function metadataFingerprint(obj: KubeObject): unknown[] {
  const m = obj.metadata;
  return [m.generation, m.labels ?? {}, m.annotations ?? {}, m.deletionTimestamp ?? ''];
}
