/**
 * Pod health, as gitops-engine `health_pod.go`.
 *
 * Pods that run to completion (`restartPolicy: Never | OnFailure`) are usually hooks or a Job's pods, so
 * while they run they are Progressing, never Degraded: marking a hook pod in ImagePullBackOff Degraded
 * would fail the PreSync/PostSync hook early, and the pod would then run anyway once the image appears,
 * after the sync has finished (argo-cd#1365). Only long-running pods (`Always`) are judged on waiting
 * errors and readiness.
 */
import type { KubeObject } from '../kube/object';
import { conditionsOf, findCondition } from './conditions';
import { health, type HealthStatus } from './types';

/**
 * Argo CD's pod annotation (alpha, argo-cd#28249): `"true"` judges a `Never`/`OnFailure` pod as a
 * long-running one, for pods an operator owns (KubeVirt, Flink) that would otherwise stay Progressing.
 */
export const IGNORE_RESTART_POLICY_ANNOTATION = 'argocd.argoproj.io/ignore-restart-policy';

/** Annotations that make an object a sync hook (Argo CD's own, and Helm's, which Argo CD maps). */
const HOOK_ANNOTATIONS = ['argocd.argoproj.io/hook', 'helm.sh/hook'];

/** The fields of a container status the check reads. */
interface ContainerStatusView {
  name?: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; message?: string; exitCode?: number };
  };
  lastState?: { terminated?: object };
}

/** The Pod fields the check reads. */
interface PodView {
  metadata: { annotations?: Record<string, string> };
  spec?: { restartPolicy?: string };
  status?: {
    phase?: string;
    message?: string;
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
  };
}

/**
 * Health of a core/v1 Pod:
 * - long-running pods (`restartPolicy: Always`, the API default): a container waiting with a reason that
 *   starts with `Err` or ends with `Error` or `BackOff` (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
 *   CreateContainerConfigError) → Degraded with the waiting messages;
 * - phase `Pending` → Progressing; `Succeeded` → Healthy; `Failed` → Degraded with the pod's message, or
 *   the first failed container's (termination message, `OOMKilled`, or exit code);
 * - phase `Running`: long-running pods are Healthy when Ready, Degraded when not Ready and a container has
 *   terminated before (it crashed), else Progressing; run-to-completion pods are Progressing;
 * - any other phase → Unknown.
 * @param live - the live Pod.
 */
export function podHealth(live: KubeObject): HealthStatus {
  const pod = live as unknown as PodView;
  const longRunning = restartPolicy(pod) === 'Always';
  if (longRunning) {
    const waiting = waitingErrors(pod);
    if (waiting.length > 0) return health('Degraded', waiting.join(', '));
  }
  const message = pod.status?.message;
  switch (pod.status?.phase) {
    case 'Pending':
      return health('Progressing', message);
    case 'Succeeded':
      return health('Healthy', message);
    case 'Failed':
      return health('Degraded', message || firstFailure(pod));
    case 'Running':
      return longRunning ? runningHealth(live, pod) : health('Progressing', message);
    default:
      return health('Unknown', message);
  }
}

/**
 * The restart policy that decides how the pod is judged. An absent policy is `Always`, the API server's
 * default (Go's typed Pod would read `""` and fall through to Unknown; a live pod always has one). The
 * ignore-restart-policy annotation is not honoured on hooks: a hook's health drives the sync, and it
 * must keep run-to-completion semantics (Argo CD has a fixture for this very case,
 * `pod-running-restart-never-hook-with-ignore-annotation.yaml`; its expected result is inferred here).
 */
function restartPolicy(pod: PodView): string {
  const annotations = pod.metadata.annotations ?? {};
  const isHook = HOOK_ANNOTATIONS.some((key) => annotations[key] !== undefined);
  if (annotations[IGNORE_RESTART_POLICY_ANNOTATION] === 'true' && !isHook) return 'Always';
  return pod.spec?.restartPolicy ?? 'Always';
}

/**
 * Messages of containers waiting on an error. Unlike Argo CD, init containers count too: a pod stuck in
 * `Init:CrashLoopBackOff` stays in phase Pending forever, and Argo CD shows it Progressing forever. An
 * empty waiting message falls back to the reason, so the result never reads as blank.
 */
function waitingErrors(pod: PodView): string[] {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const messages: string[] = [];
  for (const c of statuses) {
    const reason = c.state?.waiting?.reason ?? '';
    if (reason.startsWith('Err') || reason.endsWith('Error') || reason.endsWith('BackOff')) {
      messages.push(c.state?.waiting?.message || reason);
    }
  }
  return messages;
}

function firstFailure(pod: PodView): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const t = c.state?.terminated;
    if (!t) continue;
    if (t.message) return t.message;
    if (t.reason === 'OOMKilled') return t.reason;
    if (t.exitCode) return `container "${c.name ?? ''}" failed with exit code ${t.exitCode}`;
  }
  return undefined;
}

function runningHealth(live: KubeObject, pod: PodView): HealthStatus {
  const message = pod.status?.message;
  if (findCondition(conditionsOf(live), 'Ready')?.status === 'True') return health('Healthy', message);
  const crashed = (pod.status?.containerStatuses ?? []).some((c) => c.lastState?.terminated);
  return health(crashed ? 'Degraded' : 'Progressing', message);
}
