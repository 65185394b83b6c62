/**
 * PersistentVolumeClaim health, as gitops-engine `health_pvc.go`.
 */
import type { KubeObject } from '../kube/object';
import { health, type HealthStatus } from './types';

/**
 * Health of a core/v1 PersistentVolumeClaim, from `status.phase`: `Bound` → Healthy, `Pending` →
 * Progressing (waiting for a volume, or for a first consumer with `WaitForFirstConsumer` binding),
 * `Lost` → Degraded (its volume is gone), anything else → Unknown.
 * @param live - the live claim.
 */
export function pvcHealth(live: KubeObject): HealthStatus {
  switch ((live.status as { phase?: string } | undefined)?.phase) {
    case 'Bound':
      return health('Healthy');
    case 'Pending':
      return health('Progressing');
    case 'Lost':
      return health('Degraded');
    default:
      return health('Unknown');
  }
}
