/**
 * Writing to AWS for PushSecret, as ESO's `providers/v1/aws` `PushSecret`/`DeleteSecret`/`SecretExists`:
 *
 * - A remote secret capstan creates carries the tag `managed-by: external-secrets` (ESO's, so that
 *   secrets pushed by ESO and by capstan are interchangeable); an existing secret without that tag is
 *   never overwritten (an error) nor deleted (skipped).
 * - `property` sets one member (a dotted path) of the remote JSON object and keeps the others; without
 *   it the value replaces the whole secret. An unchanged value writes nothing (no new version).
 * - Secrets Manager stores `SecretBinary` unless `metadata.spec.secretPushFormat: string` (ESO's default);
 *   `metadata.spec.description`, `kmsKeyID` and `tags` apply when the secret is created. Deletion uses
 *   the store's `secretsManager.forceDeleteWithoutRecovery` / `recoveryWindowInDays`.
 * - Parameter Store writes `metadata.spec.parameterStoreType` (default `String`), `parameterStoreKeyID`,
 *   `tier` and `tags` (tags on creation).
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  type ParameterTier,
  type ParameterType,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { AwsProviderConfig } from './aws-auth';
import { awsProperty } from './aws-values';
import { goJson, jsonRawMembers, splitJsonPath } from './json';
import { isObject } from './storerefs';
import { ProviderError } from './types';

/** The tag ESO (and capstan) put on the secrets it creates. */
export const MANAGED_TAG = { Key: 'managed-by', Value: 'external-secrets' };

type Tags = Array<{ Key?: string; Value?: string }> | undefined;

/** True when the tags say ESO or capstan created the secret. */
export function isManaged(tags: Tags): boolean {
  return (tags ?? []).some((t) => t.Key === MANAGED_TAG.Key && t.Value === MANAGED_TAG.Value);
}

/** `spec.data[].metadata.spec` of a PushSecret (ESO's `PushSecretMetadata`), when it is an object. */
function metadataSpec(metadata: unknown): Record<string, unknown> {
  return isObject(metadata) && isObject(metadata.spec) ? metadata.spec : {};
}

/** The creation tags: the metadata's `tags` map plus the managed-by tag. */
function creationTags(spec: Record<string, unknown>): Array<{ Key: string; Value: string }> {
  const extra = isObject(spec.tags)
    ? Object.entries(spec.tags).map(([Key, v]) => ({ Key, Value: String(v) }))
    : [];
  return [...extra.filter((t) => t.Key !== MANAGED_TAG.Key), MANAGED_TAG];
}

/** Decoded members of a JSON object text (`{}` for an empty or non-object value). */
function members(current: string): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const [k, raw] of jsonRawMembers(current) ?? []) obj[k] = JSON.parse(raw);
  return obj;
}

/**
 * Sets `property` (a dotted path; `\.` is a literal dot) in a JSON object text to a string, as ESO's
 * `sjson.SetBytes`: missing objects on the way are created; the result is compact with sorted keys.
 */
export function setProperty(current: string, property: string, value: string): string {
  const root = members(current);
  const path = splitJsonPath(property);
  let node = root;
  for (const segment of path.slice(0, -1)) {
    if (!isObject(node[segment])) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return goJson(root, { html: false });
}

/**
 * Removes `property` (a top-level member, as ESO's `sjson.Delete` of a plain key) from a JSON object
 * text; undefined when nothing is left.
 */
export function removeProperty(current: string, property: string): string | undefined {
  const obj = members(current);
  delete obj[property];
  return Object.keys(obj).length ? goJson(obj, { html: false }) : undefined;
}

const notFound = (err: unknown, ...codes: string[]) => codes.includes((err as { name?: string })?.name ?? '');

/** Writes through Secrets Manager; `name` includes the store's prefix. */
export class SecretsManagerWriter {
  constructor(
    private readonly sm: SecretsManagerClient,
    private readonly config: AwsProviderConfig,
    private readonly storeName: string,
  ) {}

  /** The secret's tags and whether it is scheduled for deletion, or undefined when it does not exist. */
  private async describe(name: string): Promise<{ tags: Tags; deleted: boolean } | undefined> {
    try {
      const out = await this.sm.send(new DescribeSecretCommand({ SecretId: name }));
      return { tags: out.Tags, deleted: out.DeletedDate !== undefined };
    } catch (err) {
      if (notFound(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }

  /** The current value (string or binary as text), or undefined when there is none. */
  private async current(name: string): Promise<Buffer | undefined> {
    try {
      const out = await this.sm.send(new GetSecretValueCommand({ SecretId: name }));
      if (out.SecretString !== undefined) return Buffer.from(out.SecretString);
      return out.SecretBinary ? Buffer.from(out.SecretBinary) : undefined;
    } catch (err) {
      if (notFound(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }

  /** ESO `PushSecret` for Secrets Manager. @throws ProviderError when the secret is not managed by ESO/capstan. */
  async push(
    name: string,
    remoteKey: string,
    value: Buffer,
    property: string | undefined,
    metadata: unknown,
  ) {
    const spec = metadataSpec(metadata);
    const asString = spec.secretPushFormat === 'string';
    const existing = await this.describe(name);
    if (existing && !isManaged(existing.tags)) {
      throw new ProviderError(
        `key "${remoteKey}" of store "${this.storeName}" exists and is not managed by external-secrets (tag managed-by)`,
      );
    }
    // a secret in its recovery window is restored first, as ESO does (AWS refuses writes to it)
    if (existing?.deleted) await this.sm.send(new RestoreSecretCommand({ SecretId: name }));
    const before = existing ? await this.current(name) : undefined;
    const next = property
      ? Buffer.from(setProperty(before?.toString('utf8') ?? '{}', property, value.toString('utf8')))
      : value;
    if (before?.equals(next)) return;
    const payload = asString
      ? { SecretString: next.toString('utf8') }
      : { SecretBinary: new Uint8Array(next) };
    if (existing) {
      await this.sm.send(new PutSecretValueCommand({ SecretId: name, ...payload }));
      return;
    }
    await this.sm.send(
      new CreateSecretCommand({
        Name: name,
        ...payload,
        Tags: creationTags(spec),
        ...(typeof spec.description === 'string' ? { Description: spec.description } : {}),
        ...(typeof spec.kmsKeyID === 'string' ? { KmsKeyId: spec.kmsKeyID } : {}),
      }),
    );
  }

  /** ESO `DeleteSecret`: a property, or the secret with the store's recovery settings; unmanaged secrets stay. */
  async delete(name: string, property: string | undefined): Promise<void> {
    const existing = await this.describe(name);
    if (!existing || existing.deleted || !isManaged(existing.tags)) return;
    if (property) {
      const before = await this.current(name);
      const rest = before ? removeProperty(before.toString('utf8'), property) : undefined;
      if (rest !== undefined) {
        if (rest !== before?.toString('utf8'))
          await this.sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: rest }));
        return;
      }
    }
    const sm = this.config.secretsManager;
    await this.sm.send(
      new DeleteSecretCommand({
        SecretId: name,
        ...(sm?.forceDeleteWithoutRecovery ? { ForceDeleteWithoutRecovery: true } : {}),
        ...(sm?.recoveryWindowInDays ? { RecoveryWindowInDays: sm.recoveryWindowInDays } : {}),
      }),
    );
  }

  /** ESO `SecretExists`: the value exists (with `property`, that member). */
  async exists(name: string, property: string | undefined): Promise<boolean> {
    const existing = await this.describe(name);
    if (!existing || existing.deleted) return false;
    const value = await this.current(name);
    if (!value || !property) return !!value;
    return awsProperty(value.toString('utf8'), property) !== undefined;
  }
}

/** Writes through Parameter Store; `name` includes the store's prefix. */
export class ParameterStoreWriter {
  constructor(
    private readonly ssm: SSMClient,
    private readonly storeName: string,
  ) {}

  /** The parameter's value, or undefined when it does not exist. */
  private async current(name: string): Promise<string | undefined> {
    try {
      const out = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter?.Value;
    } catch (err) {
      if (notFound(err, 'ParameterNotFound')) return undefined;
      throw err;
    }
  }

  private async tags(name: string): Promise<Tags> {
    const out = await this.ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
    );
    return out.TagList;
  }

  /** ESO `PushSecret` for Parameter Store. @throws ProviderError when the parameter is not managed by ESO/capstan. */
  async push(
    name: string,
    remoteKey: string,
    value: Buffer,
    property: string | undefined,
    metadata: unknown,
  ) {
    const spec = metadataSpec(metadata);
    const before = await this.current(name);
    if (before !== undefined && !isManaged(await this.tags(name))) {
      throw new ProviderError(
        `key "${remoteKey}" of store "${this.storeName}" exists and is not managed by external-secrets (tag managed-by)`,
      );
    }
    const next = property
      ? setProperty(before ?? '{}', property, value.toString('utf8'))
      : value.toString('utf8');
    if (before === next) return;
    await this.ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: next,
        Type: (typeof spec.parameterStoreType === 'string'
          ? spec.parameterStoreType
          : 'String') as ParameterType,
        ...(typeof spec.parameterStoreKeyID === 'string' ? { KeyId: spec.parameterStoreKeyID } : {}),
        ...(typeof spec.tier === 'string' ? { Tier: spec.tier as ParameterTier } : {}),
        // AWS takes tags on creation only (not with Overwrite)
        ...(before === undefined ? { Tags: creationTags(spec) } : { Overwrite: true }),
      }),
    );
  }

  /** ESO `DeleteSecret`: a property, or the parameter; unmanaged parameters stay. */
  async delete(name: string, property: string | undefined): Promise<void> {
    const before = await this.current(name);
    if (before === undefined || !isManaged(await this.tags(name))) return;
    if (property) {
      const rest = removeProperty(before, property);
      if (rest !== undefined) {
        if (rest !== before)
          await this.ssm.send(new PutParameterCommand({ Name: name, Value: rest, Overwrite: true }));
        return;
      }
    }
    try {
      await this.ssm.send(new DeleteParameterCommand({ Name: name }));
    } catch (err) {
      if (!notFound(err, 'ParameterNotFound')) throw err;
    }
  }

  /** ESO `SecretExists`. */
  async exists(name: string, property: string | undefined): Promise<boolean> {
    const value = await this.current(name);
    if (value === undefined || !property) return value !== undefined;
    return awsProperty(value, property) !== undefined;
  }
}
