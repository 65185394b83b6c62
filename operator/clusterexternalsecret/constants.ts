/**
 * The vocabulary of the ClusterExternalSecret operator (ESO's `clusterexternalsecret` controller):
 * API coordinates, the condition, and messages (names only, never values).
 */
import { ES_API_VERSION } from '../externalsecret/constants';

/** `apiVersion` of ClusterExternalSecret (and of the ExternalSecrets it makes). */
export const CES_API_VERSION = ES_API_VERSION;
/** Kind. */
export const CES_KIND = 'ClusterExternalSecret';
/** Plural (cluster-scoped). */
export const CES_PLURAL = 'clusterexternalsecrets';
/** ESO's annotation copied from the ClusterExternalSecret to its ExternalSecrets to force a refresh. */
export const ANNOTATION_FORCE_SYNC = 'external-secrets.io/force-sync';
/** Requeue interval when `spec.refreshTime` is unset (ESO's default `1m`). */
export const DEFAULT_REFRESH_MS = 60_000;
/** The condition type (ESO `ClusterExternalSecretReady`). */
export const CONDITION_READY = 'Ready';

/** Ready False: some namespace failed (ESO's `errNamespacesFailed`). */
export const MSG_NAMESPACES_FAILED = 'one or more namespaces failed';
/** Ready False: the spec is invalid; nothing is created, changed or removed. */
export const MSG_INVALID_SPEC = 'invalid spec';
/** Reason of a namespace whose ExternalSecret of that name belongs to someone else (ESO's). */
export const MSG_ALREADY_EXISTS = 'external secret already exists in namespace';
/** Prefix of a namespace failure from the API server. */
export const MSG_APPLY_FAILED = 'could not create or update ExternalSecret';
/** Prefix of a namespace failure while removing. */
export const MSG_DELETE_FAILED = 'external secret in non matching namespace could not be deleted';
