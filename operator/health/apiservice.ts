/**
 * APIService health, as gitops-engine `health_apiservice.go`.
 */
import type { KubeObject } from '../kube/object';
import { conditionText, conditionsOf, findCondition } from './conditions';
import { health, type HealthStatus } from './types';

/**
 * Health of an `apiregistration.k8s.io` APIService (v1 or v1beta1), from its `Available` condition:
 * True → Healthy, otherwise → Progressing, both with "reason: message" (e.g. "MissingEndpoints: endpoints
 * for service/cert-manager-webhook have no addresses"); no condition yet → Progressing "Waiting to be
 * processed". An unavailable APIService is Progressing, not Degraded, because it usually waits for its
 * backing Service's pods, which the same sync is starting.
 * @param live - the live APIService.
 */
export function apiServiceHealth(live: KubeObject): HealthStatus {
  const available = findCondition(conditionsOf(live), 'Available');
  if (!available) return health('Progressing', 'Waiting to be processed');
  return health(available.status === 'True' ? 'Healthy' : 'Progressing', conditionText(available));
}
