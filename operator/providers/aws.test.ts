import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { awsError, isAwsReferent, validateAwsStore, type AwsProviderConfig } from './aws-auth';
import {
  awsProperty,
  extractMap,
  hasTags,
  parameterName,
  secretsManagerVersion,
  tagsJson,
} from './aws-values';
import { isManaged, removeProperty, setProperty } from './aws-push';
import { NoSecretError } from './types';

const ns = { kind: 'SecretStore' as const, name: 'aws', namespace: 'team-a' };
const cluster = { kind: 'ClusterSecretStore' as const, name: 'aws' };
const keys = (namespace?: string) => ({
  secretRef: {
    accessKeyIDSecretRef: { name: 'awssm-secret', key: 'access-key', ...(namespace ? { namespace } : {}) },
    secretAccessKeySecretRef: {
      name: 'awssm-secret',
      key: 'secret-access-key',
      ...(namespace ? { namespace } : {}),
    },
  },
});

describe('aws remoteRef.version', () => {
  test('Secrets Manager: unset is AWSCURRENT, a label is a stage, uuid/ is a version id (ESO)', () => {
    assert.deepEqual(secretsManagerVersion(undefined), { VersionStage: 'AWSCURRENT' });
    assert.deepEqual(secretsManagerVersion(''), { VersionStage: 'AWSCURRENT' });
    assert.deepEqual(secretsManagerVersion('AWSPREVIOUS'), { VersionStage: 'AWSPREVIOUS' });
    assert.deepEqual(secretsManagerVersion('uuid/123e4567-e89b'), { VersionId: '123e4567-e89b' });
  });

  test('Parameter Store: prefix + key, :version appended when set', () => {
    assert.equal(parameterName(undefined, '/app/db', undefined), '/app/db');
    assert.equal(parameterName('/prod', '/app/db', '3'), '/prod/app/db:3');
    assert.equal(parameterName('', 'db', 'blue'), 'db:blue');
  });
});

describe('aws property', () => {
  const doc = JSON.stringify({
    name: { first: 'Tom', last: 'Anderson' },
    friends: [{ first: 'Dale' }, { first: 'Roger' }],
    'tls.crt': 'CERT',
    tls: { crt: 'NESTED' },
    port: 5432,
    on: true,
    none: null,
  });

  test("ESO's documented paths: nested members and array indexes", () => {
    assert.equal(awsProperty(doc, 'name.first'), 'Tom');
    assert.equal(awsProperty(doc, 'friends.1.first'), 'Roger');
  });

  test('a dotted property is first a literal key, then a path (ESO escapeDotsIfRequired)', () => {
    assert.equal(awsProperty(doc, 'tls.crt'), 'CERT');
    assert.equal(awsProperty(JSON.stringify({ tls: { crt: 'NESTED' } }), 'tls.crt'), 'NESTED');
  });

  test('non-string values as gjson String(): numbers and booleans as written, null empty, objects raw', () => {
    assert.equal(awsProperty(doc, 'port'), '5432');
    assert.equal(awsProperty(doc, 'on'), 'true');
    assert.equal(awsProperty(doc, 'none'), '');
    assert.equal(awsProperty(doc, 'name'), '{"first":"Tom","last":"Anderson"}');
  });

  test('absent members and non-JSON values are undefined', () => {
    assert.equal(awsProperty(doc, 'name.middle'), undefined);
    assert.equal(awsProperty(doc, 'friends.5.first'), undefined);
    assert.equal(awsProperty('plain text', 'a'), undefined);
  });
});

describe('aws extract, tags and find', () => {
  test('extract: strings as text, others raw, null empty; not an object -> undefined', () => {
    const m = extractMap('{"user":"app","port":5432,"opts":{"a":1},"none":null}');
    assert.deepEqual(Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, v.toString()])), {
      user: 'app',
      port: '5432',
      opts: '{"a":1}',
      none: '',
    });
    assert.equal(extractMap('["a"]'), undefined);
    assert.equal(extractMap('text'), undefined);
  });

  test('tags become a JSON object with sorted keys', () => {
    assert.equal(
      tagsJson([
        { Key: 'team', Value: 'a' },
        { Key: 'dev', Value: 'seb' },
      ]),
      '{"dev":"seb","team":"a"}',
    );
    assert.equal(tagsJson(undefined), '{}');
  });

  test('find.tags must match as pairs, not key and value independently', () => {
    const tags = [
      { Key: 'a', Value: '2' },
      { Key: 'b', Value: '1' },
    ];
    assert.equal(hasTags(tags, { a: '2' }), true);
    assert.equal(hasTags(tags, { a: '1' }), false);
    assert.equal(hasTags(tags, { a: '2', b: '1' }), true);
    assert.equal(hasTags(undefined, undefined), true);
  });
});

describe('aws store validation', () => {
  test("ESO's documented store is valid (role is passed to STS unchecked, as ESO)", () => {
    const config = { service: 'SecretsManager', role: 'iam-role', region: 'eu-central-1', auth: keys() };
    assert.deepEqual(validateAwsStore(config, ns), []);
  });

  test('service and region are required; jwt auth is refused as unsupported', () => {
    const problems = validateAwsStore(
      { service: 'KMS', auth: { jwt: { serviceAccountRef: { name: 'sa' } } } },
      ns,
    );
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /service must be SecretsManager or ParameterStore/);
    assert.match(problems.join('\n'), /region must be set/);
    assert.match(problems.join('\n'), /auth\.jwt .* not supported/);
  });

  test('namespace rules: a SecretStore may not read another namespace; a ClusterSecretStore may omit it (referent)', () => {
    assert.match(
      validateAwsStore({ service: 'ParameterStore', region: 'us-east-1', auth: keys('other') }, ns)[0],
      /namespace must be empty or "team-a"/,
    );
    const referent = { service: 'SecretsManager', region: 'us-east-1', auth: keys() } as AwsProviderConfig;
    assert.deepEqual(validateAwsStore(referent, cluster), []);
    assert.equal(isAwsReferent(referent, cluster), true);
    assert.equal(isAwsReferent({ ...referent, auth: keys('creds') } as AwsProviderConfig, cluster), false);
    assert.equal(isAwsReferent(referent, ns), false);
  });

  test("no auth (capstan's own AWS identity) only in a ClusterSecretStore", () => {
    const ambient = { service: 'SecretsManager', region: 'us-east-1', role: 'arn:aws:iam::1:role/r' };
    assert.deepEqual(validateAwsStore(ambient, cluster), []);
    assert.match(validateAwsStore(ambient, ns).join('\n'), /auth\.secretRef must be set in a SecretStore/);
    assert.match(validateAwsStore({ ...ambient, auth: {} }, ns).join('\n'), /auth\.secretRef must be set/);
  });

  test('recoveryWindowInDays 7..30 and not together with forceDeleteWithoutRecovery', () => {
    const base = { service: 'SecretsManager', region: 'us-east-1', auth: keys() };
    assert.deepEqual(validateAwsStore({ ...base, secretsManager: { recoveryWindowInDays: 7 } }, ns), []);
    assert.equal(validateAwsStore({ ...base, secretsManager: { recoveryWindowInDays: 3 } }, ns).length, 1);
    assert.equal(
      validateAwsStore(
        { ...base, secretsManager: { recoveryWindowInDays: 7, forceDeleteWithoutRecovery: true } },
        ns,
      ).length,
      1,
    );
  });
});

describe('aws errors', () => {
  const sdkError = (name: string, message: string, status?: number) =>
    Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

  test('wrong keys: not retryable, AWS code and first sentence, naming what was done', () => {
    const err = awsError(
      sdkError(
        'InvalidClientTokenId',
        'The security token included in the request is invalid. More text.',
        403,
      ),
      'checking the credentials of store "sm"',
    );
    assert.equal(err.retryable, false);
    assert.equal(
      err.message,
      'checking the credentials of store "sm": the credentials were refused (InvalidClientTokenId: The security token included in the request is invalid.)',
    );
  });

  test('an unparseable 403 is access denied by status; 5xx, throttling and transport errors are retryable', () => {
    const denied = awsError(
      sdkError('SyntaxError', 'Unexpected token <', 403),
      'reading key "k" of store "s"',
    );
    assert.equal(denied.message, 'reading key "k" of store "s": access denied (HTTP 403)');
    assert.equal(awsError(sdkError('InternalServiceError', 'boom', 500), 'x').retryable, true);
    assert.equal(awsError(sdkError('ThrottlingException', 'slow down', 400), 'x').retryable, true);
    assert.equal(awsError(sdkError('Error', 'connect ECONNREFUSED'), 'x').retryable, true);
    assert.equal(awsError(sdkError('ValidationException', 'bad', 400), 'x').retryable, false);
  });

  test('a NoSecretError is not produced here (not-found codes are mapped by the clients)', () => {
    assert.ok(!(awsError(sdkError('ResourceNotFoundException', 'gone', 400), 'x') instanceof NoSecretError));
  });
});

describe('aws push values', () => {
  test('setProperty merges one member (dotted path creates objects), keeps the others, sorted and compact', () => {
    assert.equal(setProperty('{"b":"1","a":"x"}', 'a', 'y'), '{"a":"y","b":"1"}');
    assert.equal(setProperty('', 'db.password', 'p'), '{"db":{"password":"p"}}');
    assert.equal(setProperty('{"tls.crt":"old"}', 'tls\\.crt', 'new'), '{"tls.crt":"new"}');
  });

  test('removeProperty drops one member; undefined when nothing is left', () => {
    assert.equal(removeProperty('{"a":"1","b":"2"}', 'a'), '{"b":"2"}');
    assert.equal(removeProperty('{"a":"1"}', 'a'), undefined);
  });

  test("only secrets tagged managed-by: external-secrets are ESO's or capstan's", () => {
    assert.equal(isManaged([{ Key: 'managed-by', Value: 'external-secrets' }]), true);
    assert.equal(isManaged([{ Key: 'managed-by', Value: 'someone' }]), false);
    assert.equal(isManaged(undefined), false);
  });
});
