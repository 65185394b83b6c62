/**
 * Hashes written on and compared against target Secrets and ExternalSecrets: the data hash of ESO's
 * `reconcile.external-secrets.io/data-hash` (a hand edit of the data changes it), the owner label value
 * and the metadata part of `syncedResourceVersion`. SHA-256 over a canonical JSON form (sorted keys),
 * so the same content always gives the same hash; values never leave this function in clear.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal content serialises equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** SHA-256 hex of the canonical JSON of `value`. */
export function objectHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * The data hash of a Secret (the value of `reconcile.external-secrets.io/data-hash`).
 * @param data - the Secret's `data` as the API serves it (base64 values); unset counts as empty.
 */
export function dataHash(data: Record<string, string> | undefined): string {
  return objectHash(data ?? {});
}

/** The value of ESO's owner label for the ExternalSecret `namespace/name` (63 characters, a label value). */
export function ownerLabelValue(namespace: string, name: string): string {
  return objectHash(`${namespace}/${name}`).slice(0, 63);
}

/** A short hash of labels and annotations, for `status.syncedResourceVersion`. */
export function metadataHash(labels?: Record<string, string>, annotations?: Record<string, string>): string {
  return objectHash({ labels: labels ?? {}, annotations: annotations ?? {} }).slice(0, 16);
}
