/**
 * Sync waves, as Argo CD: `argocd.argoproj.io/sync-wave` (an integer, default 0, may be negative) orders
 * the work inside a phase; each wave starts only once the previous one is synced and healthy. A Helm
 * hook without a wave annotation uses its `helm.sh/hook-weight`.
 */
import { KubeObject } from '../kube/object';
import { HELM_HOOK_ANNOTATION, HELM_HOOK_WEIGHT_ANNOTATION, SYNC_WAVE_ANNOTATION } from './annotations';

const parseWave = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  return Number.isInteger(n) ? n : undefined;
};

/** The sync wave of an object (a malformed annotation counts as 0, as Argo CD's parse failure does). */
export function syncWave(obj: KubeObject): number {
  const annotations = obj.metadata.annotations ?? {};
  const wave = parseWave(annotations[SYNC_WAVE_ANNOTATION]);
  if (wave !== undefined) return wave;
  if (annotations[HELM_HOOK_ANNOTATION]) return parseWave(annotations[HELM_HOOK_WEIGHT_ANNOTATION]) ?? 0;
  return 0;
}

/**
 * Kinds that later objects of a wave may need to exist when the API server admits them: a namespace
 * (namespaced objects are refused without it), a CRD (its custom resources), a ServiceAccount (a Pod
 * naming it is refused), the policy kinds admission applies to later objects (NetworkPolicy,
 * ResourceQuota, LimitRange, PodSecurityPolicy), StorageClass and PersistentVolume (claims), and the
 * RBAC roles (the escalation check of a binding reads its role).
 */
export const BARRIER_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'ServiceAccount',
  'StorageClass',
  'PersistentVolume',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'Role',
  'RoleList',
]);

/** The part of a task {@link batchesOf} looks at. */
export interface BatchTask {
  action: 'apply' | 'prune' | 'hook';
  resource: { kind: string };
}

/**
 * Splits one wave (in plan order: applies in install kind order, then prunes, hooks) into batches whose
 * tasks may run at the same time; batches run one after the other.
 *
 * gitops-engine runs a wave's consecutive tasks of the same kind concurrently. capstan goes further
 * for applies: an apply of a {@link BARRIER_KINDS} kind ends its batch (every later task starts only
 * after it, and after the other objects of its kind), while any other apply only needs the objects
 * before it in install order, so it shares a batch with the tasks that follow it. The five objects
 * ConfigMap, ServiceAccount, Role, Service, Deployment run as [ServiceAccount] [ConfigMap, Role]
 * [Service, Deployment] instead of five round trips one after the other.
 * Prunes and hooks keep running one at a time (prunes delete in reverse install order; a created hook
 * is recorded before the next starts, so a crash never creates it twice).
 * @param wave - the tasks of one wave in plan order.
 * @returns the same tasks, in the same order, cut into batches.
 */
export function batchesOf<T extends BatchTask>(wave: T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  const close = (): void => {
    if (current.length) batches.push(current);
    current = [];
  };
  for (const t of wave) {
    if (t.action !== 'apply') {
      close();
      batches.push([t]);
      continue;
    }
    const last = current[current.length - 1];
    if (last && BARRIER_KINDS.has(last.resource.kind) && last.resource.kind !== t.resource.kind) close();
    current.push(t);
  }
  close();
  return batches;
}
