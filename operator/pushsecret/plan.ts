/**
 * The pure part of a PushSecret reconcile, as ESO's controller: the keys of `status.syncedPushSecrets`,
 * the source keys after `conversionStrategy`, and one decision per store and entry.
 *
 * `syncedPushSecrets` maps `Kind/name` of a store to `remoteKey[/property]` to the data entry pushed
 * there (ESO's `statusRef`); comparing it with today's entries tells which remote values were removed
 * from `spec.data` (deleted under `deletionPolicy: Delete`).
 */
import { RE2JS } from 're2js';
import type { PushSecret, PushSecretData, PushSecretDataTo } from '../../generated/pushsecret';
import { SyncError } from '../externalsecret/errors';
import { rewriteKeys } from '../externalsecret/rewrite';

/** `status.syncedPushSecrets`. */
export type SyncedPushSecrets = Record<string, Record<string, PushSecretData>>;

/**
 * One entry planned for a store: a `data` entry, or one expanded from `dataTo`; `keys` limits the
 * source to those keys (a `dataTo` bundle pushed under one `remoteKey`).
 */
export interface PlannedEntry {
  entry: PushSecretData;
  keys?: string[];
}

/** The single decision type of this operator: what to do with one entry at one store. */
export type PushDecision =
  | { action: 'push'; store: string; entry: PushSecretData; keys?: string[] }
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
 * The decisions of one reconcile for one store that could be used: every planned entry is pushed;
 * an entry pushed before (in `previous`) and no longer planned is deleted when `deletionPolicy` is
 * Delete. Stores that could not be used get no decisions, so a failure never deletes anything there.
 */
export function decide(
  ps: PushSecret,
  store: string,
  planned: PlannedEntry[],
  previous: SyncedPushSecrets,
): PushDecision[] {
  const decisions: PushDecision[] = planned.map((p) => ({
    action: 'push',
    store,
    entry: p.entry,
    keys: p.keys,
  }));
  if (ps.spec.deletionPolicy !== 'Delete') return decisions;
  const wanted = new Set(planned.map((p) => statusRef(p.entry)));
  for (const [ref, entry] of Object.entries(previous[store] ?? {})) {
    if (!wanted.has(ref)) decisions.push({ action: 'delete', store, entry });
  }
  return decisions;
}

/**
 * Expands one `dataTo` entry over the source's keys (ESO's PushSecret dataTo): the keys matching
 * `match.regexp` (RE2, anywhere in the key; all when unset); with `remoteKey` one bundle of them,
 * otherwise one entry per key, named by `rewrite` (regexp / transform, as dataFrom's).
 * @throws SyncError (terminal) for an invalid regexp or rewrite, or two keys rewritten to one name.
 */
export function expandDataTo(dataTo: PushSecretDataTo, keys: string[], at: string): PlannedEntry[] {
  let matched = [...keys].sort();
  if (dataTo.match?.regexp) {
    let re: RE2JS;
    try {
      re = RE2JS.compile(dataTo.match.regexp);
    } catch {
      throw new SyncError('invalid spec', `${at}.match.regexp is not a valid RE2 expression`);
    }
    matched = matched.filter((k) => re.matcher(k).find());
  }
  const extra = { metadata: dataTo.metadata, conversionStrategy: dataTo.conversionStrategy };
  if (dataTo.remoteKey) {
    return matched.length
      ? [{ entry: { match: { remoteRef: { remoteKey: dataTo.remoteKey } }, ...extra }, keys: matched }]
      : [];
  }
  let names: Record<string, string>;
  try {
    names = rewriteKeys(dataTo.rewrite, Object.fromEntries(matched.map((k) => [k, k])), `${at}.rewrite`);
  } catch (err) {
    throw new SyncError('invalid spec', (err as Error).message);
  }
  return Object.entries(names)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([remoteKey, secretKey]) => ({
      entry: { match: { secretKey, remoteRef: { remoteKey } }, ...extra },
    }));
}

/**
 * The stores of `syncedPushSecrets` whose values are all to be deleted (ESO `DeleteSecretFromProviders`
 * with `deletionPolicy: Delete`): every store when the PushSecret is being deleted (`current`
 * undefined), else those no longer among `current` (the `Kind/name` keys planned this time: the store
 * left `secretStoreRefs` or a `labelSelector` no longer matches it). None under `deletionPolicy: None`.
 */
export function storesToClear(
  ps: PushSecret,
  previous: SyncedPushSecrets,
  current?: readonly string[],
): string[] {
  if (ps.spec.deletionPolicy !== 'Delete') return [];
  return Object.keys(previous).filter((store) => !current?.includes(store));
}
