/**
 * A real AWS API emulator for the `aws` provider's e2e suite: moto in server mode (from PyPI,
 * installed by `scripts/setup-moto.sh` into a cached virtualenv), on a free loopback port, stopped by
 * its PID. One moto serves Secrets Manager, Parameter Store, STS and IAM on the same endpoint.
 *
 * moto accepts any credentials until IAM enforcement is switched on; {@link enableMotoAuth} creates
 * an administrator user, its access key and a role, then switches it on (`/moto-api/reset-auth`), so
 * that wrong keys are refused as AWS refuses them. It uses boto3 from moto's own virtualenv, since
 * capstan has no IAM client and needs none.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts, ManagedProcess } from './process';
import { waitFor } from './wait';

const run = promisify(execFile);

/** The moto version `scripts/setup-moto.sh` installs. */
export const MOTO_VERSION = process.env.MOTO_VERSION ?? '5.2.5';

/** The virtualenv of `scripts/setup-moto.sh`. */
export function motoVenv(): string {
  const cache = process.env.CAPSTAN_CACHE ?? path.join(os.homedir(), '.cache', 'capstan');
  return path.join(cache, `moto-${MOTO_VERSION}`, 'venv');
}

/** True when `make setup` installed moto. */
export function motoInstalled(): boolean {
  return fs.existsSync(path.join(motoVenv(), 'bin', 'moto_server'));
}

/** A running moto server. */
export interface MotoServer {
  /** endpoint - `http://127.0.0.1:<port>`. */
  endpoint: string;
  proc: ManagedProcess;
  /** Stops the server by PID; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until its API answers.
 * @param logDir - where `moto.log` goes.
 * @throws Error naming `make setup` when moto is not installed; Error with the log tail when it does not start in 60 s.
 */
export async function startMoto(logDir: string): Promise<MotoServer> {
  if (!motoInstalled()) {
    throw new Error(`moto is not installed in ${motoVenv()}: run make setup (scripts/setup-moto.sh)`);
  }
  const [port] = await freePorts(1);
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = ManagedProcess.start({
    name: 'moto_server',
    command: path.join(motoVenv(), 'bin', 'moto_server'),
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logPath: path.join(logDir, 'moto.log'),
  });
  await waitFor(
    async () => {
      proc.assertRunning();
      try {
        return (await fetch(`${endpoint}/moto-api/data.json`)).ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, what: 'moto_server to answer' },
  ).catch(async (err: unknown) => {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n--- moto log ---\n${proc.tail(20)}`);
  });
  return { endpoint, proc, stop: () => proc.stop() };
}

/** Credentials and role made by {@link enableMotoAuth}. */
export interface MotoIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** roleArn - a role anyone may assume, allowed everything. */
  roleArn: string;
  /** deniedRoleArn - a role anyone may assume, allowed only `sts:GetCallerIdentity`. */
  deniedRoleArn: string;
}

const SETUP_PY = `
import boto3, json, sys, urllib.request
ep = sys.argv[1]
iam = boto3.client('iam', endpoint_url=ep, region_name='us-east-1',
                   aws_access_key_id='setup', aws_secret_access_key='setup')
def policy(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
trust = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
iam.create_user(UserName='capstan-e2e-admin')
iam.put_user_policy(UserName='capstan-e2e-admin', PolicyName='all', PolicyDocument=policy('*'))
key = iam.create_access_key(UserName='capstan-e2e-admin')['AccessKey']
role = iam.create_role(RoleName='capstan-e2e-reader', AssumeRolePolicyDocument=trust)['Role']
iam.put_role_policy(RoleName='capstan-e2e-reader', PolicyName='all', PolicyDocument=policy('*'))
denied = iam.create_role(RoleName='capstan-e2e-denied', AssumeRolePolicyDocument=trust)['Role']
iam.put_role_policy(RoleName='capstan-e2e-denied', PolicyName='whoami', PolicyDocument=policy('sts:GetCallerIdentity'))
req = urllib.request.Request(ep + '/moto-api/reset-auth', data=b'0', method='POST',
                             headers={'Content-Type': 'text/plain'})
urllib.request.urlopen(req).read()
print(json.dumps({"accessKeyId": key['AccessKeyId'], "secretAccessKey": key['SecretAccessKey'],
                  "roleArn": role['Arn'], "deniedRoleArn": denied['Arn']}))
`;

/**
 * Creates an administrator user with an access key and two roles, then makes moto enforce IAM
 * (signatures and policies) for every later request. Call once per server.
 * @returns the administrator's keys and the roles' ARNs (test credentials of the emulator).
 */
export async function enableMotoAuth(endpoint: string): Promise<MotoIdentity> {
  const { stdout } = await run(path.join(motoVenv(), 'bin', 'python'), ['-c', SETUP_PY, endpoint], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as MotoIdentity;
}
