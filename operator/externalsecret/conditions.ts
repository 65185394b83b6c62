/**
 * Status conditions of ExternalSecrets and stores, set as ESO's `SetExternalSecretCondition` does: a
 * condition keeps its `lastTransitionTime` while its status stays the same (reason and message may
 * change), so a periodic refresh does not make the condition look new.
 */

/** One status condition (the shape shared by ExternalSecret and store status). */
export interface Condition {
  /** type - `Ready`. */
  type: string;
  /** status - `True`, `False` or `Unknown`. */
  status: 'True' | 'False' | 'Unknown';
  /** reason - a CamelCase reason (`SecretSynced`, `InvalidProviderConfig`, ...). */
  reason?: string;
  /** message - a sentence without secret values. */
  message?: string;
  /** lastTransitionTime - RFC 3339 time of the last status change. */
  lastTransitionTime?: string;
}

/** The condition of `type` in `conditions`, if any. */
export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * The conditions with `wanted` set: it replaces the condition of the same type, keeping that one's
 * `lastTransitionTime` when the status did not change.
 * @param conditions - the current list (not modified).
 * @param wanted - the new condition, without `lastTransitionTime`.
 * @param now - RFC 3339 time used when the status changes.
 * @returns a new list, in the previous order (a new type is appended).
 */
export function setCondition(
  conditions: Condition[] | undefined,
  wanted: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const list = conditions ?? [];
  const previous = getCondition(list, wanted.type);
  const lastTransitionTime =
    previous && previous.status === wanted.status ? (previous.lastTransitionTime ?? now) : now;
  const next: Condition = { ...wanted, lastTransitionTime };
  return previous ? list.map((c) => (c.type === wanted.type ? next : c)) : [...list, next];
}

/** True when two conditions say the same (type, status, reason, message), whatever their times. */
export function sameCondition(a: Condition | undefined, b: Condition | undefined): boolean {
  return (
    !!a &&
    !!b &&
    a.type === b.type &&
    a.status === b.status &&
    (a.reason ?? '') === (b.reason ?? '') &&
    (a.message ?? '') === (b.message ?? '')
  );
}
