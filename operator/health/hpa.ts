/**
 * HorizontalPodAutoscaler health, as gitops-engine `health_hpa.go`.
 */
import { groupVersion, type KubeObject } from '../kube/object';
import { conditionsOf, type Condition } from './conditions';
import { health, type HealthStatus } from './types';

/** Where `autoscaling/v1` HPAs carry their conditions (the v1 schema has no `status.conditions`). */
export const HPA_V1_CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';

const WAITING = health('Progressing', 'Waiting to Autoscale');

/**
 * Condition type and reason pairs that mean the autoscaler cannot do its job. Argo CD lists
 * FailedGetScale, FailedUpdateScale, FailedGetResourceMetric and InvalidSelector; its newer test data
 * (`hpa-v1-degraded-failedgetobjectmetric.yaml`) adds FailedGetObjectMetric, and capstan adds the other
 * metric sources the HPA controller reports the same way (pods, external, container resource).
 */
const DEGRADED: ReadonlyArray<readonly [string, string]> = [
  ['AbleToScale', 'FailedGetScale'],
  ['AbleToScale', 'FailedUpdateScale'],
  ['ScalingActive', 'FailedGetResourceMetric'],
  ['ScalingActive', 'FailedGetContainerResourceMetric'],
  ['ScalingActive', 'FailedGetPodsMetric'],
  ['ScalingActive', 'FailedGetObjectMetric'],
  ['ScalingActive', 'FailedGetExternalMetric'],
  ['ScalingActive', 'InvalidSelector'],
];

/** Condition types whose status True means the autoscaler works. */
const HEALTHY_TYPES = ['AbleToScale', 'ScalingLimited'];

/**
 * Health of an `autoscaling` HorizontalPodAutoscaler (v1, v2beta1, v2beta2, v2):
 * - a condition from the degraded list (e.g. AbleToScale/FailedGetScale: the target does not exist) →
 *   Degraded with its message;
 * - else `AbleToScale` or `ScalingLimited` True → Healthy with its message;
 * - else (no conditions yet) → Progressing "Waiting to Autoscale".
 *
 * Conditions come from `status.conditions`, or for `autoscaling/v1` from the
 * `autoscaling.alpha.kubernetes.io/conditions` annotation (JSON); unparsable JSON → Unknown.
 *
 * Argo CD takes the first condition that is either degraded or healthy, so the verdict depends on the
 * order the controller wrote them in (AbleToScale True before ScalingActive False reads Healthy); capstan
 * looks for a degraded condition first.
 * @param live - the live HPA.
 */
export function hpaHealth(live: KubeObject): HealthStatus {
  const { group, version } = groupVersion(live.apiVersion);
  let conditions: Condition[];
  if (group === 'autoscaling' && version === 'v1') {
    const raw = live.metadata.annotations?.[HPA_V1_CONDITIONS_ANNOTATION];
    if (raw === undefined) return WAITING;
    const parsed = parseConditions(raw);
    if (!parsed) return health('Unknown', `failed to parse the ${HPA_V1_CONDITIONS_ANNOTATION} annotation`);
    conditions = parsed;
  } else {
    conditions = conditionsOf(live);
  }
  const degraded = conditions.find((c) =>
    DEGRADED.some(([type, reason]) => c.type === type && c.reason === reason),
  );
  if (degraded) return health('Degraded', degraded.message);
  const healthy = conditions.find((c) => HEALTHY_TYPES.includes(c.type) && c.status === 'True');
  if (healthy) return health('Healthy', healthy.message);
  return WAITING;
}

function parseConditions(raw: string): Condition[] | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (!Array.isArray(value)) return undefined;
    return value.filter(
      (c): c is Condition => typeof c === 'object' && c !== null && typeof c.type === 'string',
    );
  } catch {
    return undefined;
  }
}
