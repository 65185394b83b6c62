/**
 * Reading `status.conditions`, the list most kinds report their state in. Health checks read live
 * objects as loose data (as gitops-engine's `health_argo.go` reads only the fields it needs): a field
 * may be absent or of the wrong type, and a check must never throw on it.
 */
import type { KubeObject } from '../kube/object';

/** One status condition, as core kinds (`DeploymentCondition`) and `metav1.Condition` write it. */
export interface Condition {
  /** type names the condition, e.g. `Ready`, `Available`, `Progressing`. */
  type: string;
  /** status is `True`, `False` or `Unknown`. */
  status?: string;
  /** reason is a one-word CamelCase cause, e.g. `ProgressDeadlineExceeded`. */
  reason?: string;
  /** message is the human-readable detail. */
  message?: string;
  /** observedGeneration is the `metadata.generation` the condition was set for (`metav1.Condition`). */
  observedGeneration?: number;
}

/**
 * The object's `status.conditions`, keeping only entries that have a string `type`.
 * @param obj - any live object.
 * @returns the conditions, in the order the controller wrote them; `[]` when there are none.
 */
export function conditionsOf(obj: KubeObject): Condition[] {
  const status = obj.status as { conditions?: unknown } | undefined;
  const list = status?.conditions;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (c): c is Condition => typeof c === 'object' && c !== null && typeof c.type === 'string',
  );
}

/**
 * The first condition of the given type.
 * @param list - conditions, as {@link conditionsOf} returns them.
 * @param type - the condition type to look for.
 */
export function findCondition(list: readonly Condition[], type: string): Condition | undefined {
  return list.find((c) => c.type === type);
}

/**
 * `reason: message`, or whichever of the two is present (as gitops-engine's APIService check formats a
 * condition).
 * @param c - the condition.
 */
export function conditionText(c: Condition): string {
  return [c.reason, c.message].filter((s) => !!s).join(': ');
}
