/**
 * Service health, as gitops-engine `health_service.go`.
 */
import type { KubeObject } from '../kube/object';
import { health, type HealthStatus } from './types';

/**
 * Health of a core/v1 Service: a `LoadBalancer` Service is Healthy once `status.loadBalancer.ingress`
 * lists at least one address (IP or hostname), Progressing until then; every other type is Healthy.
 * @param live - the live Service.
 */
export function serviceHealth(live: KubeObject): HealthStatus {
  const spec = live.spec as { type?: string } | undefined;
  if (spec?.type !== 'LoadBalancer') return health('Healthy');
  return health(hasLoadBalancerIngress(live) ? 'Healthy' : 'Progressing');
}

/**
 * Whether `status.loadBalancer.ingress` is a non-empty list (Services and Ingresses report it alike).
 * @param live - a live Service or Ingress.
 */
export function hasLoadBalancerIngress(live: KubeObject): boolean {
  const status = live.status as { loadBalancer?: { ingress?: unknown } } | undefined;
  const ingress = status?.loadBalancer?.ingress;
  return Array.isArray(ingress) && ingress.length > 0;
}
