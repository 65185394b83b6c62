/**
 * Health of every kind without a check of its own: custom resources of operators (cert-manager
 * Certificates, SecretStores, Flux objects, ...) and plain data (ConfigMaps, Secrets, RBAC).
 *
 * Argo CD gives such kinds no health at all unless a Lua script is configured for them; they then never
 * hold a sync wave. capstan reads the conventions most controllers follow instead (a `Ready` or
 * `Available` condition; kstatus' `Reconciling`, `Stalled` and `observedGeneration`), so that a custom
 * resource in an early wave is waited for without per-kind configuration.
 */
import type { KubeObject } from '../kube/object';
import { conditionText, conditionsOf, findCondition, type Condition } from './conditions';
import { health, type HealthStatus } from './types';

/**
 * Health of any other kind:
 * - the controller has not yet observed the latest `metadata.generation` (`status.observedGeneration`,
 *   or the deciding condition's `observedGeneration`, is behind) → Progressing;
 * - `Stalled` True → Degraded; `Reconciling` True → Progressing (kstatus);
 * - a `Ready` condition, else an `Available` one: True → Healthy, False → Degraded with "reason:
 *   message", Unknown → Progressing;
 * - no such condition → Healthy: the object exists, and that is all there is to know.
 * @param live - the live object.
 */
export function genericHealth(live: KubeObject): HealthStatus {
  const conditions = conditionsOf(live);
  const generation = live.metadata.generation;
  const observed = (live.status as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  if (behind(observed, generation)) return waitingForGeneration(generation);
  const stalled = findCondition(conditions, 'Stalled');
  if (stalled?.status === 'True') return health('Degraded', conditionText(stalled));
  const reconciling = findCondition(conditions, 'Reconciling');
  if (reconciling?.status === 'True') return health('Progressing', conditionText(reconciling));
  const deciding = findCondition(conditions, 'Ready') ?? findCondition(conditions, 'Available');
  if (!deciding) return health('Healthy');
  if (behind(deciding.observedGeneration, generation)) return waitingForGeneration(generation);
  return conditionHealth(deciding);
}

function conditionHealth(c: Condition): HealthStatus {
  switch (c.status) {
    case 'True':
      return health('Healthy', c.message);
    case 'False':
      return health('Degraded', conditionText(c));
    default:
      return health('Progressing', conditionText(c));
  }
}

function behind(observed: unknown, generation: number | undefined): boolean {
  return typeof observed === 'number' && typeof generation === 'number' && observed < generation;
}

function waitingForGeneration(generation: number | undefined): HealthStatus {
  return health('Progressing', `Waiting for the controller to observe generation ${generation}`);
}
