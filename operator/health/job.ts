/**
 * Job health, as gitops-engine `health_job.go`.
 */
import type { KubeObject } from '../kube/object';
import { conditionsOf, findCondition } from './conditions';
import { health, type HealthStatus } from './types';

/**
 * Health of a `batch/v1` Job, from its terminal conditions:
 * - `Failed` → Degraded with the condition's message (e.g. "Job has reached the specified backoff limit");
 * - `Complete` → Healthy;
 * - `Suspended` (or `spec.suspend: true` before the controller has said so) → Suspended, aggregated as
 *   Healthy: as Argo CD since argo-cd#19126, a Job parked on purpose does not make its application
 *   Suspended;
 * - else Progressing.
 *
 * Only conditions with status `True` count. Argo CD counts a condition by its type alone, so a resumed Job
 * (`Suspended` False, reason `JobResumed`) reads as finished and Healthy while its pods still run; capstan
 * reports it Progressing.
 * @param live - the live Job.
 */
export function jobHealth(live: KubeObject): HealthStatus {
  const conditions = conditionsOf(live).filter((c) => c.status === 'True');
  const failed = findCondition(conditions, 'Failed');
  if (failed) return health('Degraded', failed.message);
  const complete = findCondition(conditions, 'Complete');
  if (complete) return health('Healthy', complete.message);
  const suspended = findCondition(conditions, 'Suspended');
  const spec = live.spec as { suspend?: boolean } | undefined;
  if (suspended || spec?.suspend === true) {
    return { ...health('Suspended', suspended?.message || 'Job is suspended'), aggregateAs: 'Healthy' };
  }
  return health('Progressing');
}
