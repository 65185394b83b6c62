/**
 * Fetching an ExternalSecret's values (ESO `getProviderSecretData`): every `dataFrom` entry in order
 * (extract -> getSecretMap, find -> getAllSecrets, sourceRef.generatorRef -> a new generated value; then
 * `rewrite`, or `conversionStrategy` for an extract without rewrite; keys checked; values decoded),
 * then every `data` entry (getSecret, decoded),
 * which win over dataFrom keys of the same name.
 *
 * A remote key that does not exist (`NoSecretError`) fails the fetch under deletionPolicy Retain, so
 * the Secret is kept as it is; under Delete and Merge it is left out (ESO's behaviour), and the caller
 * applies the policy to what is left.
 */
import type { ExternalSecretDataFromRemoteRef, ExternalSecretFind } from '../../generated/externalsecret';
import {
  convertKeys,
  decodeMap,
  decodeValue,
  isNoSecretError,
  type FindRef,
  type RemoteRef,
} from '../providers';
import type { StoreClients } from './clients';
import { MSG_GET_SECRET_DATA } from './constants';
import { asSyncError, SyncError } from './errors';
import { deletionPolicyOf, missingKeyFails } from './policies';
import { entryStore, storeKey } from './refs';
import { invalidSecretKeys, rewriteKeys } from './rewrite';
import type { ExternalSecretObject } from './types';

/** What a fetch produced. */
export interface FetchResult {
  /** data - Secret key -> decoded value. */
  data: Record<string, Buffer>;
  /** missing - the remote keys that do not exist (left out under deletionPolicy Delete or Merge), as `field "key"`. */
  missing: string[];
}

function storeKeyOf(
  es: ExternalSecretObject,
  sourceRef: { storeRef?: unknown } | undefined,
  at: string,
): string {
  const ref = entryStore(es, sourceRef as Parameters<typeof entryStore>[1]);
  if (!ref) throw new SyncError(MSG_GET_SECRET_DATA, `${at} names no store`);
  return storeKey(ref, es.metadata.namespace);
}

function findRef(find: ExternalSecretFind): FindRef {
  return {
    name: find.name?.regexp !== undefined ? { regexp: find.name.regexp } : undefined,
    path: find.path,
    tags: find.tags,
    conversionStrategy: find.conversionStrategy,
    decodingStrategy: find.decodingStrategy,
  };
}

function checkKeys(values: Record<string, Buffer>, at: string): void {
  const bad = invalidSecretKeys(Object.keys(values));
  if (bad.length) {
    const list = bad
      .slice(0, 5)
      .map((k) => `"${k}"`)
      .join(', ');
    throw new SyncError(
      MSG_GET_SECRET_DATA,
      `${at} produced invalid secret keys ${list} (use rewrite or conversionStrategy to change keys)`,
    );
  }
}

async function fetchDataFrom(
  clients: StoreClients,
  es: ExternalSecretObject,
  ref: ExternalSecretDataFromRemoteRef,
  at: string,
): Promise<Record<string, Buffer>> {
  const generatorRef = ref.sourceRef?.generatorRef;
  if (generatorRef) {
    // ESO: the generator's output, rewritten when asked; values are used as generated (no decoding)
    const values = rewriteKeys(ref.rewrite, await clients.generate(generatorRef), `${at}.rewrite`);
    checkKeys(values, at);
    return values;
  }
  const key = storeKeyOf(es, ref.sourceRef, at);
  if (ref.extract) {
    const extract = ref.extract;
    let values = await clients.read(key, 'map', extract, (c) => c.getSecretMap(extract as RemoteRef));
    values = ref.rewrite?.length
      ? rewriteKeys(ref.rewrite, values, `${at}.rewrite`)
      : convertKeys(values, extract.conversionStrategy);
    checkKeys(values, at);
    return checkNullBytes(
      decodeMap(values, extract.decodingStrategy),
      extract.nullBytePolicy,
      `${at}.extract`,
    );
  }
  if (ref.find) {
    const find = ref.find;
    let values = await clients.read(key, 'find', find, (c) => c.getAllSecrets(findRef(find)));
    values = rewriteKeys(ref.rewrite, values, `${at}.rewrite`);
    checkKeys(values, at);
    return checkNullBytes(decodeMap(values, find.decodingStrategy), find.nullBytePolicy, `${at}.find`);
  }
  throw new SyncError(MSG_GET_SECRET_DATA, `${at}: set extract, find or sourceRef.generatorRef`);
}

/**
 * ESO's `nullBytePolicy`: `Fail` refuses a fetched (decoded) value holding a NUL byte, naming the
 * key; `Ignore` (the default) keeps it.
 * @throws SyncError (terminal for this refresh) naming the field and key, never the value.
 */
function checkNullBytes(
  values: Record<string, Buffer>,
  policy: string | undefined,
  at: string,
): Record<string, Buffer> {
  if (policy !== 'Fail') return values;
  for (const [k, v] of Object.entries(values))
    if (v.includes(0))
      throw new SyncError(
        MSG_GET_SECRET_DATA,
        `${at}: the value of key "${k}" holds NUL bytes (nullBytePolicy Fail)`,
      );
  return values;
}

/** Names the remote key of a dataFrom entry for messages. */
function describeDataFrom(ref: ExternalSecretDataFromRemoteRef, at: string): string {
  if (ref.extract) return `${at}.extract (key "${ref.extract.key}")`;
  const gen = ref.sourceRef?.generatorRef;
  if (gen) return `${at}.sourceRef.generatorRef (${gen.kind} "${gen.name}")`;
  if (ref.find?.name?.regexp !== undefined) return `${at}.find (name "${ref.find.name.regexp}")`;
  return `${at}.find`;
}

/**
 * Fetches and decodes the ExternalSecret's values.
 * @throws SyncError naming the entry and key (retryable for provider outages and vanished keys).
 */
export async function fetchSecretData(clients: StoreClients, es: ExternalSecretObject): Promise<FetchResult> {
  const failOnMissing = missingKeyFails(deletionPolicyOf(es));
  const data: Record<string, Buffer> = {};
  const missing: string[] = [];
  const attempt = async (what: string, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (err) {
      if (isNoSecretError(err) && !failOnMissing) missing.push(what);
      else throw asSyncError(err, MSG_GET_SECRET_DATA, what);
    }
  };
  for (const [i, ref] of (es.spec.dataFrom ?? []).entries()) {
    const at = `spec.dataFrom[${i}]`;
    await attempt(describeDataFrom(ref, at), async () => {
      Object.assign(data, await fetchDataFrom(clients, es, ref, at));
    });
  }
  for (const [i, d] of (es.spec.data ?? []).entries()) {
    const at = `spec.data[${i}]`;
    const key = storeKeyOf(es, d.sourceRef, at);
    await attempt(`${at} (secretKey "${d.secretKey}", key "${d.remoteRef.key}")`, async () => {
      const value = await clients.read(key, 'get', d.remoteRef, (c) => c.getSecret(d.remoteRef as RemoteRef));
      const decoded = decodeValue(value, d.remoteRef.decodingStrategy, d.secretKey);
      Object.assign(data, checkNullBytes({ [d.secretKey]: decoded }, d.remoteRef.nullBytePolicy, at));
    });
  }
  return { data, missing };
}
