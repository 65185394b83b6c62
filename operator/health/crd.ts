/**
 * CustomResourceDefinition health, as gitops-engine `health_customresourcedefinition.go`. It matters for
 * ordering: the custom resources of a later sync wave can only be applied once their CRD is established.
 */
import type { KubeObject } from '../kube/object';
import { conditionsOf, findCondition, type Condition } from './conditions';
import { health, type HealthStatus } from './types';

/**
 * Health of an `apiextensions.k8s.io/v1` CustomResourceDefinition:
 * - no conditions yet → Progressing "Status conditions not found";
 * - `Terminating` True → Progressing (being deleted);
 * - `NamesAccepted` False → Degraded (the names clash with another CRD);
 * - `Established` not True → Degraded, except while the API server is still installing it (reason
 *   `Installing`), which is Progressing;
 * - `NonStructuralSchema` True → Degraded (schema violations);
 * - else Healthy "CRD is healthy".
 *
 * Argo CD reports every not-yet-established CRD Degraded, including the brief `Installing` moment right
 * after creation; capstan reports that moment Progressing, so a sync that waits on the CRD's wave does
 * not see a failure that is not one.
 * @param live - the live CRD.
 */
export function crdHealth(live: KubeObject): HealthStatus {
  const conditions = conditionsOf(live);
  if (conditions.length === 0) return health('Progressing', 'Status conditions not found');
  const terminating = findCondition(conditions, 'Terminating');
  if (terminating?.status === 'True') {
    return health('Progressing', `CRD is being terminated: ${terminating.message ?? ''}`);
  }
  const names = findCondition(conditions, 'NamesAccepted');
  if (names?.status === 'False')
    return health('Degraded', `CRD names have not been accepted: ${names.message ?? ''}`);
  const established = findCondition(conditions, 'Established');
  if (established?.status !== 'True') return notEstablished(established);
  const violations = findCondition(conditions, 'NonStructuralSchema');
  if (violations?.status === 'True') {
    return health('Degraded', `Schema violations found: ${violations.message ?? ''}`);
  }
  return health('Healthy', 'CRD is healthy');
}

function notEstablished(established: Condition | undefined): HealthStatus {
  const code = established?.reason === 'Installing' ? 'Progressing' : 'Degraded';
  return health(code, `CRD is not established: ${established?.message ?? ''}`);
}
