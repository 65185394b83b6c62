/**
 * Application conditions, with Argo CD's condition types. A condition keeps its
 * `lastTransitionTime` while its message stays the same (as ESO's condition setter does), so that a
 * periodic refresh does not rewrite status needlessly.
 */

/** Argo CD's Application condition types that capstan reports. */
export const ConditionType = {
  InvalidSpecError: 'InvalidSpecError',
  ComparisonError: 'ComparisonError',
  SyncError: 'SyncError',
  SharedResourceWarning: 'SharedResourceWarning',
  /** An object rendered more than once (by several sources of a multi-source app, or twice by one). */
  RepeatedResourceWarning: 'RepeatedResourceWarning',
  /** Objects in the destination namespace that no app tracks (the project's `orphanedResources`). */
  OrphanedResourceWarning: 'OrphanedResourceWarning',
  /**
   * capstan's own type (Argo CD shows this only in its UI and CLI): a sync held by the project's sync
   * windows, naming the window and when syncs open again. Neither an error nor a warning.
   */
  SyncWindowBlocked: 'SyncWindowBlocked',
  /**
   * capstan's own type: the app is on an app-of-apps cycle (it is managed by an app it deploys, as in the
   * self-managed bootstrap), naming the cycle. Neither an error nor a warning.
   */
  AppOfAppsCycle: 'AppOfAppsCycle',
} as const;

/** One entry of `status.conditions`. */
export interface AppCondition {
  type: string;
  message: string;
  lastTransitionTime?: string;
}

/**
 * The next conditions list: `wanted` conditions, each keeping the previous `lastTransitionTime` when an
 * identical condition (same type and message) was already there.
 * @param now - RFC 3339 time for new conditions.
 */
export function mergeConditions(
  previous: AppCondition[] | undefined,
  wanted: AppCondition[],
  now: string,
): AppCondition[] {
  return wanted.map((c) => {
    const same = previous?.find((p) => p.type === c.type && p.message === c.message);
    return { ...c, lastTransitionTime: same?.lastTransitionTime ?? now };
  });
}
