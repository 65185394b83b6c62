/**
 * The vocabulary of the PushSecret operator (ESO's `pushsecret` controller): API coordinates, the
 * finalizer, the condition's reasons and messages (names only, never values).
 */

/** API group of PushSecret. */
export const PS_GROUP = 'external-secrets.io';
/** Served version (ESO's PushSecret is v1alpha1). */
export const PS_VERSION = 'v1alpha1';
/** Kind. */
export const PS_KIND = 'PushSecret';
/** Plural. */
export const PS_PLURAL = 'pushsecrets';
/** ESO's finalizer, set while `deletionPolicy: Delete` so the pushed values go with the PushSecret. */
export const PS_FINALIZER = 'pushsecret.externalsecrets.io/finalizer';
/** Requeue interval when `spec.refreshInterval` is unset (ESO's default `1h`). */
export const DEFAULT_REFRESH_MS = 3_600_000;
/** The condition type. */
export const CONDITION_READY = 'Ready';

/** Ready reasons (ESO's). */
export const PsReason = { Synced: 'Synced', Errored: 'Errored' } as const;

/** Ready True (ESO's). */
export const MSG_SYNCED = 'PushSecret synced successfully';
/** Ready True with `updatePolicy: IfNotExists` (ESO's). */
export const MSG_SYNCED_IF_NOT_EXISTS = `${MSG_SYNCED}. Existing secrets in providers unchanged.`;
/** Ready False: the spec is invalid; nothing is pushed or deleted. */
export const MSG_INVALID_SPEC = 'invalid spec';
/** Ready False: the source Secret or generator could not be read. */
export const MSG_SOURCE = 'could not get source secret';
/** Ready False: a store could not be used. */
export const MSG_STORE = 'could not get secret store';
/** Ready False: a value could not be pushed (ESO's "set secret failed"). */
export const MSG_PUSH = 'set secret failed';
/** Ready False: a removed value could not be deleted from the provider. */
export const MSG_DELETE = 'could not delete secrets';
/** Ready False: the template could not be rendered. */
export const MSG_TEMPLATE = 'could not apply template';
