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
 */
import { convertKeys } from './decoding';
import { compileFindRegexp } from './find';
import { jsonGet, jsonRawMembers } from './json';
import { isObject } from './storerefs';
import type {
  FindRef,
  Provider,
  ProviderContext,
  RemoteRef,
  SecretsClient,
  StoreIdentity,
  ValidationResult,
} from './types';
import { InvalidStoreError, NoSecretError, ProviderError } from './types';

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

/** A client over a fixed list of entries; exported for tests and for other providers' tests. */
export class FakeSecretsClient implements SecretsClient {
  /**
   * @param config - the store's `spec.provider.fake` (validated).
   * @param storeName - for messages.
   */
  constructor(
    private readonly config: FakeProviderConfig,
    private readonly storeName = 'fake',
  ) {}

  private get data(): FakeProviderData[] {
    return this.config.data ?? [];
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

/** The `fake` provider (ESO `providers/v1/fake`), read-only in capstan. */
export const fakeProvider: Provider = {
  name: 'fake',
  capabilities: 'ReadOnly',
  validateStore(config: unknown, _store?: StoreIdentity): string[] {
    return validateFakeStore(config);
  },
  async newClient(ctx: ProviderContext): Promise<SecretsClient> {
    const config = (ctx.store.spec as { provider?: { fake?: unknown } } | undefined)?.provider?.fake;
    const problems = validateFakeStore(config);
    if (problems.length) throw new InvalidStoreError(problems);
    return new FakeSecretsClient(config as FakeProviderConfig, ctx.store.name);
  },
};
