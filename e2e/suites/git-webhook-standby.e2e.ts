/**
 * The git webhook on a standby replica (issue 10 P4): with `--leader-elect`, every replica serves
 * `/api/webhook` (the chart's Service routes a push to any pod). On a private control plane with two
 * capstans, a signed GitHub push POSTed to the replica that waits for the Lease sets the refresh
 * annotation through the API (not fenced: it is a request, like a user's), and the leader applies the
 * commit. The leader's own webhook refreshes in-process instead (webhook/refresh.ts localRefreshTarget).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePorts, type ManagedProcess } from '../harness/process';
import { waitFor } from '../harness/wait';
import { FaultEnv, createAppOn, createNamespaceOn, startFaultEnv, waitForAppsOn } from './faults-lib';
import { FIXTURES, type AppObject } from './lib';

const LEADER_ARGS = ['--leader-elect', '--leader-lease-duration', '4', '--leader-renew-interval', '0.5'];
const SECRET = randomBytes(16).toString('hex');
const NS = 'webhook-standby';

let env: FaultEnv;
let standby: ManagedProcess;
let standbyPort: number;

before(async () => {
  const [leaderPort, port] = await freePorts(2);
  standbyPort = port;
  env = await startFaultEnv({ operatorArgs: [...LEADER_ARGS, '--git-webhook-port', String(leaderPort)] });
  // commander keeps the last value: the second replica serves on its own port
  standby = await env.startOperator(['--git-webhook-port', String(standbyPort)]);
  await env.kube.request('POST', `/api/v1/namespaces/${env.controllerNamespace}/secrets`, {
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-secret', namespace: env.controllerNamespace },
      stringData: { 'webhook.github.secret': SECRET },
    },
  });
  await createNamespaceOn(env.kube, NS);
});

after(async () => {
  await env?.stop();
});

test('a push posted to the standby replica is applied by the leader', async () => {
  // the second replica is the standby: it waits for the Lease the first one holds
  await waitFor(async () => standby.tail(100).includes('Waiting to become leader'), {
    timeoutMs: 30_000,
    what: 'the second replica to wait for the Lease',
  });
  assert.ok(!standby.tail(200).includes('capstan started'), 'the second replica does not lead');
  const repo = await env.git.createRepo('standby', path.join(FIXTURES, 'plain'));
  const first = await repo.headSha();
  await createAppOn(env.kube, NS, 'app', {
    project: 'default',
    source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
    destination: { server: 'https://kubernetes.default.svc', namespace: NS },
    syncPolicy: { automated: { prune: true } },
  });
  const syncedAt = (sha: string) => (a: AppObject) =>
    a.status?.sync?.status === 'Synced' && a.status.sync.revision === sha;
  await waitForAppsOn(env.kube, NS, ['app'], syncedAt(first), {
    what: `Synced at ${first}`,
    timeoutMs: 60_000,
  });

  const sha = await repo.commit('greeting standby', (dir) =>
    fs.writeFileSync(
      path.join(dir, 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-config\ndata:\n  greeting: standby\n',
    ),
  );
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    after: sha,
    repository: { html_url: 'https://127.0.0.1/standby', default_branch: 'main' },
    commits: [{ id: sha, added: [], modified: ['configmap.yaml'], removed: [] }],
  });
  const res = await fetch(`http://127.0.0.1:${standbyPort}/api/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    },
    body,
  });
  assert.equal(res.status, 200, await res.text());
  await waitForAppsOn(env.kube, NS, ['app'], syncedAt(sha), {
    what: `Synced at the pushed ${sha}`,
    timeoutMs: 30_000,
  });
  assert.match(
    standby.tail(200),
    /Webhook push to https:\/\/127\.0\.0\.1\/standby main: refreshing 1 Application/,
  );
  // The leader's own webhook refreshes in-process (no annotation); the standby, which runs no
  // Application operator, wrote the annotation that the leader acted on above. (Both replicas append
  // to one log.)
  assert.match(fs.readFileSync(env.logPath, 'utf8'), /The git webhook refreshes Applications in-process/);
});
