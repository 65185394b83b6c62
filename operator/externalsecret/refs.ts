/**
 * What an ExternalSecret refers to, and the reverse index the operator keeps from watch events: which
 * ExternalSecrets write a given Secret (so a hand edit or deletion of the Secret re-queues them,
 * whatever the creation policy) and which use a given store (so a store that becomes ready re-queues
 * them at once). Keys: `ExternalSecret/<ns>/<name>`, stores `SecretStore/<ns>/<name>` and
 * `ClusterSecretStore//<name>`, Secrets `<ns>/<name>`.
 */
import type { ExternalSecret, SecretStoreRef } from '../../generated/externalsecret';
import type { StoreKind } from './types';

/** A store named by an ExternalSecret. */
export interface StoreRef {
  /** kind - SecretStore (same namespace) or ClusterSecretStore. */
  kind: StoreKind;
  /** name - the store's name. */
  name: string;
}

/** The queue key of an ExternalSecret. */
export function externalSecretKey(namespace: string, name: string): string {
  return `ExternalSecret/${namespace}/${name}`;
}

/** The key of a store as seen from an ExternalSecret in `namespace`. */
export function storeKey(ref: StoreRef, namespace: string): string {
  return ref.kind === 'ClusterSecretStore'
    ? `ClusterSecretStore//${ref.name}`
    : `SecretStore/${namespace}/${ref.name}`;
}

/** The target Secret's name: `spec.target.name`, else the ExternalSecret's name. */
export function targetName(es: ExternalSecret): string {
  return es.spec.target?.name || (es.metadata.name ?? '');
}

function toRef(ref: SecretStoreRef | undefined): StoreRef | undefined {
  if (!ref?.name) return undefined;
  return { kind: ref.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore', name: ref.name };
}

/**
 * The store an entry reads from: its own `sourceRef.storeRef`, else `spec.secretStoreRef`.
 * @returns undefined when neither names a store (the spec check reports that).
 */
export function entryStore(
  es: ExternalSecret,
  sourceRef: { storeRef?: SecretStoreRef } | undefined,
): StoreRef | undefined {
  return toRef(sourceRef?.storeRef) ?? toRef(es.spec.secretStoreRef);
}

/** Every store the ExternalSecret reads from, de-duplicated, in first-use order. */
export function storeRefsOf(es: ExternalSecret): StoreRef[] {
  const refs: StoreRef[] = [];
  const add = (r: StoreRef | undefined): void => {
    if (r && !refs.some((x) => x.kind === r.kind && x.name === r.name)) refs.push(r);
  };
  for (const d of es.spec.data ?? []) add(entryStore(es, d.sourceRef));
  // a generator entry reads no store
  for (const d of es.spec.dataFrom ?? []) if (!d.sourceRef?.generatorRef) add(entryStore(es, d.sourceRef));
  if (!refs.length) add(toRef(es.spec.secretStoreRef));
  return refs;
}

interface Entry {
  secret: string;
  stores: string[];
}

/** The reverse index (target Secret -> ExternalSecrets, store -> ExternalSecrets), fed by watch events. */
export class ReferenceIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly bySecret = new Map<string, Set<string>>();
  private readonly byStoreKey = new Map<string, Set<string>>();

  /** Records (or replaces) what the ExternalSecret refers to. */
  set(es: ExternalSecret): void {
    const ns = es.metadata.namespace ?? '';
    const key = externalSecretKey(ns, es.metadata.name ?? '');
    this.delete(key);
    const entry: Entry = {
      secret: `${ns}/${targetName(es)}`,
      stores: storeRefsOf(es).map((r) => storeKey(r, ns)),
    };
    this.entries.set(key, entry);
    add(this.bySecret, entry.secret, key);
    for (const s of entry.stores) add(this.byStoreKey, s, key);
  }

  /** Forgets an ExternalSecret. */
  delete(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    remove(this.bySecret, old.secret, key);
    for (const s of old.stores) remove(this.byStoreKey, s, key);
  }

  /** ExternalSecret keys that write the Secret `namespace/name`. */
  writersOf(namespace: string, name: string): string[] {
    return [...(this.bySecret.get(`${namespace}/${name}`) ?? [])];
  }

  /** ExternalSecret keys that read from the store key. */
  usersOf(store: string): string[] {
    return [...(this.byStoreKey.get(store) ?? [])];
  }

  /** Number of ExternalSecrets indexed. */
  get size(): number {
    return this.entries.size;
  }
}

function add(map: Map<string, Set<string>>, k: string, v: string): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(v);
}

function remove(map: Map<string, Set<string>>, k: string, v: string): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(v);
  if (!set.size) map.delete(k);
}
