/**
 * Who the `aws` provider is and where it connects, as ESO's `providers/v1/aws/auth`:
 *
 * - `auth.secretRef` names Secrets holding an access key id, a secret access key and optionally a
 *   session token (ESO `AWSAuthSecretRef`). A SecretStore reads them from its own namespace; a
 *   ClusterSecretStore from each reference's `namespace`, or, when it is unset, from the
 *   ExternalSecret's namespace (ESO's referent authentication).
 * - Without `auth`, the SDK's default credential chain applies (environment, web identity, shared
 *   files, container and instance metadata), as ESO uses the controller's own identity.
 * - `additionalRoles` are assumed in order, then `role` (with `externalID`, `sessionTags` and
 *   `transitiveTagKeys`), each with the credentials of the step before, through STS `AssumeRole`.
 * - `auth.jwt` (IRSA with a ServiceAccount token) is not implemented: the store is invalid.
 *
 * The endpoint is the SDK's for the region unless the operator sets `--aws-endpoint-url` (or
 * `AWS_ENDPOINT_URL`): ESO has no such store field and relies on the SDK's environment; capstan makes
 * it an admin flag so that tests reach a local emulator. `--provider-timeout` is each call's connect and
 * socket-idle timeout.
 */
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  type AssumeRoleCommandInput,
} from '@aws-sdk/client-sts';
import { cachedSession, sessionKey, type SessionCredentials } from './aws-session';
import { DEFAULT_PROVIDER_TIMEOUT_MS } from './netpolicy';
import { isObject, readSecretKey, validateSecretSelector, type SecretKeySelector } from './storerefs';
import type { ProviderContext, StoreIdentity } from './types';
import { InvalidStoreError, ProviderError } from './types';

/** AWS credentials as the SDK takes them (values never logged). */
export type AwsCredentialIdentity = SessionCredentials;

/** ESO `AWSAuthSecretRef`: the Secrets holding static credentials. */
export interface AwsAuthSecretRef {
  /** accessKeyIDSecretRef - the access key id (`AKIA...`). */
  accessKeyIDSecretRef: SecretKeySelector;
  /** secretAccessKeySecretRef - the secret access key. */
  secretAccessKeySecretRef: SecretKeySelector;
  /** sessionTokenSecretRef - a session token, for temporary credentials; optional. */
  sessionTokenSecretRef?: SecretKeySelector;
}

/** ESO `Tag`: a session tag of `AssumeRole`. */
export interface AwsTag {
  key: string;
  value: string;
}

/** `spec.provider.aws`, ESO `AWSProvider`. */
export interface AwsProviderConfig {
  /** service - `SecretsManager` or `ParameterStore`. */
  service: 'SecretsManager' | 'ParameterStore';
  /** region - the AWS region, e.g. `eu-central-1`. */
  region: string;
  /** role - an IAM role ARN assumed (last) before any call. */
  role?: string;
  /** additionalRoles - role ARNs assumed in order before `role` (a role chain). */
  additionalRoles?: string[];
  /** externalID - the external id passed when assuming `role`. */
  externalID?: string;
  /** sessionTags - session tags passed when assuming `role`. */
  sessionTags?: AwsTag[];
  /** transitiveTagKeys - session tag keys that persist through a role chain. */
  transitiveTagKeys?: string[];
  /** prefix - prepended to every remote key (`remoteRef.key`, PushSecret's `remoteKey`). */
  prefix?: string;
  /** secretsManager - PushSecret deletion settings (ESO `SecretsManager`). */
  secretsManager?: { forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number };
  /** auth - `secretRef` (static keys) or `jwt` (not implemented); unset: the default credential chain. */
  auth?: { secretRef?: AwsAuthSecretRef; jwt?: unknown };
}

/** What the SDK clients of one store are made with. */
export interface AwsClientConfig {
  region: string;
  /** credentials - static or assumed; undefined: the SDK's default chain. */
  credentials?: AwsCredentialIdentity;
  /** endpoint - the operator's `--aws-endpoint-url`; undefined: the SDK's (which honours `AWS_ENDPOINT_URL`). */
  endpoint?: string;
  /** requestHandler - per-call deadlines, in ms. */
  requestHandler: { requestTimeout: number; connectionTimeout: number };
  /** maxAttempts - the SDK's retries of throttled and transient calls. */
  maxAttempts: number;
}

const FIELD = 'spec.provider.aws';
/** Retries of one call by the SDK (ESO keeps the SDK's default; capstan's controller retries too). */
const MAX_ATTEMPTS = 2;

function validateRoles(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  // ESO passes role ARNs to STS unchecked; so does capstan (STS's error names the problem)
  if (config.role !== undefined && (typeof config.role !== 'string' || !config.role)) {
    problems.push(`${FIELD}.role must be a role ARN`);
  }
  const extra = config.additionalRoles;
  if (extra !== undefined) {
    if (!Array.isArray(extra)) problems.push(`${FIELD}.additionalRoles must be a list of role ARNs`);
    else
      extra.forEach((r, i) => {
        if (typeof r !== 'string' || !r) problems.push(`${FIELD}.additionalRoles[${i}] must be a role ARN`);
      });
  }
  const tags = config.sessionTags;
  if (tags !== undefined) {
    if (!Array.isArray(tags)) problems.push(`${FIELD}.sessionTags must be a list of {key, value}`);
    else
      tags.forEach((t: unknown, i) => {
        if (!isObject(t) || typeof t.key !== 'string' || !t.key || typeof t.value !== 'string')
          problems.push(`${FIELD}.sessionTags[${i}] must have a key and a value`);
      });
  }
  return problems;
}

/**
 * Without `auth.secretRef` the SDK's default chain gives capstan's own AWS identity. A namespace tenant
 * writes SecretStores, so only a ClusterSecretStore (the cluster admin's) may use it, as the kubernetes
 * provider never reads as capstan; ESO allows it in both.
 */
const AMBIENT_REFUSED =
  `${FIELD}.auth.secretRef must be set in a SecretStore: without it capstan would use its own AWS identity, ` +
  'which only a ClusterSecretStore may do';

function validateAuth(auth: unknown, store: StoreIdentity | undefined): string[] {
  const namespaced = store?.kind === 'SecretStore';
  if (auth === undefined) return namespaced ? [AMBIENT_REFUSED] : [];
  if (!isObject(auth)) return [`${FIELD}.auth must be an object`];
  if (auth.jwt !== undefined) {
    return [
      `${FIELD}.auth.jwt (IRSA with a ServiceAccount token) is not supported by capstan; use auth.secretRef`,
    ];
  }
  const ref = auth.secretRef;
  if (ref === undefined) return namespaced ? [AMBIENT_REFUSED] : [];
  if (!isObject(ref)) return [`${FIELD}.auth.secretRef must be an object`];
  const f = `${FIELD}.auth.secretRef`;
  const opts = { referent: true };
  const problems = [
    ...validateSecretSelector(ref.accessKeyIDSecretRef, `${f}.accessKeyIDSecretRef`, store, opts),
    ...validateSecretSelector(ref.secretAccessKeySecretRef, `${f}.secretAccessKeySecretRef`, store, opts),
  ];
  if (ref.sessionTokenSecretRef !== undefined) {
    problems.push(
      ...validateSecretSelector(ref.sessionTokenSecretRef, `${f}.sessionTokenSecretRef`, store, opts),
    );
  }
  return problems;
}

/**
 * Checks `spec.provider.aws` as ESO's `ValidateStore`: service, region, role ARNs, the credential
 * references (namespace rules of `storerefs.ts`, referent allowed) and the PushSecret settings.
 * @returns problems naming fields (empty when valid).
 */
export function validateAwsStore(config: unknown, store?: StoreIdentity): string[] {
  if (!isObject(config)) return [`${FIELD} must be an object`];
  const problems: string[] = [];
  if (config.service !== 'SecretsManager' && config.service !== 'ParameterStore') {
    problems.push(`${FIELD}.service must be SecretsManager or ParameterStore`);
  }
  if (typeof config.region !== 'string' || !config.region) {
    problems.push(`${FIELD}.region must be set (an AWS region such as eu-central-1)`);
  }
  if (config.prefix !== undefined && typeof config.prefix !== 'string') {
    problems.push(`${FIELD}.prefix must be a string`);
  }
  problems.push(...validateRoles(config));
  problems.push(...validateAuth(config.auth, store));
  problems.push(...validateDeletion(config.secretsManager));
  return problems;
}

/** `secretsManager`: AWS's recovery window is 7 to 30 days, and excludes a forced deletion. */
function validateDeletion(sm: unknown): string[] {
  if (sm === undefined) return [];
  if (!isObject(sm)) return [`${FIELD}.secretsManager must be an object`];
  const days = sm.recoveryWindowInDays;
  if (days !== undefined && days !== 0 && (typeof days !== 'number' || days < 7 || days > 30)) {
    return [`${FIELD}.secretsManager.recoveryWindowInDays must be between 7 and 30`];
  }
  if (sm.forceDeleteWithoutRecovery === true && typeof days === 'number' && days !== 0) {
    return [
      `${FIELD}.secretsManager: forceDeleteWithoutRecovery and recoveryWindowInDays cannot both be set`,
    ];
  }
  return [];
}

/**
 * True when a ClusterSecretStore's credential references leave `namespace` unset (ESO `isReferentSpec`):
 * they are read in each ExternalSecret's namespace, so the store alone cannot be validated.
 */
export function isAwsReferent(config: AwsProviderConfig, store: StoreIdentity): boolean {
  const ref = config.auth?.secretRef;
  if (store.kind !== 'ClusterSecretStore' || !ref) return false;
  return [ref.accessKeyIDSecretRef, ref.secretAccessKeySecretRef, ref.sessionTokenSecretRef].some(
    (s) => s !== undefined && s.namespace === undefined,
  );
}

/** Reads `auth.secretRef` (values never logged); trailing blanks are trimmed as ESO does. */
async function staticCredentials(
  ctx: ProviderContext,
  ref: AwsAuthSecretRef,
): Promise<AwsCredentialIdentity> {
  const f = `${FIELD}.auth.secretRef`;
  const read = async (sel: SecretKeySelector, field: string) =>
    (await readSecretKey(ctx, sel, `${f}.${field}`)).toString('utf8').trim();
  const accessKeyId = await read(ref.accessKeyIDSecretRef, 'accessKeyIDSecretRef');
  const secretAccessKey = await read(ref.secretAccessKeySecretRef, 'secretAccessKeySecretRef');
  const sessionToken = ref.sessionTokenSecretRef
    ? await read(ref.sessionTokenSecretRef, 'sessionTokenSecretRef')
    : undefined;
  if (!accessKeyId || !secretAccessKey) {
    throw new ProviderError(`store "${ctx.store.name}": the access key id or secret access key is empty`);
  }
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/**
 * The base options of every SDK client of a store (no credentials yet).
 * @param ctx - for the operator's limits (`awsEndpointUrl`, `kubernetesTimeoutMs`).
 */
function baseConfig(ctx: ProviderContext, region: string): AwsClientConfig {
  const timeout = ctx.limits?.kubernetesTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  const endpoint = ctx.limits?.awsEndpointUrl || undefined;
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    requestHandler: { requestTimeout: timeout, connectionTimeout: timeout },
    maxAttempts: MAX_ATTEMPTS,
  };
}

/** A session name STS accepts (`[\w+=,.@-]{2,64}`), naming capstan and the store. */
function sessionName(store: string): string {
  return `capstan-${store}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/**
 * Resolves a store's client configuration: static credentials, then the role chain (its session cached,
 * see `aws-session.ts`).
 * @throws ProviderError naming the Secret or the role (AWS's error code, never a key) when a step fails.
 */
export async function awsClientConfig(
  ctx: ProviderContext,
  config: AwsProviderConfig,
): Promise<AwsClientConfig> {
  const base = baseConfig(ctx, config.region);
  const keys = config.auth?.secretRef ? await staticCredentials(ctx, config.auth.secretRef) : undefined;
  if (!config.role && !config.additionalRoles?.length)
    return { ...base, ...(keys ? { credentials: keys } : {}) };
  const { kind, namespace, name } = ctx.store;
  const key = sessionKey([kind, namespace, name, ctx.namespace, config, base.endpoint, keys]);
  const credentials = await cachedSession(key, async () => {
    let current = keys;
    for (const roleArn of config.additionalRoles ?? []) {
      current = await assumeRole(base, current, { RoleArn: roleArn }, name);
    }
    if (config.role) current = await assumeRole(base, current, finalRoleInput(config), name);
    return current as SessionCredentials;
  });
  return { ...base, credentials };
}

/** An `AssumeRole` input without the session name (added per store). */
type RoleInput = Omit<AssumeRoleCommandInput, 'RoleSessionName'>;

/** The `AssumeRole` input of `role`: the external id and session tags apply to it only (ESO). */
function finalRoleInput(config: AwsProviderConfig): RoleInput {
  return {
    RoleArn: config.role ?? '',
    ...(config.externalID ? { ExternalId: config.externalID } : {}),
    ...(config.sessionTags?.length
      ? { Tags: config.sessionTags.map((t) => ({ Key: t.key, Value: t.value })) }
      : {}),
    ...(config.transitiveTagKeys?.length ? { TransitiveTagKeys: config.transitiveTagKeys } : {}),
  };
}

/**
 * One step of the role chain: STS `AssumeRole` with the credentials of the step before.
 * @throws ProviderError naming the role and the store.
 */
async function assumeRole(
  base: AwsClientConfig,
  credentials: AwsCredentialIdentity | undefined,
  input: RoleInput,
  store: string,
): Promise<AwsCredentialIdentity> {
  const sts = new STSClient({ ...base, ...(credentials ? { credentials } : {}) });
  try {
    const out = await sts.send(new AssumeRoleCommand({ ...input, RoleSessionName: sessionName(store) }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  } catch (err) {
    throw awsError(err, `assuming role "${input.RoleArn ?? ''}" for store "${store}"`);
  } finally {
    sts.destroy();
  }
}

/**
 * Asks STS who the credentials are (`GetCallerIdentity`, which needs no permission): a cheap proof that
 * they are valid, stronger than ESO's `Validate` (which only resolves them).
 * @throws ProviderError with AWS's error code.
 */
export async function checkCallerIdentity(cfg: AwsClientConfig, store: string): Promise<void> {
  const sts = new STSClient(cfg);
  try {
    await sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    throw awsError(err, `checking the credentials of store "${store}"`);
  } finally {
    sts.destroy();
  }
}

/** AWS error codes that mean the credentials themselves are wrong or expired. */
const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
]);

/** AWS error codes that mean the identity lacks a permission. */
const PERMISSION_ERRORS = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation']);

/**
 * Maps an SDK error to a ProviderError: AWS's error code and the first sentence of its message (which
 * names actions and ARNs, never a secret value), retryable for throttling, 5xx and transport errors.
 * A response the SDK cannot parse (an emulator's or a proxy's) is described by its HTTP status.
 * @param what - what was being done, naming key and store (`reading key "db" of store "aws"`).
 */
export function awsError(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const { code, detail } = describeSdkError(e);
  if (CREDENTIAL_ERRORS.has(code) || status === 401) {
    return new ProviderError(`${what}: the credentials were refused (${detail})`, { cause: err });
  }
  if (PERMISSION_ERRORS.has(code) || status === 403) {
    return new ProviderError(`${what}: access denied (${detail})`, { cause: err });
  }
  return new ProviderError(`${what} failed: ${detail}`, { retryable: isTransient(e, code), cause: err });
}

/** The fields of an AWS SDK v3 error that capstan reads. */
interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** AWS's error code (or `HTTP <status>` for a response the SDK could not parse) and a short detail. */
function describeSdkError(e: SdkError): { code: string; detail: string } {
  const unparsed = e.name === 'SyntaxError' || e.name === 'DeserializationError';
  if (unparsed) {
    const code = `HTTP ${e.$metadata?.httpStatusCode ?? '?'}`;
    return { code, detail: code };
  }
  const code = e.name ?? 'Error';
  const firstSentence = (e.message ?? '').split(/(?<=\.)\s/)[0].slice(0, 200);
  return { code, detail: firstSentence && firstSentence !== code ? `${code}: ${firstSentence}` : code };
}

/** Throttling, 5xx, 429 and transport errors (no HTTP status) are worth retrying. */
function isTransient(e: SdkError, code: string): boolean {
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500 || status === 429 || e.$retryable) return true;
  return /Throttl|TooManyRequests|RequestLimitExceeded|TimeoutError|ECONN|ENOTFOUND|EAI_AGAIN/.test(code);
}

/** Throws InvalidStoreError unless `config` is a valid `spec.provider.aws`. */
export function assertAwsStore(config: unknown, store: StoreIdentity): asserts config is AwsProviderConfig {
  const problems = validateAwsStore(config, store);
  if (problems.length) throw new InvalidStoreError(problems);
}
