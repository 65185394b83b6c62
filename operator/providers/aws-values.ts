/**
 * The pure parts of the `aws` provider, as ESO's `providers/v1/aws/secretsmanager` and
 * `parameterstore` compute them: which version a `remoteRef.version` names, how `property` reads a JSON
 * value, how `extract` splits one, how tags become JSON and which listed secrets a `find` keeps.
 */
import { goJson, jsonGet, jsonRawMembers } from './json';

/** The Secrets Manager version selector of a `remoteRef.version` (ESO `fetch`). */
export type SecretsManagerVersion = { VersionStage: string } | { VersionId: string };

/**
 * ESO: `uuid/<id>` selects a version id; anything else is a staging label; unset is `AWSCURRENT`.
 * @param version - `remoteRef.version`, e.g. `AWSPREVIOUS` or `uuid/5f1c...`.
 */
export function secretsManagerVersion(version: string | undefined): SecretsManagerVersion {
  const v = version || 'AWSCURRENT';
  return v.startsWith('uuid/') ? { VersionId: v.slice('uuid/'.length) } : { VersionStage: v };
}

/**
 * The Parameter Store name of a key (ESO `parameterNameWithVersion`): the store's prefix, the key, and
 * `:<version>` when a version (a number or a label) is asked for.
 */
export function parameterName(prefix: string | undefined, key: string, version: string | undefined): string {
  const name = (prefix ?? '') + key;
  return version ? `${name}:${version}` : name;
}

/**
 * Reads `property` from a JSON payload as ESO's AWS providers do: when the property contains dots it
 * is first tried as one literal key (`tls.crt` in `{"tls.crt": ...}`), then as a gjson dotted path
 * (`db.password` in `{"db": {"password": ...}}`).
 * @returns gjson's `String()` of the value, or undefined when absent or the payload is not JSON.
 */
export function awsProperty(payload: string, property: string): string | undefined {
  if (property.includes('.')) {
    const literal = jsonGet(payload, property.replace(/\./g, '\\.'));
    if (literal !== undefined) return literal;
  }
  return jsonGet(payload, property);
}

/**
 * ESO `GetSecretMap`: a JSON object's members, strings as their text, `null` empty, others as raw JSON.
 * @returns undefined when the value is not a JSON object.
 */
export function extractMap(value: string): Record<string, Buffer> | undefined {
  const members = jsonRawMembers(value);
  if (!members) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, raw] of members) {
    out[k] = Buffer.from(raw[0] === '"' ? (JSON.parse(raw) as string) : raw === 'null' ? '' : raw);
  }
  return out;
}

/**
 * Tags as the JSON object ESO returns for `metadataPolicy: Fetch` (Go's `json.Marshal` of a
 * `map[string]string`: keys sorted).
 */
export function tagsJson(tags: Array<{ Key?: string; Value?: string }> | undefined): string {
  const m: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) m[t.Key] = t.Value ?? '';
  return goJson(m);
}

/**
 * True when a listed secret carries every `find.tags` pair. AWS's `tag-key`/`tag-value` filters match
 * keys and values independently (a secret with `a=2,b=1` passes `a=1`); capstan also checks the pairs.
 */
export function hasTags(
  tags: Array<{ Key?: string; Value?: string }> | undefined,
  want: Record<string, string> | undefined,
): boolean {
  if (!want) return true;
  return Object.entries(want).every(([k, v]) => (tags ?? []).some((t) => t.Key === k && t.Value === v));
}
