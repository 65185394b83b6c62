/**
 * The vocabulary of the ExternalSecret family, in one place as ESO keeps it at the top of its
 * controllers: API coordinates, the labels and annotations written on target Secrets, condition types
 * and reasons, condition and event messages. Messages name keys, stores and objects, never values.
 */

/** The API group of ExternalSecret, SecretStore and ClusterSecretStore. */
export const ES_GROUP = 'external-secrets.io';
/** The served version. */
export const ES_VERSION = 'v1';
/** `apiVersion` of the family. */
export const ES_API_VERSION = `${ES_GROUP}/${ES_VERSION}`;

/** The kinds of the family. */
export const Kind = {
  ExternalSecret: 'ExternalSecret',
  SecretStore: 'SecretStore',
  ClusterSecretStore: 'ClusterSecretStore',
} as const;

/** ESO's label on every Secret an ExternalSecret writes; capstan's Secret informer selects on it. */
export const LABEL_MANAGED = 'reconcile.external-secrets.io/managed';
/** The value of {@link LABEL_MANAGED}. */
export const LABEL_MANAGED_VALUE = 'true';
/** The label selector of the managed Secrets' informer. */
export const MANAGED_SECRET_SELECTOR = `${LABEL_MANAGED}=${LABEL_MANAGED_VALUE}`;
/** ESO's label on Secrets created with creationPolicy Owner: a hash of `namespace/name` of the ExternalSecret. */
export const LABEL_OWNER = 'reconcile.external-secrets.io/created-by';
/** ESO's annotation holding the hash of the data written, so a hand edit is detected. */
export const ANNOTATION_DATA_HASH = 'reconcile.external-secrets.io/data-hash';
/**
 * capstan's own annotation on Secrets it created (creationPolicy Owner or Orphan): the name of the
 * ExternalSecret that writes it. A Secret without it (or naming another ExternalSecret) is never taken over.
 */
export const ANNOTATION_EXTERNAL_SECRET = 'capstan.dev/external-secret';

/** Field manager of the Secrets capstan creates (Owner, Orphan): the same as every capstan apply. */
export const SECRET_FIELD_MANAGER = 'capstan';

/** The condition type both ExternalSecrets and stores report. */
export const CONDITION_READY = 'Ready';

/** ExternalSecret `Ready` reasons (ESO's). */
export const EsReason = {
  SecretSynced: 'SecretSynced',
  SecretSyncedError: 'SecretSyncedError',
  SecretDeleted: 'SecretDeleted',
} as const;

/** Store `Ready` reasons (ESO's). */
export const StoreReason = {
  Valid: 'Valid',
  InvalidProviderConfig: 'InvalidProviderConfig',
  ValidationFailed: 'ValidationFailed',
} as const;

/** Event reasons (ESO's). */
export const EventReason = {
  Created: 'Created',
  Updated: 'Updated',
  Deleted: 'Deleted',
  UpdateFailed: 'UpdateFailed',
  Valid: 'Valid',
  InvalidProviderConfig: 'InvalidProviderConfig',
  ValidationFailed: 'ValidationFailed',
} as const;

// ---- ExternalSecret condition messages (ESO's wording, capstan adds the detail after a colon) ----

/** Ready/SecretSynced. */
export const MSG_SYNCED = 'secret synced';
/** Ready/SecretSynced when nothing was fetched and deletionPolicy is Retain. */
export const MSG_SYNCED_RETAIN = 'secret retained due to DeletionPolicy=Retain';
/** Ready/SecretSynced with creationPolicy None. */
export const MSG_SYNCED_NONE = 'secret not written due to CreationPolicy=None';
/** Ready/SecretDeleted. */
export const MSG_DELETED = 'secret deleted due to DeletionPolicy=Delete';
/** The spec breaks a rule (schema or ESO's webhook rules). */
export const MSG_INVALID_SPEC = 'invalid ExternalSecret spec';
/** A store is missing, not ready, not allowed or misconfigured. */
export const MSG_STORE = 'could not use secret store';
/** Fetching from a provider failed. */
export const MSG_GET_SECRET_DATA = 'could not get secret data from provider';
/** A template failed. */
export const MSG_APPLY_TEMPLATE = 'could not apply template';
/** `templateFrom` sources could not be read. */
export const MSG_FETCH_TEMPLATE_FROM = 'error fetching templateFrom data';
/** Writing the Secret failed. */
export const MSG_UPDATE_SECRET = 'could not update secret';
/** Deleting the Secret failed or was refused. */
export const MSG_DELETE_SECRET = 'could not delete secret';
/** Secrets of an earlier target name could not be deleted. */
export const MSG_DELETE_ORPHANED = 'could not delete orphaned secrets';
/** The target is immutable and the data changed. */
export const MSG_UPDATE_IMMUTABLE = 'could not update secret, target is immutable';
/** Another ExternalSecret owns the target. */
export const MSG_IS_OWNED = 'target is owned by another ExternalSecret';
/** The target exists and was not created by this ExternalSecret (Owner, Orphan). */
export const MSG_NOT_OURS = 'target secret exists and was not created by this ExternalSecret';
/** creationPolicy Merge and the target does not exist. */
export const MSG_MERGE_MISSING = 'secret will not be created due to CreationPolicy=Merge';

// ---- store condition messages ----

/** Ready/Valid. */
export const MSG_STORE_VALID = 'store validated';
/** Ready/InvalidProviderConfig. */
export const MSG_STORE_INVALID = 'invalid store configuration';
/** Ready/ValidationFailed when no client could be made. */
export const MSG_STORE_CLIENT = 'could not get provider client';
/** Ready/ValidationFailed when the provider refused the store. */
export const MSG_STORE_VALIDATION = 'could not validate provider';

// ---- event messages ----

/** Event Created. */
export const EVENT_CREATED = 'secret created';
/** Event Updated. */
export const EVENT_UPDATED = 'secret updated';
/** Event Deleted. */
export const EVENT_DELETED = 'secret deleted due to DeletionPolicy=Delete';
/** Event Deleted, for a Secret of an earlier target name. */
export const EVENT_DELETED_ORPHANED = 'secret deleted because it was orphaned';
