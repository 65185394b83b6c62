/**
 * DaemonSet health, as gitops-engine `health_daemonset.go` (from `kubectl rollout status`).
 */
import type { KubeObject } from '../kube/object';
import { health, type HealthStatus } from './types';

/** The DaemonSet fields the check reads. */
interface DaemonSetView {
  metadata: { name?: string; generation?: number };
  spec?: { updateStrategy?: { type?: string } };
  status?: {
    observedGeneration?: number;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
  };
}

/**
 * Health of an `apps/v1` DaemonSet:
 * - observed generation behind `metadata.generation` → Progressing;
 * - `OnDelete` update strategy → Healthy, reporting how many pods run the new template;
 * - fewer updated pods than desired, or fewer available than desired → Progressing;
 * - else Healthy.
 * @param live - the live DaemonSet.
 */
export function daemonSetHealth(live: KubeObject): HealthStatus {
  const d = live as unknown as DaemonSetView;
  if ((d.metadata.generation ?? 0) > (d.status?.observedGeneration ?? 0)) {
    return health(
      'Progressing',
      'Waiting for rollout to finish: observed daemon set generation less than desired generation',
    );
  }
  return rolloutHealth(d);
}

function rolloutHealth(d: DaemonSetView): HealthStatus {
  const {
    desiredNumberScheduled: desired = 0,
    updatedNumberScheduled: updated = 0,
    numberAvailable: available = 0,
  } = d.status ?? {};
  const name = d.metadata.name ?? '';
  if (d.spec?.updateStrategy?.type === 'OnDelete') {
    return health('Healthy', `daemon set ${updated} out of ${desired} new pods have been updated`);
  }
  if (updated < desired) {
    return health(
      'Progressing',
      `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`,
    );
  }
  if (available < desired) {
    return health(
      'Progressing',
      `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`,
    );
  }
  return health('Healthy');
}
