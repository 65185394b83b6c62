/**
 * The target Secret as capstan applies it (pure): data, labels and annotations from the template, the
 * labels and annotations that say capstan manages it, the data hash, and, for creationPolicy Owner,
 * the controller ownerReference that lets the garbage collector delete it with the ExternalSecret.
 *
 * ```yaml
 * apiVersion: v1
 * kind: Secret
 * metadata:
 *   labels:
 *     reconcile.external-secrets.io/managed: "true"          # ESO's; capstan's Secret informer selects on it
 *     reconcile.external-secrets.io/created-by: <hash>        # Owner only (ESO's)
 *   annotations:
 *     reconcile.external-secrets.io/data-hash: <sha256>        # a hand edit changes the data, not the hash
 *     capstan.dev/external-secret: <ExternalSecret name>       # Owner and Orphan: created by capstan for it
 *   ownerReferences: [{ kind: ExternalSecret, controller: true, blockOwnerDeletion: true, ... }]  # Owner
 * ```
 *
 * With Merge the apply holds only this ExternalSecret's keys, under its own field manager, so several
 * ExternalSecrets can merge into one Secret and server-side apply removes exactly the keys each one
 * stopped sending.
 */
import type { RenderedSecret } from '../templates';
import {
  ANNOTATION_DATA_HASH,
  ANNOTATION_EXTERNAL_SECRET,
  ES_API_VERSION,
  LABEL_MANAGED,
  LABEL_MANAGED_VALUE,
  LABEL_OWNER,
  SECRET_FIELD_MANAGER,
} from './constants';
import { dataHash, objectHash, ownerLabelValue } from './hash';
import type { CreationPolicy, ExternalSecretObject, SecretObject } from './types';

/** Longest field manager name the API server accepts. */
const MAX_FIELD_MANAGER = 128;

/**
 * The field manager of an ExternalSecret's writes: `capstan` for Secrets it owns (Owner, Orphan),
 * `capstan-es-<name>` (hashed when long) for Merge, so merging ExternalSecrets do not remove each other's keys.
 */
export function fieldManagerFor(es: ExternalSecretObject, policy: CreationPolicy): string {
  if (policy !== 'Merge') return SECRET_FIELD_MANAGER;
  const name = `${SECRET_FIELD_MANAGER}-es-${es.metadata.name}`;
  return name.length <= MAX_FIELD_MANAGER
    ? name
    : `${SECRET_FIELD_MANAGER}-es-${objectHash(es.metadata.name)}`;
}

/**
 * The keys under `path` (e.g. `['f:data']`) that `manager` owns through server-side apply, from managedFields.
 */
export function managedKeys(secret: SecretObject | undefined, manager: string, path: string[]): string[] {
  const keys = new Set<string>();
  for (const entry of (secret?.metadata.managedFields ?? []) as Array<Record<string, unknown>>) {
    if (entry.manager !== manager || entry.operation !== 'Apply') continue;
    let node = entry.fieldsV1 as Record<string, unknown> | undefined;
    for (const p of path) node = node?.[p] as Record<string, unknown> | undefined;
    for (const k of Object.keys(node ?? {})) if (k.startsWith('f:')) keys.add(k.slice(2));
  }
  return [...keys].sort();
}

/** The controller ownerReference to the ExternalSecret (creationPolicy Owner). */
export function ownerReference(es: ExternalSecretObject): Record<string, unknown> {
  return {
    apiVersion: ES_API_VERSION,
    kind: 'ExternalSecret',
    name: es.metadata.name,
    uid: es.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function encode(data: Record<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(data).sort()) out[k] = data[k].toString('base64');
  return out;
}

/**
 * The data the Secret will hold after a Merge apply: the existing data without the keys this manager
 * applied before, plus this apply's keys.
 */
export function mergedData(
  existing: SecretObject | undefined,
  ours: Record<string, string>,
  previouslyOurs: string[],
): Record<string, string> {
  const out: Record<string, string> = { ...(existing?.data ?? {}) };
  for (const k of previouslyOurs) delete out[k];
  return { ...out, ...ours };
}

/** What {@link desiredSecret} needs. */
export interface DesiredSecretInput {
  /** es - the ExternalSecret. */
  es: ExternalSecretObject;
  /** rendered - the template's output (or the fetched keys). */
  rendered: RenderedSecret;
  /** policy - Owner, Orphan or Merge. */
  policy: Exclude<CreationPolicy, 'None'>;
  /** existing - the live Secret (required for Merge, to compute the hash of the merged data). */
  existing?: SecretObject;
}

/** Labels and annotations of the applied Secret: the template's plus capstan's (see the module comment). */
function metadataOf(
  es: ExternalSecretObject,
  rendered: RenderedSecret,
  policy: Exclude<CreationPolicy, 'None'>,
  hash: string,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = { ...rendered.labels, [LABEL_MANAGED]: LABEL_MANAGED_VALUE };
  if (policy === 'Owner') labels[LABEL_OWNER] = ownerLabelValue(es.metadata.namespace, es.metadata.name);
  const annotations: Record<string, string> = { ...rendered.annotations, [ANNOTATION_DATA_HASH]: hash };
  if (policy !== 'Merge') annotations[ANNOTATION_EXTERNAL_SECRET] = es.metadata.name;
  return { labels, annotations };
}

/** Type and immutability: only for a Secret capstan owns (Merge leaves them to the Secret's owner). */
function withOwnedFields(
  secret: SecretObject,
  es: ExternalSecretObject,
  rendered: RenderedSecret,
): SecretObject {
  if (rendered.type) secret.type = rendered.type;
  if (es.spec.target?.immutable) secret.immutable = true;
  return secret;
}

/** The Secret to server-side apply (see the module comment). */
export function desiredSecret({ es, rendered, policy, existing }: DesiredSecretInput): SecretObject {
  const data = encode(rendered.data);
  const owned = policy !== 'Merge';
  const manager = fieldManagerFor(es, policy);
  const full = owned ? data : mergedData(existing, data, managedKeys(existing, manager, ['f:data']));
  const finalizers = owned ? (es.spec.target?.template?.metadata?.finalizers ?? []) : [];
  const secret: SecretObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: existing?.metadata.name ?? targetNameOf(es),
      namespace: es.metadata.namespace,
      ...metadataOf(es, rendered, policy, dataHash(full)),
      ...(policy === 'Owner' ? { ownerReferences: [ownerReference(es)] } : {}),
      ...(finalizers.length ? { finalizers } : {}),
    },
    data,
  };
  return owned ? withOwnedFields(secret, es, rendered) : secret;
}

function targetNameOf(es: ExternalSecretObject): string {
  return es.spec.target?.name || es.metadata.name;
}

function subset(want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
}

function ownerRefsUpToDate(existing: SecretObject, desired: SecretObject, es: ExternalSecretObject): boolean {
  const ours = (existing.metadata.ownerReferences ?? []).filter((r) => r.uid === es.metadata.uid);
  if (desired.metadata.ownerReferences?.length) return ours.some((r) => r.controller === true);
  return ours.length === 0;
}

/** True when the live data already is what the apply would leave: every wanted key and no stale one. */
function dataUpToDate(
  existing: SecretObject,
  desired: SecretObject,
  policy: CreationPolicy,
  manager: string,
): boolean {
  const have = existing.data ?? {};
  const want = desired.data ?? {};
  if (!subset(want, have)) return false;
  if (policy !== 'Merge') return Object.keys(have).every((k) => k in want);
  return managedKeys(existing, manager, ['f:data']).every((k) => k in want);
}

/** Labels or annotations this manager applied before that the new apply no longer holds. */
function staleMetadata(existing: SecretObject, desired: SecretObject, manager: string): boolean {
  const labels = managedKeys(existing, manager, ['f:metadata', 'f:labels']);
  const annotations = managedKeys(existing, manager, ['f:metadata', 'f:annotations']);
  return (
    labels.some((k) => !(k in (desired.metadata.labels ?? {}))) ||
    annotations.some((k) => !(k in (desired.metadata.annotations ?? {})))
  );
}

/**
 * True when applying `desired` would change nothing, so the write is skipped (a refresh whose values
 * did not change costs no write and no Secret event).
 */
export function secretUpToDate(
  existing: SecretObject,
  desired: SecretObject,
  es: ExternalSecretObject,
  policy: CreationPolicy,
): boolean {
  const manager = fieldManagerFor(es, policy);
  return (
    dataUpToDate(existing, desired, policy, manager) &&
    subset(desired.metadata.labels, existing.metadata.labels) &&
    subset(desired.metadata.annotations, existing.metadata.annotations) &&
    !staleMetadata(existing, desired, manager) &&
    ownerRefsUpToDate(existing, desired, es) &&
    (desired.type === undefined || desired.type === (existing.type ?? 'Opaque')) &&
    (!desired.immutable || existing.immutable === true) &&
    (desired.metadata.finalizers ?? []).every((f) => existing.metadata.finalizers?.includes(f))
  );
}

/** Keys of an owned Secret (Owner, Orphan) that are not in the desired data: added by hand, to remove. */
export function extraKeys(existing: SecretObject, desired: SecretObject): string[] {
  return Object.keys(existing.data ?? {})
    .filter((k) => !(k in (desired.data ?? {})))
    .sort();
}

/** True when the Secret is immutable and the apply would change its data or type (the API server refuses it). */
export function immutableConflict(
  existing: SecretObject,
  desired: SecretObject,
  es: ExternalSecretObject,
  policy: CreationPolicy,
): boolean {
  if (!existing.immutable) return false;
  if (!dataUpToDate(existing, desired, policy, fieldManagerFor(es, policy))) return true;
  return desired.type !== undefined && desired.type !== (existing.type ?? 'Opaque');
}
