/**
 * Proves the harness itself: the local control plane runs real workloads (a Deployment becomes
 * Available, a Job completes, thanks to kwok), kubectl and helm talk to it, the git daemon serves
 * what tests commit, and stopping leaves no process behind.
 *
 *   node --import tsx --test e2e/harness/harness.e2e.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Deployment,
  type V1Job,
} from '@kubernetes/client-node';

import {
  git,
  pidAlive,
  startControlPlane,
  startGitServer,
  toolPath,
  waitFor,
  type ControlPlane,
  type GitServer,
} from './index';

const execFileAsync = promisify(execFile);
const NAMESPACE = 'harness-e2e';
const FIXTURE = path.join(__dirname, 'testdata', 'tiny');

let cp: ControlPlane | undefined;
let gitServer: GitServer | undefined;
let kc: KubeConfig;

before(
  async () => {
    // One after the other, so that each handle is assigned (and stopped by after()) even when the
    // other start fails.
    gitServer = await startGitServer();
    cp = await startControlPlane();
    kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    await kc.makeApiClient(CoreV1Api).createNamespace({ metadata: { name: NAMESPACE } });
  },
  { timeout: 240_000 },
);

// Safety net when a test fails before the explicit stop test; stop() is idempotent.
after(async () => {
  await gitServer?.stop();
  await cp?.stop();
});

/** Reads a status condition of type `type` and returns whether it is True. */
function conditionTrue(conditions: { type: string; status: string }[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

void test('a Deployment becomes Available (kwok runs its pods)', { timeout: 90_000 }, async () => {
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { app: 'web' };
  const deployment: V1Deployment = {
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
      },
    },
  };
  await apps.createNamespacedDeployment(NAMESPACE, deployment);
  const live = await waitFor(
    async () => {
      const { body } = await apps.readNamespacedDeployment('web', NAMESPACE);
      return (
        conditionTrue(body.status?.conditions, 'Available') && body.status?.availableReplicas === 2 && body
      );
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'Deployment web to be Available with 2 replicas' },
  );
  assert.equal(live.status?.readyReplicas, 2);
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod(NAMESPACE)).body.items;
  for (const pod of pods) {
    assert.equal(pod.status?.phase, 'Running');
    assert.match(pod.status?.podIP ?? '', /^10\.244\./);
    assert.equal(pod.status?.hostIP, '10.240.0.1');
  }
});

void test('a Job completes (kwok completes pods owned by a Job)', { timeout: 90_000 }, async () => {
  const batch = kc.makeApiClient(BatchV1Api);
  const job: V1Job = {
    metadata: { name: 'once' },
    spec: {
      backoffLimit: 0,
      template: {
        spec: { restartPolicy: 'Never', containers: [{ name: 'once', image: 'registry.invalid/once:1' }] },
      },
    },
  };
  await batch.createNamespacedJob(NAMESPACE, job);
  const done = await waitFor(
    async () => {
      const { body } = await batch.readNamespacedJob('once', NAMESPACE);
      return conditionTrue(body.status?.conditions, 'Complete') && body;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'Job once to Complete' },
  );
  assert.equal(done.status?.succeeded, 1);
});

void test('kubectl and helm work against the kubeconfig', { timeout: 60_000 }, async () => {
  assert.ok(cp);
  const kubeconfig = `--kubeconfig=${cp.kubeconfigPath}`;
  const kubectl = await execFileAsync(toolPath('kubectl'), [kubeconfig, 'version', '-o', 'json']);
  const versions = JSON.parse(kubectl.stdout) as { serverVersion?: { gitVersion?: string } };
  // The ldflags of scripts/build-control-plane.sh set this; without them helm's KubeVersion breaks.
  assert.equal(versions.serverVersion?.gitVersion, 'v1.36.3');
  const helm = await execFileAsync(toolPath('helm'), ['version', '--short']);
  assert.match(helm.stdout, /^v4\./);
  const list = await execFileAsync(toolPath('helm'), [kubeconfig, 'list', '--all-namespaces', '-o', 'json']);
  assert.deepEqual(JSON.parse(list.stdout), []);
});

void test('the git daemon serves what a test commits, tags and branches', { timeout: 60_000 }, async () => {
  assert.ok(gitServer);
  const repo = await gitServer.createRepo('tiny', FIXTURE);
  assert.ok(fs.existsSync(path.join(repo.workDir, 'configmap.yaml')));
  const first = await repo.headSha();
  assert.match(
    await git(repo.workDir, 'ls-remote', repo.url),
    new RegExp(`^${first}\\trefs/heads/main$`, 'm'),
  );

  const second = await repo.commit('Change greeting', (dir) => {
    const file = path.join(dir, 'configmap.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('hello', 'hi'));
  });
  assert.notEqual(second, first);
  await repo.tag('v1');
  await repo.branch('release');
  const refs = await git(repo.workDir, 'ls-remote', repo.url);
  assert.match(refs, new RegExp(`^${second}\\trefs/heads/main$`, 'm'));
  assert.match(refs, new RegExp(`^${second}\\trefs/tags/v1$`, 'm'));
  assert.match(refs, new RegExp(`^${second}\\trefs/heads/release$`, 'm'));
});

void test(
  'stopComponent/startComponent restart kube-apiserver and etcd by PID, keeping the data',
  { timeout: 240_000 },
  async () => {
    assert.ok(cp);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap(NAMESPACE, { metadata: { name: 'survivor' }, data: { k: 'v' } });
    const raw = (urlPath: string) =>
      execFileAsync(toolPath('kubectl'), [`--kubeconfig=${cp!.kubeconfigPath}`, 'get', '--raw', urlPath], {
        timeout: 15_000,
      });

    const apiPid = cp.pids[1];
    await cp.stopComponent('kube-apiserver');
    assert.equal(pidAlive(apiPid), false, 'the old apiserver is gone');
    await assert.rejects(raw('/readyz'), 'nothing serves the API while it is stopped');
    await cp.startComponent('kube-apiserver');
    assert.notEqual(cp.pids[1], apiPid, 'a new apiserver process');
    assert.equal((await raw('/readyz')).stdout, 'ok');
    assert.equal((await core.readNamespacedConfigMap('survivor', NAMESPACE)).body.data?.k, 'v');

    const etcdPid = cp.pids[0];
    await cp.stopComponent('etcd', { kill: true });
    assert.equal(pidAlive(etcdPid), false, 'etcd was killed');
    // The apiserver keeps running and reports its etcd check failing.
    await waitFor(
      () =>
        raw('/readyz').then(
          () => false,
          () => true,
        ),
      {
        timeoutMs: 60_000,
        what: 'apiserver /readyz to fail without etcd',
      },
    );
    await cp.startComponent('etcd');
    assert.notEqual(cp.pids[0], etcdPid);
    await waitFor(
      () =>
        raw('/readyz').then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 60_000,
        what: 'apiserver /readyz with etcd back',
      },
    );
    assert.equal((await core.readNamespacedConfigMap('survivor', NAMESPACE)).body.data?.k, 'v');
    await core.createNamespacedConfigMap(NAMESPACE, { metadata: { name: 'after-restart' } });
  },
);

void test('the git daemon serves the same repositories on the same port after stop() and start()', async () => {
  assert.ok(gitServer);
  const repo = await gitServer.createRepo('restart', FIXTURE);
  const pid = gitServer.pid;
  await gitServer.stop();
  assert.equal(pidAlive(pid), false);
  await assert.rejects(git(repo.workDir, 'ls-remote', repo.url));
  await gitServer.start();
  assert.notEqual(gitServer.pid, pid);
  assert.match(
    await git(repo.workDir, 'ls-remote', repo.url),
    new RegExp(`^${await repo.headSha()}\\t`, 'm'),
  );
});

void test('stop() ends every process by PID', { timeout: 60_000 }, async () => {
  assert.ok(cp && gitServer);
  const pids = [...cp.pids, gitServer.pid];
  assert.equal(pids.length, 6);
  assert.ok(pids.every(pidAlive), 'all processes run before stop()');
  await gitServer.stop();
  await cp.stop();
  assert.deepEqual(
    pids.filter((pid) => pidAlive(pid)),
    [],
  );
  assert.equal(fs.existsSync(cp.dir), process.env.CAPSTAN_KEEP_TMP === '1');
});
