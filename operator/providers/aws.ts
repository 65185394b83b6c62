/**
 * The `aws` provider: AWS Secrets Manager and Systems Manager Parameter Store, as ESO's
 * `providers/v1/aws`, with the AWS SDK for JavaScript v3.
 *
 * ```yaml
 * spec:
 *   provider:
 *     aws:
 *       service: SecretsManager          # or ParameterStore
 *       region: eu-central-1
 *       role: arn:aws:iam::123456789012:role/team-a-reader   # optional, assumed through STS
 *       auth:
 *         secretRef:
 *           accessKeyIDSecretRef: { name: awssm-secret, key: access-key }
 *           secretAccessKeySecretRef: { name: awssm-secret, key: secret-access-key }
 * ```
 *
 * Mapping (ESO's):
 * - Secrets Manager: `remoteRef.key` is a secret name or ARN (after `prefix`); `version` is a staging
 *   label (default `AWSCURRENT`) or `uuid/<version id>`; the value is `SecretString`, else
 *   `SecretBinary`. Parameter Store: `key` is a parameter name, `version` a number or label appended as
 *   `name:version`; SecureStrings are decrypted.
 * - `property` reads the JSON value (see `awsProperty`); a missing property is an error, not "no
 *   secret", so that `deletionPolicy` never removes data because of a typo (ESO does the same).
 * - `metadataPolicy: Fetch` reads the secret's tags as a JSON object (with `property`: one tag).
 * - `dataFrom.extract` splits the (property-selected) JSON object into keys.
 * - `find`: Secrets Manager lists secrets with `path` as a name prefix filter, `tags` as tag filters
 *   (pairs checked again here) and `name.regexp`; Parameter Store uses `GetParametersByPath` (recursive)
 *   for `path`, `DescribeParameters` with `tag:` filters for `tags`, and `name.regexp` on the names.
 *   capstan applies every criterion given, where ESO picks one. Keys are the remote names after
 *   `conversionStrategy` (`/app/db` becomes `_app_db`).
 * - `validate` resolves the credentials (and the role chain) and calls STS `GetCallerIdentity`, so
 *   wrong keys make the store not Ready; a ClusterSecretStore whose references have no namespace
 *   (referent) is `Unknown`, as ESO.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  paginateListSecrets,
  SecretsManagerClient,
  type Filter,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import {
  GetParameterCommand,
  ListTagsForResourceCommand,
  paginateDescribeParameters,
  paginateGetParametersByPath,
  SSMClient,
  type ParameterStringFilter,
} from '@aws-sdk/client-ssm';
import {
  assertAwsStore,
  awsClientConfig,
  awsError,
  checkCallerIdentity,
  isAwsReferent,
  validateAwsStore,
  type AwsClientConfig,
  type AwsProviderConfig,
} from './aws-auth';
import { ParameterStoreWriter, SecretsManagerWriter } from './aws-push';
import {
  awsProperty,
  extractMap,
  hasTags,
  parameterName,
  secretsManagerVersion,
  tagsJson,
} from './aws-values';
import { convertKeys } from './decoding';
import { compileFindRegexp } from './find';
import type {
  FindRef,
  Provider,
  PushRemoteRef,
  PushSecretData,
  PushSourceSecret,
  ProviderContext,
  RemoteRef,
  SecretsClient,
  StoreIdentity,
  ValidationResult,
} from './types';
import { NoSecretError, ProviderError, pushValue } from './types';

export type { AwsProviderConfig } from './aws-auth';

/** Error codes meaning "this key or version does not exist" (ESO maps them to `NoSecretErr`). */
const NOT_FOUND = new Set(['ResourceNotFoundException', 'ParameterNotFound', 'ParameterVersionNotFound']);

/** True when an SDK error says the key (or version) does not exist. */
function isNotFound(err: unknown): boolean {
  return NOT_FOUND.has((err as { name?: string })?.name ?? '');
}

/** What both services share: the store, its config and the property/extract logic. */
abstract class AwsSecretsClient implements SecretsClient {
  constructor(
    protected readonly config: AwsProviderConfig,
    protected readonly clientConfig: AwsClientConfig,
    protected readonly storeName: string,
    private readonly referent: boolean,
  ) {}

  /** The remote value of `ref.key` (no property), or the tags JSON for `metadataPolicy: Fetch`. */
  protected abstract fetch(ref: RemoteRef): Promise<Buffer>;

  /** The key with the store's prefix. */
  protected name(key: string): string {
    return (this.config.prefix ?? '') + key;
  }

  /** `reading key "k" (version v) of store "s"`, for messages. */
  protected what(ref: RemoteRef): string {
    const v = ref.version ? ` version "${ref.version}"` : '';
    return `reading key "${ref.key}"${v} of store "${this.storeName}"`;
  }

  /** Maps SDK errors: not found -> NoSecretError, others -> ProviderError naming key and store. */
  protected fail(err: unknown, ref: RemoteRef): never {
    if (isNotFound(err)) {
      const v = ref.version ? ` version "${ref.version}"` : '';
      throw new NoSecretError(`key "${ref.key}"${v} not found in store "${this.storeName}"`);
    }
    throw awsError(err, this.what(ref));
  }

  /** ESO `GetSecret`. @throws NoSecretError when the key/version is absent; ProviderError otherwise. */
  async getSecret(ref: RemoteRef): Promise<Buffer> {
    const value = await this.fetch(ref);
    if (!ref.property) return value;
    const found = awsProperty(value.toString('utf8'), ref.property);
    if (found === undefined) {
      const where = ref.metadataPolicy === 'Fetch' ? 'the tags of ' : '';
      throw new ProviderError(
        `property "${ref.property}" does not exist in ${where}key "${ref.key}" of store "${this.storeName}"`,
      );
    }
    return Buffer.from(found);
  }

  /** ESO `GetSecretMap`. @throws ProviderError when the value is not a JSON object. */
  async getSecretMap(ref: RemoteRef): Promise<Record<string, Buffer>> {
    const map = extractMap((await this.getSecret(ref)).toString('utf8'));
    if (!map) {
      throw new ProviderError(
        `key "${ref.key}" of store "${this.storeName}" is not a JSON object, so it cannot be extracted`,
      );
    }
    return map;
  }

  abstract getAllSecrets(find: FindRef): Promise<Record<string, Buffer>>;

  /** The service's writer (see `aws-push.ts`). */
  protected abstract get writer(): SecretsManagerWriter | ParameterStoreWriter;

  /**
   * ESO `PushSecret`: creates or updates `prefix + remoteKey` (one JSON member with `property`).
   * @throws NoSecretError when `secretKey` is not in the Secret; ProviderError naming key and store otherwise.
   */
  async pushSecret(secret: PushSourceSecret, data: PushSecretData): Promise<void> {
    const value = pushValue(secret, data);
    try {
      await this.writer.push(this.name(data.remoteKey), data.remoteKey, value, data.property, data.metadata);
    } catch (err) {
      throw awsError(err, `writing key "${data.remoteKey}" of store "${this.storeName}"`);
    }
  }

  /** ESO `DeleteSecret`: removes the property or the secret, only when capstan/ESO created it; idempotent. */
  async deleteSecret(ref: PushRemoteRef): Promise<void> {
    try {
      await this.writer.delete(this.name(ref.remoteKey), ref.property);
    } catch (err) {
      throw awsError(err, `deleting key "${ref.remoteKey}" of store "${this.storeName}"`);
    }
  }

  /** ESO `SecretExists`. @throws ProviderError when AWS cannot tell. */
  async secretExists(ref: PushRemoteRef): Promise<boolean> {
    try {
      return await this.writer.exists(this.name(ref.remoteKey), ref.property);
    } catch (err) {
      throw awsError(err, `checking key "${ref.remoteKey}" of store "${this.storeName}"`);
    }
  }

  /** Ready when STS accepts the credentials; Unknown for referent credentials (ESO). Never throws. */
  async validate(): Promise<ValidationResult> {
    if (this.referent) {
      return { result: 'Unknown', message: 'credentials are read in each ExternalSecret namespace' };
    }
    try {
      await checkCallerIdentity(this.clientConfig, this.storeName);
      return { result: 'Ready' };
    } catch (err) {
      return { result: 'Error', message: (err as Error).message };
    }
  }

  abstract close(): Promise<void>;
}

/** Secrets Manager (ESO `secretsmanager.SecretsManager`). */
export class SecretsManagerSecretsClient extends AwsSecretsClient {
  private readonly sm: SecretsManagerClient;

  constructor(
    config: AwsProviderConfig,
    clientConfig: AwsClientConfig,
    storeName: string,
    referent: boolean,
  ) {
    super(config, clientConfig, storeName, referent);
    this.sm = new SecretsManagerClient(clientConfig);
  }

  protected get writer(): SecretsManagerWriter {
    return new SecretsManagerWriter(this.sm, this.config, this.storeName);
  }

  /** `SecretString`, else `SecretBinary` (ESO). */
  private static payload(out: GetSecretValueCommandOutput): Buffer | undefined {
    if (out.SecretString !== undefined) return Buffer.from(out.SecretString);
    if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary);
    return undefined;
  }

  protected async fetch(ref: RemoteRef): Promise<Buffer> {
    const id = this.name(ref.key);
    try {
      if (ref.metadataPolicy === 'Fetch') {
        const out = await this.sm.send(new DescribeSecretCommand({ SecretId: id }));
        return Buffer.from(tagsJson(out.Tags));
      }
      const out = await this.sm.send(
        new GetSecretValueCommand({ SecretId: id, ...secretsManagerVersion(ref.version) }),
      );
      const value = SecretsManagerSecretsClient.payload(out);
      if (!value) throw new ProviderError(`key "${ref.key}" of store "${this.storeName}" has no value`);
      return value;
    } catch (err) {
      this.fail(err, ref);
    }
  }

  /** ESO `GetAllSecrets`: ListSecrets with name-prefix and tag filters, then each value. */
  /** The names ListSecrets returns for `find` (path as a name prefix, tags as filters), checked again here. */
  private async list(find: FindRef): Promise<string[]> {
    const matches = find.name ? compileFindRegexp(find.name.regexp) : () => true;
    const filters: Filter[] = [];
    if (find.path) filters.push({ Key: 'name', Values: [find.path] });
    for (const [k, v] of Object.entries(find.tags ?? {})) {
      filters.push({ Key: 'tag-key', Values: [k] }, { Key: 'tag-value', Values: [v] });
    }
    const names: string[] = [];
    const input = filters.length ? { Filters: filters } : {};
    for await (const page of paginateListSecrets({ client: this.sm }, input)) {
      for (const s of page.SecretList ?? []) {
        // AWS's name filter is a case-insensitive prefix, its tag filters match keys and values apart
        const prefixed = !find.path || !!s.Name?.startsWith(find.path);
        if (s.Name && prefixed && matches(s.Name) && hasTags(s.Tags, find.tags)) names.push(s.Name);
      }
    }
    return names;
  }

  async getAllSecrets(find: FindRef): Promise<Record<string, Buffer>> {
    if (!find.name && !find.tags && !find.path) {
      throw new ProviderError(`store "${this.storeName}": find needs name, path or tags`);
    }
    let names: string[];
    try {
      names = await this.list(find);
    } catch (err) {
      throw awsError(err, `listing secrets of store "${this.storeName}"`);
    }
    const out: Record<string, Buffer> = {};
    for (const name of names) {
      try {
        const value = SecretsManagerSecretsClient.payload(
          await this.sm.send(new GetSecretValueCommand({ SecretId: name })),
        );
        if (value) out[name] = value;
      } catch (err) {
        if (isNotFound(err)) continue; // deleted between the list and the read
        throw awsError(err, `reading key "${name}" of store "${this.storeName}"`);
      }
    }
    return convertKeys(out, find.conversionStrategy);
  }

  async close(): Promise<void> {
    this.sm.destroy();
  }
}

/** Parameter Store (ESO `parameterstore.ParameterStore`). */
export class ParameterStoreSecretsClient extends AwsSecretsClient {
  private readonly ssm: SSMClient;

  constructor(
    config: AwsProviderConfig,
    clientConfig: AwsClientConfig,
    storeName: string,
    referent: boolean,
  ) {
    super(config, clientConfig, storeName, referent);
    this.ssm = new SSMClient(clientConfig);
  }

  protected get writer(): ParameterStoreWriter {
    return new ParameterStoreWriter(this.ssm, this.storeName);
  }

  protected async fetch(ref: RemoteRef): Promise<Buffer> {
    try {
      if (ref.metadataPolicy === 'Fetch') {
        const out = await this.ssm.send(
          new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: this.name(ref.key) }),
        );
        return Buffer.from(tagsJson(out.TagList));
      }
      const out = await this.ssm.send(
        new GetParameterCommand({
          Name: parameterName(this.config.prefix, ref.key, ref.version),
          WithDecryption: true,
        }),
      );
      const value = out.Parameter?.Value;
      if (value === undefined)
        throw new ProviderError(`key "${ref.key}" of store "${this.storeName}" has no value`);
      return Buffer.from(value);
    } catch (err) {
      // ListTagsForResource reports a missing parameter as InvalidResourceId
      if ((err as { name?: string })?.name === 'InvalidResourceId')
        this.fail({ name: 'ParameterNotFound' }, ref);
      this.fail(err, ref);
    }
  }

  /** Names found by DescribeParameters (tags and path as filters), or undefined when no tags are asked for. */
  private async describe(find: FindRef): Promise<string[]> {
    const filters: ParameterStringFilter[] = [];
    for (const [k, v] of Object.entries(find.tags ?? {})) {
      filters.push({ Key: `tag:${k}`, Option: 'Equals', Values: [v] });
    }
    if (find.path) filters.push({ Key: 'Path', Option: 'Recursive', Values: [find.path] });
    const names: string[] = [];
    for await (const page of paginateDescribeParameters(
      { client: this.ssm },
      { ...(filters.length ? { ParameterFilters: filters } : {}), MaxResults: 50 },
    )) {
      for (const p of page.Parameters ?? []) if (p.Name) names.push(p.Name);
    }
    return names;
  }

  /** Every parameter under `path` (recursive, decrypted) whose name matches. */
  private async byPath(path: string, matches: (name: string) => boolean): Promise<Record<string, Buffer>> {
    const out: Record<string, Buffer> = {};
    const input = { Path: path, Recursive: true, WithDecryption: true };
    for await (const page of paginateGetParametersByPath({ client: this.ssm }, input)) {
      for (const p of page.Parameters ?? []) {
        if (p.Name && p.Value !== undefined && matches(p.Name)) out[p.Name] = Buffer.from(p.Value);
      }
    }
    return out;
  }

  /** The values of `names`, read one by one (a parameter deleted meanwhile is skipped). */
  private async values(names: string[]): Promise<Record<string, Buffer>> {
    const out: Record<string, Buffer> = {};
    for (const name of names) {
      try {
        const res = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
        if (res.Parameter?.Value !== undefined) out[name] = Buffer.from(res.Parameter.Value);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw awsError(err, `reading key "${name}" of store "${this.storeName}"`);
      }
    }
    return out;
  }

  /** ESO `GetAllSecrets`: by path (GetParametersByPath), by tags or by name (DescribeParameters + GetParameter). */
  async getAllSecrets(find: FindRef): Promise<Record<string, Buffer>> {
    if (!find.name && !find.tags && !find.path) {
      throw new ProviderError(`store "${this.storeName}": find needs name, path or tags`);
    }
    const matches = find.name ? compileFindRegexp(find.name.regexp) : () => true;
    let names: string[] = [];
    try {
      if (find.path && !find.tags)
        return convertKeys(await this.byPath(find.path, matches), find.conversionStrategy);
      names = (await this.describe(find)).filter(matches);
    } catch (err) {
      throw awsError(err, `listing parameters of store "${this.storeName}"`);
    }
    return convertKeys(await this.values(names), find.conversionStrategy);
  }

  async close(): Promise<void> {
    this.ssm.destroy();
  }
}

/** The `aws` provider (ESO `providers/v1/aws`). */
export const awsProvider: Provider = {
  name: 'aws',
  capabilities: 'ReadWrite',
  validateStore(config: unknown, store?: StoreIdentity): string[] {
    return validateAwsStore(config, store);
  },
  async newClient(ctx: ProviderContext): Promise<SecretsClient> {
    const config = (ctx.store.spec as { provider?: { aws?: unknown } } | undefined)?.provider?.aws;
    assertAwsStore(config, ctx.store);
    const referent = isAwsReferent(config, ctx.store) && !ctx.namespace;
    // a referent store validated on its own has no namespace to read credentials from: validate says Unknown
    const clientConfig = referent
      ? { region: config.region, requestHandler: { requestTimeout: 1, connectionTimeout: 1 }, maxAttempts: 1 }
      : await awsClientConfig(ctx, config);
    return config.service === 'ParameterStore'
      ? new ParameterStoreSecretsClient(config, clientConfig, ctx.store.name, referent)
      : new SecretsManagerSecretsClient(config, clientConfig, ctx.store.name, referent);
  },
};
