/**
 * A resource an Application manages, as the sync engine sees it: the desired object (rendered, with
 * tracking), the live one, and their comparison. Made by the Application operator's comparison
 * (application/compare.ts) and consumed by the sync engine (plan, waves, apply, prune), so it lives
 * here, below both (as gitops-engine's `ResourceSyncStatus` and reconciliation result).
 */
import type { ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';

/** Argo CD's per-resource sync status. */
export type ResourceSyncStatus = 'Synced' | 'OutOfSync' | 'Unknown';

/** One managed resource: desired and/or live. */
export interface ManagedResource {
  group: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
  /** Resource type; undefined while the kind is not served (its CRD may come in the same sync). */
  rt?: ResourceType;
  /** Desired object with tracking; undefined for a prune candidate. */
  target?: KubeObject;
  /** Live object; undefined when missing. */
  live?: KubeObject;
  status: ResourceSyncStatus;
  /** Tracked by the app but no longer in git. */
  requiresPruning?: boolean;
  /** Why the resource is OutOfSync or Unknown. */
  message?: string;
  /**
   * Why the app's project refuses this object (Argo CD's message, e.g. `resource
   * rbac.authorization.k8s.io:ClusterRole is not permitted in project team-a`). Such an object is never
   * read, dry-run, applied or pruned; its status is Unknown and a sync that includes it fails before it
   * writes anything.
   */
  denied?: string;
}
