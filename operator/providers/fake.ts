/**
 * The `fake` provider: static secrets listed in the store spec, as ESO's `providers/v1/fake`. Docs,
 * unit tests and e2e suites use it because it needs nothing outside the cluster.
 *
 * ```yaml
 * spec:
 *   provider:
 *     fake:
 *       data:
 *         - key: /db/credentials
 *           value: '{"username":"app","password":"s3cret"}'
 *         - key: /db/credentials
 *           version: v1
 *           value: '{"username":"app","password":"old"}'
 * ```
 *
 * Semantics (ESO's): `key` and `version` must match exactly; an unset `version` matches only the entry
 * without a version. `property` is a gjson dotted path into a JSON value. `extract` (getSecretMap)
 * parses the value as a JSON object: string members become their text, other members their raw JSON.
 * `find` supports `name.regexp` only and returns, per key, the entry with the greatest version string.
 * `validationResult` (0/`Ready`, 1/`Unknown`, 2/`Error`) lets tests simulate a failing store.
 *
 * Writes (PushSecret), as ESO's: pushed values live in the operator's memory, per store, next to the
 * spec's entries (a restart forgets them); pushing to a key the spec lists is refused ("key already
 * exists"). capstan does better than ESO in two places: the memory is keyed by store kind, namespace
 * and name (ESO's by name only, so two SecretStores named alike share it), and `deleteSecret` removes
 * the pushed key (ESO's is a no-op), so `deletionPolicy: Delete` can be observed. `property` writes one
 * member of a JSON object value (ESO ignores it).
 */
import { convertKeys } from './decoding';
import { compileFindRegexp } from './find';
import { goJson, jsonGet, jsonRawMembers } from './json';
import { isObject } from './storerefs';
import type {
  FindRef,
  Provider,
  ProviderContext,
  PushRemoteRef,
  PushSecretData,
  PushSourceSecret,
  RemoteRef,
  SecretsClient,
  StoreIdentity,
  ValidationResult,
} from './types';
import { InvalidStoreError, NoSecretError, ProviderError, pushValue } from './types';

/** One entry of `spec.provider.fake.data`. */
export interface FakeProviderData {
  /** key - the remote key. */
  key: string;
  /** value - the secret value (often a JSON document). */
  value: string;
  /** version - optional version label. */
  version?: string;
}

/** `spec.provider.fake`. */
export interface FakeProviderConfig {
  /** data - the secrets the store serves. */
  data: FakeProviderData[];
  /** validationResult - what `validate()` reports: 0/`Ready` (default), 1/`Unknown`, 2/`Error`. */
  validationResult?: number | 'Ready' | 'Unknown' | 'Error';
}

const VALIDATION: Record<string, ValidationResult['result']> = {
  '0': 'Ready',
  '1': 'Unknown',
  '2': 'Error',
  Ready: 'Ready',
  Unknown: 'Unknown',
  Error: 'Error',
};

function validateData(data: unknown): string[] {
  if (!Array.isArray(data)) return ['data must be a list of {key, value, version}'];
  const problems: string[] = [];
  data.forEach((d: unknown, i) => {
    if (!isObject(d)) return problems.push(`data[${i}] must be an object`);
    if (typeof d.key !== 'string' || d.key === '') problems.push(`data[${i}].key must be set`);
    if (typeof d.value !== 'string' || d.value === '') problems.push(`data[${i}].value must be set`);
    if (d.version !== undefined && typeof d.version !== 'string')
      problems.push(`data[${i}].version must be a string`);
  });
  return problems;
}

/** Checks `spec.provider.fake` as ESO's `ValidateStore` (key and value set in every entry). */
function validateFakeStore(config: unknown): string[] {
  if (!isObject(config)) return ['spec.provider.fake must be an object'];
  const problems = validateData(config.data ?? []);
  if (config.validationResult !== undefined && !(String(config.validationResult) in VALIDATION)) {
    problems.push('validationResult must be 0 (Ready), 1 (Unknown) or 2 (Error)');
  }
  return problems.map((p) => (p.startsWith('spec.') ? p : `spec.provider.fake.${p}`));
}

/**
 * The values PushSecrets wrote, per store (`kind/namespace/name`), remote key -> value; the operator's
 * memory, as ESO's fake provider's `database`.
 */
const pushed = new Map<string, Map<string, string>>();

/** The memory key of a store. */
function storeKey(store: StoreIdentity): string {
  return `${store.kind}/${store.namespace ?? ''}/${store.name}`;
}

/** Forgets every pushed value (tests). */
export function resetFakePushed(): void {
  pushed.clear();
}

/** A client over a fixed list of entries; exported for tests and for other providers' tests. */
export class FakeSecretsClient implements SecretsClient {
  /**
   * @param config - the store's `spec.provider.fake` (validated).
   * @param storeName - for messages.
   * @param written - the store's pushed values (remote key -> value); a private map when unset.
   */
  constructor(
    private readonly config: FakeProviderConfig,
    private readonly storeName = 'fake',
    private readonly written: Map<string, string> = new Map(),
  ) {}

  /** The spec's entries, then the pushed ones (no version), as ESO's database. */
  private get data(): FakeProviderData[] {
    const fromSpec = this.config.data ?? [];
    const listed = new Set(fromSpec.filter((d) => !d.version).map((d) => d.key));
    const extra: FakeProviderData[] = [];
    for (const [key, value] of this.written) if (!listed.has(key)) extra.push({ key, value });
    return [...fromSpec, ...extra];
  }

  /**
   * ESO `PushSecret`: stores the value under `remoteKey` (the whole Secret as JSON without `secretKey`);
   * with `property`, one member of a JSON object. @throws ProviderError when the spec lists the key.
   */
  async pushSecret(secret: PushSourceSecret, data: PushSecretData): Promise<void> {
    if ((this.config.data ?? []).some((d) => d.key === data.remoteKey && !d.version)) {
      throw new ProviderError(
        `key "${data.remoteKey}" already exists in the spec of store "${this.storeName}"`,
      );
    }
    const value = pushValue(secret, data).toString('utf8');
    if (!data.property) {
      this.written.set(data.remoteKey, value);
      return;
    }
    const obj: Record<string, unknown> = {};
    for (const [k, raw] of jsonRawMembers(this.written.get(data.remoteKey) ?? '{}') ?? [])
      obj[k] = JSON.parse(raw);
    obj[data.property] = value;
    this.written.set(data.remoteKey, goJson(obj, { html: false }));
  }

  /** Removes a pushed key (or one member with `property`); absent keys are fine. Spec entries stay. */
  async deleteSecret(ref: PushRemoteRef): Promise<void> {
    const current = this.written.get(ref.remoteKey);
    if (current === undefined) return;
    if (!ref.property) {
      this.written.delete(ref.remoteKey);
      return;
    }
    const members = jsonRawMembers(current)?.filter(([k]) => k !== ref.property) ?? [];
    if (!members.length) {
      this.written.delete(ref.remoteKey);
      return;
    }
    const obj: Record<string, unknown> = {};
    for (const [k, raw] of members) obj[k] = JSON.parse(raw);
    this.written.set(ref.remoteKey, goJson(obj, { html: false }));
  }

  /** ESO `SecretExists`: the key (spec or pushed), or with `property`, that member of its JSON value. */
  async secretExists(ref: PushRemoteRef): Promise<boolean> {
    const entry = this.data.find((d) => d.key === ref.remoteKey && !d.version);
    if (!entry) return false;
    if (!ref.property) return true;
    return jsonGet(entry.value, ref.property) !== undefined;
  }

  /** The entry with exactly this key and version (the last one wins, as ESO's map). */
  private entry(ref: RemoteRef): FakeProviderData {
    const version = ref.version ?? '';
    let hit: FakeProviderData | undefined;
    for (const d of this.data) if (d.key === ref.key && (d.version ?? '') === version) hit = d;
    if (!hit) {
      const v = ref.version ? ` version "${ref.version}"` : '';
      throw new NoSecretError(`key "${ref.key}"${v} not found in store "${this.storeName}"`);
    }
    return hit;
  }

  /** ESO: exact key+version; `property` is a gjson path into the JSON value. @throws NoSecretError */
  async getSecret(ref: RemoteRef): Promise<Buffer> {
    const { value } = this.entry(ref);
    if (!ref.property) return Buffer.from(value);
    const found = jsonGet(value, ref.property);
    if (found === undefined) {
      throw new NoSecretError(
        `property "${ref.property}" not found in key "${ref.key}" of store "${this.storeName}"`,
      );
    }
    return Buffer.from(found);
  }

  /**
   * ESO: the (property-selected) value parsed as a JSON object; string members become their text,
   * others their raw JSON text, `null` the empty string.
   * @throws NoSecretError when absent; ProviderError (non-retryable) when the value is not a JSON object.
   */
  async getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>> {
    const value = (await this.getSecret(ref)).toString('utf8');
    const members = jsonRawMembers(value);
    if (!members) {
      throw new ProviderError(
        `key "${ref.key}" of store "${this.storeName}" is not a JSON object, so it cannot be extracted`,
      );
    }
    const out: Record<string, Buffer> = {};
    for (const [k, raw] of members) {
      // a repeated key: the last one wins, as Go's json.Unmarshal into a map
      out[k] = Buffer.from(raw[0] === '"' ? (JSON.parse(raw) as string) : raw === 'null' ? '' : raw);
    }
    return out;
  }

  /**
   * ESO: `name.regexp` only; per matching key the entry with the greatest version (string order).
   * @throws ProviderError (non-retryable) for other find operators or an invalid regexp.
   */
  async getAllSecrets(find: FindRef): Promise<Record<string, Buffer>> {
    if (!find.name) {
      throw new ProviderError(`store "${this.storeName}": the fake provider supports find.name only`);
    }
    const matches = compileFindRegexp(find.name.regexp);
    const latest = new Map<string, FakeProviderData>();
    for (const d of this.data) {
      if (!matches(d.key)) continue;
      const prev = latest.get(d.key);
      if (!prev || (prev.version ?? '') < (d.version ?? '')) latest.set(d.key, d);
    }
    const out: Record<string, Buffer> = {};
    for (const [k, d] of latest) out[k] = Buffer.from(d.value);
    return convertKeys(out, find.conversionStrategy);
  }

  /** Ready unless the spec's `validationResult` says otherwise. */
  async validate(): Promise<ValidationResult> {
    const result = VALIDATION[String(this.config.validationResult ?? 0)] ?? 'Ready';
    return result === 'Ready'
      ? { result }
      : { result, message: 'unable to validate (spec.provider.fake.validationResult)' };
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}

/** The `fake` provider (ESO `providers/v1/fake`): reads the spec's entries, writes to memory. */
export const fakeProvider: Provider = {
  name: 'fake',
  capabilities: 'ReadWrite',
  validateStore(config: unknown, _store?: StoreIdentity): string[] {
    return validateFakeStore(config);
  },
  async newClient(ctx: ProviderContext): Promise<SecretsClient> {
    const config = (ctx.store.spec as { provider?: { fake?: unknown } } | undefined)?.provider?.fake;
    const problems = validateFakeStore(config);
    if (problems.length) throw new InvalidStoreError(problems);
    const key = storeKey(ctx.store);
    let written = pushed.get(key);
    if (!written) pushed.set(key, (written = new Map()));
    return new FakeSecretsClient(config as FakeProviderConfig, ctx.store.name, written);
  },
};
