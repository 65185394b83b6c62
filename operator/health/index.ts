/**
 * Health: is a live resource doing what it was applied for? Sync status says whether the cluster holds
 * what git says; health says whether those objects work: a Deployment rolled out, a Job completed, a
 * claim bound, a child Application synced and healthy. capstan uses Argo CD's vocabulary and rules
 * (gitops-engine `pkg/health`, one small pure function per kind, dispatched by group and kind):
 *
 * ```yaml
 * status:
 *   health:
 *     status: Progressing      # Healthy | Suspended | Progressing | Missing | Degraded | Unknown
 *   resources:
 *     - kind: Deployment
 *       name: web
 *       health:
 *         status: Progressing
 *         message: "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."
 * ```
 *
 * An application's health is the worst health of its resources (see {@link healthOrder}), and a sync
 * waits for the resources of a wave to be healthy before it starts the next wave. A resource opts out
 * with the annotation `argocd.argoproj.io/ignore-healthcheck: "true"`; sync hooks are left out by the
 * caller, which knows what is a hook.
 */
import { groupVersion, type KubeObject, type ObjectMeta } from '../kube/object';
import { apiServiceHealth } from './apiservice';
import { applicationHealth } from './application';
import { crdHealth } from './crd';
import { cronJobHealth } from './cronjob';
import { daemonSetHealth } from './daemonset';
import { deploymentHealth } from './deployment';
import { externalSecretHealth } from './externalsecret';
import { genericHealth } from './generic';
import { hpaHealth } from './hpa';
import { ingressHealth } from './ingress';
import { jobHealth } from './job';
import { podHealth } from './pod';
import { pvcHealth } from './pvc';
import { replicaSetHealth } from './replicaset';
import { serviceHealth } from './service';
import { statefulSetHealth } from './statefulset';
import { health, isWorse, type HealthStatus, type HealthStatusCode } from './types';
import { workflowHealth } from './workflow';

export { healthOrder, isWorse, worseHealth, type HealthStatus, type HealthStatusCode } from './types';
export { IGNORE_RESTART_POLICY_ANNOTATION } from './pod';
export { HPA_V1_CONDITIONS_ANNOTATION } from './hpa';
export {
  apiServiceHealth,
  applicationHealth,
  crdHealth,
  cronJobHealth,
  daemonSetHealth,
  deploymentHealth,
  externalSecretHealth,
  genericHealth,
  hpaHealth,
  ingressHealth,
  jobHealth,
  podHealth,
  pvcHealth,
  replicaSetHealth,
  serviceHealth,
  statefulSetHealth,
  workflowHealth,
};

/** Argo CD's annotation: `"true"` leaves the resource out of its application's health. */
export const IGNORE_HEALTHCHECK_ANNOTATION = 'argocd.argoproj.io/ignore-healthcheck';

/**
 * The finalizer the sync engine puts on hooks (gitops-engine `hook.HookFinalizer`) until it has read
 * their outcome; a hook being deleted under it keeps its real health, not "Pending deletion".
 */
export const HOOK_FINALIZER = 'argocd.argoproj.io/hook-finalizer';

/** A health check: a pure function of the live object. */
export type HealthCheck = (live: KubeObject) => HealthStatus;

/**
 * The built-in checks by `group/kind` (core group: empty). Kinds not listed get {@link genericHealth}.
 * As gitops-engine's `GetHealthCheckFunc`, the version does not matter (each check reads the fields all
 * served versions share), plus the checks Argo CD ships as Lua: CronJob, ExternalSecret and, capstan's
 * addition, Application.
 */
export const healthChecks: Readonly<Record<string, HealthCheck>> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/ReplicaSet': replicaSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  '/Pod': podHealth,
  '/Service': serviceHealth,
  '/PersistentVolumeClaim': pvcHealth,
  'batch/Job': jobHealth,
  'batch/CronJob': cronJobHealth,
  'networking.k8s.io/Ingress': ingressHealth,
  'extensions/Ingress': ingressHealth,
  'autoscaling/HorizontalPodAutoscaler': hpaHealth,
  'apiregistration.k8s.io/APIService': apiServiceHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
  'argoproj.io/Workflow': workflowHealth,
  'argoproj.io/Application': applicationHealth,
  'external-secrets.io/ExternalSecret': externalSecretHealth,
};

/**
 * The health check for a group and kind.
 * @param group - the API group, `''` for core.
 * @param kind - the kind.
 * @returns the built-in check, or {@link genericHealth}.
 */
export function healthCheckFor(group: string, kind: string): HealthCheck {
  return healthChecks[`${group}/${kind}`] ?? genericHealth;
}

/**
 * The health of one resource, as gitops-engine `GetResourceHealth`:
 * - no live object → Missing;
 * - `argocd.argoproj.io/ignore-healthcheck: "true"` → `undefined`: excluded from the application's health;
 * - being deleted (`deletionTimestamp` set), unless held by the hook finalizer → Progressing "Pending
 *   deletion";
 * - else the check for its group and kind; a check that throws on malformed input → Unknown with the error.
 * @param live - the live object, or `undefined` when it does not exist.
 * @returns the health, or `undefined` when the resource is excluded.
 */
export function assessHealth(live: KubeObject | undefined): HealthStatus | undefined {
  if (!live) return { status: 'Missing' };
  const meta: ObjectMeta = live.metadata ?? {};
  if (meta.annotations?.[IGNORE_HEALTHCHECK_ANNOTATION] === 'true') return undefined;
  if (meta.deletionTimestamp && !meta.finalizers?.includes(HOOK_FINALIZER)) {
    return health('Progressing', 'Pending deletion');
  }
  try {
    return healthCheckFor(groupVersion(live.apiVersion ?? '').group, live.kind)(live);
  } catch (err) {
    return health('Unknown', `failed to assess health: ${(err as Error).message}`);
  }
}

/**
 * An application's health from its resources' (gitops-engine `IsWorse` over the resources, as Argo CD's
 * `setApplicationHealth`): the worst code of the items that are not excluded, each counted as its
 * `aggregateAs` when set; Healthy when nothing is left. The message is that of the first item with the
 * worst code; a Healthy result carries none (one resource's "rollout complete" says nothing of the app).
 *
 * Every item passed in counts, Missing included. Argo CD 3.4 stopped counting Missing resources and
 * Missing or Unknown child Applications (argo-cd#25962), which releases an app-of-apps wave before a
 * child exists (argo-cd#27917); capstan keeps them. A caller that wants Argo's old rule for kinds without
 * a health check (a missing ConfigMap shows only as OutOfSync, argo-cd#6446) drops those items itself.
 * @param items - one entry per resource: its health, or `undefined` when excluded.
 */
export function aggregateHealth(items: ReadonlyArray<HealthStatus | undefined>): HealthStatus {
  let worst: HealthStatusCode = 'Healthy';
  let message: string | undefined;
  for (const item of items) {
    if (!item) continue;
    const code = item.aggregateAs ?? item.status;
    if (isWorse(worst, code)) {
      worst = code;
      message = item.message;
    }
  }
  return health(worst, message);
}
