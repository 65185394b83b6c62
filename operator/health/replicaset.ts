/**
 * ReplicaSet health, as gitops-engine `health_replicaset.go`.
 */
import type { KubeObject } from '../kube/object';
import { conditionsOf, findCondition } from './conditions';
import { health, type HealthStatus } from './types';

/** The ReplicaSet fields the check reads. */
interface ReplicaSetView {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; availableReplicas?: number };
}

/**
 * Health of an `apps/v1` ReplicaSet:
 * - observed generation behind `metadata.generation` → Progressing;
 * - condition `ReplicaFailure` True (e.g. pods forbidden by a quota) → Degraded with its message;
 * - fewer available replicas than `spec.replicas` → Progressing;
 * - else Healthy.
 * @param live - the live ReplicaSet.
 */
export function replicaSetHealth(live: KubeObject): HealthStatus {
  const r = live as unknown as ReplicaSetView;
  if ((r.metadata.generation ?? 0) > (r.status?.observedGeneration ?? 0)) {
    return health(
      'Progressing',
      'Waiting for rollout to finish: observed replica set generation less than desired generation',
    );
  }
  const failure = findCondition(conditionsOf(live), 'ReplicaFailure');
  if (failure?.status === 'True') return health('Degraded', failure.message);
  const desired = r.spec?.replicas;
  const available = r.status?.availableReplicas ?? 0;
  if (desired !== undefined && available < desired) {
    return health(
      'Progressing',
      `Waiting for rollout to finish: ${available} out of ${desired} new replicas are available...`,
    );
  }
  return health('Healthy');
}
