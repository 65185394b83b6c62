/**
 * The target policies of an ExternalSecret as pure decisions (ESO `creationPolicy`, `deletionPolicy`,
 * ownership and `isSecretValid`):
 *
 * - creationPolicy `Owner` (default): capstan creates the Secret with a controller ownerReference to
 *   the ExternalSecret, so the garbage collector deletes it with the ExternalSecret; `Orphan`: the same
 *   without the ownerReference (the Secret outlives the ExternalSecret); `Merge`: only adds and updates
 *   this ExternalSecret's keys in an existing Secret, which it never creates; `None`: writes nothing.
 * - deletionPolicy `Retain` (default): a remote key that disappeared, or a provider outage, leaves the
 *   Secret as it is and reports the error; `Delete`: when every remote key is gone the Secret is
 *   deleted (Owner only); `Merge`: vanished keys are removed, the Secret stays.
 * - A Secret controlled by another ExternalSecret is never written; with Owner or Orphan a Secret that
 *   capstan did not create for this ExternalSecret is never taken over (ESO would adopt it).
 */
import {
  ANNOTATION_DATA_HASH,
  ANNOTATION_EXTERNAL_SECRET,
  ES_GROUP,
  LABEL_MANAGED,
  LABEL_MANAGED_VALUE,
  MSG_IS_OWNED,
  MSG_NOT_OURS,
} from './constants';
import { dataHash } from './hash';
import type { CreationPolicy, DeletionPolicy, ExternalSecretObject, SecretObject } from './types';

/** `spec.target.creationPolicy`, default Owner. */
export function creationPolicyOf(es: ExternalSecretObject): CreationPolicy {
  return es.spec.target?.creationPolicy ?? 'Owner';
}

/** `spec.target.deletionPolicy`, default Retain. */
export function deletionPolicyOf(es: ExternalSecretObject): DeletionPolicy {
  return es.spec.target?.deletionPolicy ?? 'Retain';
}

/** The controller ownerReference of an object, if any. */
export function controllerOf(secret: SecretObject): Record<string, unknown> | undefined {
  return secret.metadata.ownerReferences?.find((r) => r.controller === true);
}

function isExternalSecretRef(ref: Record<string, unknown> | undefined): boolean {
  return !!ref && ref.kind === 'ExternalSecret' && String(ref.apiVersion ?? '').split('/')[0] === ES_GROUP;
}

/** True when the Secret was created by capstan for this ExternalSecret (its controller ref or capstan's annotation). */
export function createdFor(secret: SecretObject, es: ExternalSecretObject): boolean {
  const ctrl = controllerOf(secret);
  if (isExternalSecretRef(ctrl) && ctrl?.uid === es.metadata.uid) return true;
  return secret.metadata.annotations?.[ANNOTATION_EXTERNAL_SECRET] === es.metadata.name;
}

/**
 * Why the ExternalSecret must not write `secret`, or undefined when it may.
 * @param secret - the existing target Secret; undefined when there is none.
 * @param policy - the creation policy (None never writes, so never conflicts).
 */
export function ownershipProblem(
  secret: SecretObject | undefined,
  es: ExternalSecretObject,
  policy: CreationPolicy,
): string | undefined {
  if (!secret || policy === 'None') return undefined;
  const ctrl = controllerOf(secret);
  if (isExternalSecretRef(ctrl) && ctrl?.name !== es.metadata.name) {
    return `${MSG_IS_OWNED}: Secret "${secret.metadata.name}" is controlled by ExternalSecret "${String(ctrl?.name)}"`;
  }
  if (policy === 'Merge' || createdFor(secret, es)) return undefined;
  return (
    `${MSG_NOT_OURS}: Secret "${secret.metadata.name}" already exists and capstan does not take it over ` +
    `with creationPolicy=${policy}; delete it, or use creationPolicy=Merge to write into it`
  );
}

/**
 * ESO's `isSecretValid`: the target exists, carries the managed label and its data still matches
 * the data hash written with it. A false answer makes the ExternalSecret fetch and write again,
 * which is how a hand edit or deletion is reverted.
 * @param secret - the live target (undefined: missing).
 * @param policy - None has no target to check.
 */
export function secretInSync(secret: SecretObject | undefined, policy: CreationPolicy): boolean {
  if (policy === 'None') return true;
  if (!secret) return false;
  if (secret.metadata.labels?.[LABEL_MANAGED] !== LABEL_MANAGED_VALUE) return false;
  return secret.metadata.annotations?.[ANNOTATION_DATA_HASH] === dataHash(secret.data);
}

/** True when a remote key that does not exist fails the sync (deletionPolicy Retain) instead of being left out. */
export function missingKeyFails(deletion: DeletionPolicy): boolean {
  return deletion === 'Retain';
}

/** What to do when nothing at all was fetched (ESO's `len(dataMap) == 0` switch). */
export type EmptyDataAction =
  { action: 'retain' } | { action: 'delete' } | { action: 'write' } | { action: 'refuse'; message: string };

/**
 * The deletion policy applied to an empty fetch: Retain keeps the Secret, Delete removes it (only
 * when capstan owns it: creationPolicy Owner), Merge writes the empty key set (removing this
 * ExternalSecret's keys).
 */
export function emptyDataAction(deletion: DeletionPolicy, creation: CreationPolicy): EmptyDataAction {
  switch (deletion) {
    case 'Delete':
      return creation === 'Owner'
        ? { action: 'delete' }
        : {
            action: 'refuse',
            message: `creationPolicy=${creation} is not Owner, so the Secret is not deleted`,
          };
    case 'Merge':
      return { action: 'write' };
    default:
      return { action: 'retain' };
  }
}
