/**
 * CronJob health, as Argo CD's built-in `resource_customizations/batch/CronJob/health.lua` (3.2 and
 * later, after argo-cd#24430).
 *
 * A CronJob's status tells little: the time of the last schedule, of the last success, and the Jobs
 * running now. So a CronJob is Degraded only when it is known that its last run failed (nothing running,
 * last success older than last schedule); while a Job runs, the previous outcome is unknown and it is
 * Healthy (argo-cd#24429).
 */
import type { KubeObject } from '../kube/object';
import { health, type HealthStatus } from './types';

/** The CronJob fields the check reads. */
interface CronJobView {
  spec?: { suspend?: boolean };
  status?: { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: unknown[] };
}

/**
 * Health of a `batch/v1` CronJob:
 * - `spec.suspend: true` → Suspended "CronJob is Suspended", aggregated as Healthy;
 * - no status yet → Progressing "Waiting for CronJob";
 * - never scheduled → Healthy; scheduled but never succeeded → Healthy (it may be its first run);
 * - a Job running now → Healthy;
 * - last success older than last schedule → Degraded;
 * - else Healthy.
 *
 * Argo CD reports a suspended CronJob `Healthy` (message "CronJob is Suspended") only because a Suspended
 * resource made the whole application Suspended (argo-cd#24428, #19126); capstan reports it Suspended, as
 * that issue expects, and uses `aggregateAs: Healthy` so the application is unaffected, as Argo CD does for
 * suspended Jobs.
 * @param live - the live CronJob.
 */
export function cronJobHealth(live: KubeObject): HealthStatus {
  const c = live as unknown as CronJobView;
  if (c.spec?.suspend === true)
    return { ...health('Suspended', 'CronJob is Suspended'), aggregateAs: 'Healthy' };
  const status = c.status;
  if (!status) return health('Progressing', 'Waiting for CronJob');
  if (!status.lastScheduleTime) return health('Healthy', 'CronJob has not been scheduled yet');
  if (!status.lastSuccessfulTime) {
    return health('Healthy', 'The CronJob never completed successfully. It may not be healthy');
  }
  if (Array.isArray(status.active) && status.active.length > 0) {
    return health('Healthy', 'The job is running. Its last execution may not have been successful');
  }
  if (before(status.lastSuccessfulTime, status.lastScheduleTime)) {
    return health('Degraded', 'CronJob has not completed its last execution successfully');
  }
  return health('Healthy', 'CronJob has completed its last execution successfully');
}

/** Whether RFC 3339 time `a` is before `b` (Argo CD's Lua compares the strings; equal for UTC times). */
function before(a: string, b: string): boolean {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isNaN(ta) || Number.isNaN(tb) ? a < b : ta < tb;
}
