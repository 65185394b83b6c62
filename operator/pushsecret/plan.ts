/**
 * The pure part of a PushSecret reconcile, as ESO's controller: the keys of `status.syncedPushSecrets`,
 * the source keys after `conversionStrategy`, and one decision per store and entry.
 *
 * `syncedPushSecrets` maps `Kind/name` of a store to `remoteKey[/property]` to the data entry pushed
 * there (ESO's `statusRef`); comparing it with today's entries tells which remote values were removed
 * from `spec.data` (deleted under `deletionPolicy: Delete`).
 */
import type { PushSecret, PushSecretData } from '../../generated/pushsecret';

/** `status.syncedPushSecrets`. */
export type SyncedPushSecrets = Record<string, Record<string, PushSecretData>>;

/** The single decision type of this operator: what to do with one entry at one store. */
export type PushDecision =
  | { action: 'push'; store: string; entry: PushSecretData }
  | { action: 'delete'; store: string; entry: PushSecretData };

/** ESO's `statusRef`: `remoteKey`, or `remoteKey/property`. */
export function statusRef(entry: PushSecretData): string {
  const { remoteKey, property } = entry.match.remoteRef;
  return property ? `${remoteKey}/${property}` : remoteKey;
}

/** ESO's store key in `syncedPushSecrets`: `Kind/name`. */
export function storeStatusKey(kind: string | undefined, name: string): string {
  return `${kind ?? 'SecretStore'}/${name}`;
}

/**
 * `conversionStrategy: ReverseUnicode` (ESO `ReverseKeys`): `_UXXXX_` in a source key becomes the
 * character U+XXXX (the inverse of an ExternalSecret's `Unicode` conversion); `None` keeps keys.
 */
export function reverseKeys(
  strategy: string | undefined,
  data: Record<string, Buffer>,
): Record<string, Buffer> {
  if (strategy !== 'ReverseUnicode') return data;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(data)) {
    out[k.replace(/_U([0-9a-fA-F]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))] = v;
  }
  return out;
}

/**
 * The decisions of one reconcile for the stores that could be used: every entry is pushed to every
 * store; an entry pushed before (in `previous`) and gone from `spec.data` is deleted when
 * `deletionPolicy` is Delete. Stores that could not be used are left out by the caller, so a failure
 * never deletes anything there.
 * @param stores - the usable stores' status keys.
 */
export function decide(ps: PushSecret, stores: string[], previous: SyncedPushSecrets): PushDecision[] {
  const entries = ps.spec.data ?? [];
  const decisions: PushDecision[] = [];
  const wanted = new Set(entries.map(statusRef));
  for (const store of stores) {
    for (const entry of entries) decisions.push({ action: 'push', store, entry });
    if (ps.spec.deletionPolicy !== 'Delete') continue;
    for (const [ref, entry] of Object.entries(previous[store] ?? {})) {
      if (!wanted.has(ref)) decisions.push({ action: 'delete', store, entry });
    }
  }
  return decisions;
}

/**
 * The remote values to delete when the PushSecret goes (`deletionPolicy: Delete`): every entry of
 * `syncedPushSecrets`, per store.
 */
export function deletionsOnRemoval(previous: SyncedPushSecrets): PushDecision[] {
  return Object.entries(previous).flatMap(([store, entries]) =>
    Object.values(entries).map((entry) => ({ action: 'delete' as const, store, entry })),
  );
}
