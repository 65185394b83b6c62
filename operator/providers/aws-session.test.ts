import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../kube/client';
import { awsClientConfig, type AwsProviderConfig } from './aws-auth';
import { cachedSession, clearSessions } from './aws-session';
import { DEFAULT_PROVIDER_LIMITS } from './netpolicy';
import type { ProviderContext } from './types';

/** An STS stand-in on loopback that answers AssumeRole and counts the calls. */
function stsStub(): { server: http.Server; calls: string[] } {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      calls.push(params.get('RoleArn') ?? '');
      res.setHeader('content-type', 'text/xml');
      res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIA${calls.length}</AccessKeyId><SecretAccessKey>s</SecretAccessKey>
<SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`);
    });
  });
  return { server, calls };
}

describe('aws assumed-role sessions', () => {
  const { server, calls } = stsStub();
  let endpoint = '';
  let accessKey = 'AKIAFIRST';
  const kube = {
    request: async () => ({
      data: { id: Buffer.from(accessKey).toString('base64'), secret: Buffer.from('s').toString('base64') },
    }),
  } as unknown as KubeClient;
  const config: AwsProviderConfig = {
    service: 'SecretsManager',
    region: 'eu-central-1',
    additionalRoles: ['arn:aws:iam::123456789012:role/first'],
    role: 'arn:aws:iam::123456789012:role/reader',
    auth: {
      secretRef: {
        accessKeyIDSecretRef: { name: 'keys', key: 'id' },
        secretAccessKeySecretRef: { name: 'keys', key: 'secret' },
      },
    },
  };
  const ctx = (): ProviderContext => ({
    store: { kind: 'SecretStore', name: 'aws', namespace: 'app', spec: { provider: { aws: config } } },
    namespace: 'app',
    kube,
    limits: { ...DEFAULT_PROVIDER_LIMITS, awsEndpointUrl: endpoint },
  });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    clearSessions();
    calls.length = 0;
    accessKey = 'AKIAFIRST';
  });

  test('the chain is assumed in order once; later reconciles reuse the session', async () => {
    const first = await awsClientConfig(ctx(), config);
    const second = await awsClientConfig(ctx(), config);
    assert.deepEqual(calls, [
      'arn:aws:iam::123456789012:role/first',
      'arn:aws:iam::123456789012:role/reader',
    ]);
    assert.equal(first.credentials?.accessKeyId, 'ASIA2');
    assert.equal(second.credentials?.accessKeyId, 'ASIA2');
  });

  test('rotated keys or another role assume again', async () => {
    await awsClientConfig(ctx(), config);
    accessKey = 'AKIASECOND';
    await awsClientConfig(ctx(), config);
    await awsClientConfig(ctx(), { ...config, additionalRoles: [] });
    assert.equal(calls.length, 5);
  });

  test('a session is used until 80 % of its lifetime, then assumed again; failures are not cached', async () => {
    let clock = 0;
    let made = 0;
    const assume = async () => ({
      accessKeyId: `A${++made}`,
      secretAccessKey: 's',
      expiration: new Date(1000),
    });
    assert.equal((await cachedSession('k', assume, () => clock)).accessKeyId, 'A1');
    clock = 799;
    assert.equal((await cachedSession('k', assume, () => clock)).accessKeyId, 'A1');
    clock = 800;
    assert.equal((await cachedSession('k', assume, () => clock)).accessKeyId, 'A2');
    await assert.rejects(
      cachedSession('f', () => Promise.reject(new Error('refused'))),
      /refused/,
    );
    assert.equal((await cachedSession('f', assume, () => clock)).accessKeyId, 'A3');
  });
});
