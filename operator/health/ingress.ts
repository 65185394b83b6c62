/**
 * Ingress health, as gitops-engine `health_ingress.go`.
 */
import type { KubeObject } from '../kube/object';
import { hasLoadBalancerIngress } from './service';
import { health, type HealthStatus } from './types';

/**
 * Health of a `networking.k8s.io` (or legacy `extensions`) Ingress: Healthy once the ingress controller
 * has published an address in `status.loadBalancer.ingress`, Progressing until then. (An ingress
 * controller that never publishes addresses keeps its Ingresses Progressing, as in Argo CD.)
 * @param live - the live Ingress.
 */
export function ingressHealth(live: KubeObject): HealthStatus {
  return health(hasLoadBalancerIngress(live) ? 'Healthy' : 'Progressing');
}
