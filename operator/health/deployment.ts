/**
 * Deployment health, as gitops-engine `health_deployment.go` (itself borrowed from `kubectl rollout
 * status`).
 */
import type { KubeObject } from '../kube/object';
import { conditionsOf, findCondition } from './conditions';
import { health, type HealthStatus } from './types';

/** The Deployment fields the check reads. */
interface DeploymentView {
  metadata: { name?: string; generation?: number };
  spec?: { paused?: boolean; replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

/**
 * Health of an `apps/v1` Deployment:
 * - `spec.paused` → Suspended "Deployment is paused";
 * - the controller has not observed the latest `metadata.generation` → Progressing;
 * - condition `Progressing` with reason `ProgressDeadlineExceeded` → Degraded;
 * - fewer updated replicas than `spec.replicas`, old replicas still running, or fewer available than
 *   updated replicas → Progressing, with `kubectl rollout status`'s message;
 * - else Healthy.
 * @param live - the live Deployment.
 */
export function deploymentHealth(live: KubeObject): HealthStatus {
  const d = live as unknown as DeploymentView;
  if (d.spec?.paused) return health('Suspended', 'Deployment is paused');
  if ((d.metadata.generation ?? 0) > (d.status?.observedGeneration ?? 0)) {
    return health(
      'Progressing',
      'Waiting for rollout to finish: observed deployment generation less than desired generation',
    );
  }
  const progressing = findCondition(conditionsOf(live), 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return health('Degraded', `Deployment "${d.metadata.name ?? ''}" exceeded its progress deadline`);
  }
  return rolloutHealth(d);
}

function rolloutHealth(d: DeploymentView): HealthStatus {
  const desired = d.spec?.replicas;
  const replicas = d.status?.replicas ?? 0;
  const updated = d.status?.updatedReplicas ?? 0;
  const available = d.status?.availableReplicas ?? 0;
  if (desired !== undefined && updated < desired) {
    return health(
      'Progressing',
      `Waiting for rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    );
  }
  if (replicas > updated) {
    return health(
      'Progressing',
      `Waiting for rollout to finish: ${replicas - updated} old replicas are pending termination...`,
    );
  }
  if (available < updated) {
    return health(
      'Progressing',
      `Waiting for rollout to finish: ${available} of ${updated} updated replicas are available...`,
    );
  }
  return health('Healthy');
}
