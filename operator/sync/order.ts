/**
 * The order in which a sync applies objects: by kind, in Helm's and Argo CD's install order
 * (Namespace first, CRDs before RBAC and workloads, Ingress and APIService last; kinds not listed come
 * after every listed kind), then by name. Sync waves and hook phases wrap around this order.
 */
import { KubeObject } from '../kube/object';

/** Argo CD's (gitops-engine) and Helm's kind install order. */
export const KIND_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
] as const;

const RANK = new Map<string, number>(KIND_ORDER.map((k, i) => [k, i]));

/** A kind's rank in {@link KIND_ORDER}; unknown kinds rank after all known ones. */
export function kindRank(kind: string): number {
  return RANK.get(kind) ?? KIND_ORDER.length;
}

/** Comparator: kind rank, then kind name (for unknown kinds), then namespace, then name. */
export function compareByKindAndName(a: KubeObject, b: KubeObject): number {
  return (
    kindRank(a.kind) - kindRank(b.kind) ||
    a.kind.localeCompare(b.kind) ||
    (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')
  );
}
