/**
 * Argo Workflows' Workflow health, as gitops-engine `health_argo.go` (Argo CD has it built in, so
 * repositories that run a Workflow as a sync hook work unchanged).
 */
import type { KubeObject } from '../kube/object';
import { health, type HealthStatus } from './types';

/**
 * Health of an `argoproj.io` Workflow, from `status.phase` alone (any API version): no phase yet,
 * `Pending` or `Running` → Progressing; `Succeeded` → Healthy; `Failed` or `Error` → Degraded; anything
 * else → Unknown; always with `status.message`.
 * @param live - the live Workflow.
 */
export function workflowHealth(live: KubeObject): HealthStatus {
  const status = live.status as { phase?: string; message?: string } | undefined;
  const message = status?.message;
  switch (status?.phase ?? '') {
    case '':
    case 'Pending':
    case 'Running':
      return health('Progressing', message);
    case 'Succeeded':
      return health('Healthy', message);
    case 'Failed':
    case 'Error':
      return health('Degraded', message);
    default:
      return health('Unknown', message);
  }
}
