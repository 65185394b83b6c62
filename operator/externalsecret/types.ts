/**
 * The object shapes the ExternalSecret operators work with: the generated API types with the fields
 * the API server always sets made required, and the core/v1 Secret as read and applied.
 */
import type { ClusterSecretStore } from '../../generated/clustersecretstore';
import type { ExternalSecret } from '../../generated/externalsecret';
import type { SecretStore } from '../../generated/secretstore';
import type { ObjectMeta } from '../kube/object';

/** An ExternalSecret read from the API server (name, namespace and uid set). */
export type ExternalSecretObject = ExternalSecret & {
  metadata: ExternalSecret['metadata'] & { name: string; namespace: string; uid: string };
};

/** The two store kinds. */
export type StoreKind = 'SecretStore' | 'ClusterSecretStore';

/** A SecretStore or ClusterSecretStore read from the API server (name set). */
export type StoreObject = (SecretStore | ClusterSecretStore) & {
  metadata: { name: string; namespace?: string; generation?: number };
};

/** A core/v1 Secret as read or applied (`data` values are base64). */
export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta & { name: string; namespace: string };
  type?: string;
  immutable?: boolean;
  data?: Record<string, string>;
}

/** The creation policy of a target (ESO `creationPolicy`, default Owner). */
export type CreationPolicy = 'Owner' | 'Orphan' | 'Merge' | 'None';
/** The deletion policy of a target (ESO `deletionPolicy`, default Retain). */
export type DeletionPolicy = 'Retain' | 'Delete' | 'Merge';
