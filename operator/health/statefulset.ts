/**
 * StatefulSet health, as gitops-engine `health_statefulset.go` (from `kubectl rollout status`).
 */
import type { KubeObject } from '../kube/object';
import { health, type HealthStatus } from './types';

/** The StatefulSet fields the check reads. */
interface StatefulSetView {
  metadata: { generation?: number };
  spec?: {
    replicas?: number;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

/**
 * Health of an `apps/v1` StatefulSet:
 * - no observed generation yet, or behind `metadata.generation` → Progressing;
 * - fewer ready replicas than `spec.replicas` → Progressing "Waiting for N pods to be ready...";
 * - `RollingUpdate` with `rollingUpdate` set: fewer updated replicas than `replicas - partition` →
 *   Progressing, else Healthy "partitioned roll out complete" (the API server defaults `partition: 0`,
 *   so this is the usual path, as in Argo CD);
 * - `OnDelete` → Healthy (pods update only when deleted, so there is no rollout to wait for);
 * - `updateRevision` differs from `currentRevision` → Progressing, else Healthy.
 * @param live - the live StatefulSet.
 */
export function statefulSetHealth(live: KubeObject): HealthStatus {
  const s = live as unknown as StatefulSetView;
  const observed = s.status?.observedGeneration ?? 0;
  if (observed === 0 || (s.metadata.generation ?? 0) > observed) {
    return health('Progressing', 'Waiting for statefulset spec update to be observed...');
  }
  const replicas = s.spec?.replicas;
  const ready = s.status?.readyReplicas ?? 0;
  if (replicas !== undefined && ready < replicas) {
    return health('Progressing', `Waiting for ${replicas - ready} pods to be ready...`);
  }
  return updateStrategyHealth(s);
}

function updateStrategyHealth(s: StatefulSetView): HealthStatus {
  const strategy = s.spec?.updateStrategy;
  if (strategy?.type === 'RollingUpdate' && strategy.rollingUpdate) {
    return partitionedHealth(s, strategy.rollingUpdate.partition);
  }
  if (strategy?.type === 'OnDelete') {
    return health('Healthy', `statefulset has ${s.status?.readyReplicas ?? 0} ready pods`);
  }
  return revisionHealth(s);
}

function partitionedHealth(s: StatefulSetView, partition: number | undefined): HealthStatus {
  const replicas = s.spec?.replicas;
  const updated = s.status?.updatedReplicas ?? 0;
  if (replicas !== undefined && partition !== undefined && updated < replicas - partition) {
    return health(
      'Progressing',
      `Waiting for partitioned roll out to finish: ${updated} out of ${replicas - partition} new pods have been updated...`,
    );
  }
  return health('Healthy', `partitioned roll out complete: ${updated} new pods have been updated...`);
}

function revisionHealth(s: StatefulSetView): HealthStatus {
  const {
    currentRevision = '',
    updateRevision = '',
    updatedReplicas = 0,
    currentReplicas = 0,
  } = s.status ?? {};
  if (updateRevision !== currentRevision) {
    return health(
      'Progressing',
      `waiting for statefulset rolling update to complete ${updatedReplicas} pods at revision ${updateRevision}...`,
    );
  }
  return health(
    'Healthy',
    `statefulset rolling update complete ${currentReplicas} pods at revision ${currentRevision}...`,
  );
}
