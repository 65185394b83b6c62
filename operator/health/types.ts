/**
 * Health vocabulary, the same as Argo CD's (gitops-engine `pkg/health/health.go`).
 */

/**
 * The health of one resource or of a whole application:
 * - `Healthy`: 100% healthy;
 * - `Suspended`: paused or suspended on purpose (a paused Deployment, a suspended Job);
 * - `Progressing`: not healthy yet, but still has a chance to get there (a rollout, a pending claim);
 * - `Missing`: the resource does not exist in the cluster;
 * - `Degraded`: failed, or could not become healthy within its deadline;
 * - `Unknown`: health could not be assessed.
 */
export type HealthStatusCode = 'Healthy' | 'Suspended' | 'Progressing' | 'Missing' | 'Degraded' | 'Unknown';

/** The result of a health assessment. */
export interface HealthStatus {
  /** status is the health code. */
  status: HealthStatusCode;
  /** message says why, in words a person can act on; omitted when there is nothing to add. */
  message?: string;
  /**
   * aggregateAs, when set, is the code that counts for the application's aggregated health instead of
   * `status`. As Argo CD's `HealthStatus.AggregateAs`: a suspended Job is shown `Suspended` but counts as
   * `Healthy`, so that an application holding a parked Job is not itself Suspended (argo-cd#19126).
   */
  aggregateAs?: HealthStatusCode;
}

/**
 * Health codes from best to worst, exactly gitops-engine's `healthOrder`: Healthy, Suspended,
 * Progressing, Missing, Degraded, Unknown. Unknown is the worst: a resource whose health cannot be
 * assessed must not let an application pass as healthy.
 */
export const healthOrder: readonly HealthStatusCode[] = [
  'Healthy',
  'Suspended',
  'Progressing',
  'Missing',
  'Degraded',
  'Unknown',
];

/**
 * Whether `candidate` is strictly worse than `current` in {@link healthOrder} (gitops-engine `IsWorse`).
 * @param current - the code held so far.
 * @param candidate - the code to compare with it.
 * @returns true when `candidate` ranks after `current`.
 */
export function isWorse(current: HealthStatusCode, candidate: HealthStatusCode): boolean {
  return healthOrder.indexOf(candidate) > healthOrder.indexOf(current);
}

/**
 * The worse of two health statuses; on a tie, the first one (so that aggregation keeps the message of the
 * first resource that reached the worst code).
 * @param a - the status held so far.
 * @param b - the status to compare with it.
 * @returns `b` when its code is strictly worse than `a`'s, else `a`.
 */
export function worseHealth(a: HealthStatus, b: HealthStatus): HealthStatus {
  return isWorse(a.status, b.status) ? b : a;
}

/**
 * Builds a {@link HealthStatus}, leaving `message` out when it is empty (Go's `omitempty`: Argo CD's
 * checks return `""` where capstan returns no message).
 * @param status - the health code.
 * @param message - the message, if any.
 */
export function health(status: HealthStatusCode, message?: string): HealthStatus {
  return message ? { status, message } : { status };
}
