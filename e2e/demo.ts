/**
 * `make run`: the main job of capstan on one machine. Without KUBECONFIG it starts the local control
 * plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok); it installs the CRDs,
 * serves `examples/` from a local git daemon, creates the root Application (app of apps) from
 * `examples/root-application.yaml` pointed at that daemon, and runs capstan in the foreground with
 * readable logs. Ctrl-C stops everything it started.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { startControlPlane, ControlPlane } from './harness/controlplane';
import { startGitServer } from './harness/gitserver';
import { ManagedProcess } from './harness/process';
import { KubeClient, loadKubeConfig, isConflict } from '../operator/kube/client';
import { ensureNamespace, installCrds, ROOT, spawnOperator } from './operator';

const NAMESPACE = 'argocd';

async function main(): Promise<void> {
  let cp: ControlPlane | undefined;
  let kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) {
    console.log(
      'Starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)...',
    );
    cp = await startControlPlane();
    kubeconfig = cp.kubeconfigPath;
    console.log(`Control plane ready in ${(cp.startupMs / 1000).toFixed(1)}s.`);
  }
  const git = await startGitServer();
  const stopAll = async () => {
    await git.stop();
    await cp?.stop();
  };
  const state: { operator?: ManagedProcess } = {};
  const onSignal = () => {
    console.log('\nStopping capstan, the git daemon and the control plane...');
    void (async () => {
      await state.operator?.stop();
      await stopAll();
      process.exit(0);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await installCrds(kubeconfig);
  await ensureNamespace(kubeconfig, NAMESPACE);
  const repo = await git.createRepo('examples', path.join(ROOT, 'examples'));
  const root = parse(fs.readFileSync(path.join(ROOT, 'examples', 'root-application.yaml'), 'utf8'));
  root.spec.source.repoURL = repo.url;
  root.spec.source.helm.parameters = [{ name: 'repoURL', value: repo.url }];
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  await client
    .request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${NAMESPACE}/applications`, { body: root })
    .catch((err: unknown) => {
      if (!isConflict(err)) throw err;
    });
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-run-'));
  console.log(`
examples/ is served at ${repo.url}; the root Application "root" in namespace ${NAMESPACE} deploys it.
Look at it from another terminal:

  export KUBECONFIG=${kubeconfig}
  export PATH=${path.join(ROOT, '.tools', 'bin')}:$PATH
  kubectl get applications -A
  kubectl get deploy,svc,cm -n guestbook
  kubectl get deploy,svc,cm -n hello

Change a file in ${repo.workDir}, commit and push (git push origin HEAD), then
  kubectl annotate application -n ${NAMESPACE} root argocd.argoproj.io/refresh=normal --overwrite

Ctrl-C stops everything. capstan's logs follow.
`);
  const operator = spawnOperator({
    kubeconfig,
    controllerNamespace: NAMESPACE,
    cacheDir,
    logPath: path.join(cacheDir, 'capstan.log'),
    args: [],
  });
  state.operator = operator;
  // Follow the operator's log in the foreground.
  let offset = 0;
  setInterval(() => {
    const size = fs.statSync(operator.logPath).size;
    if (size > offset) {
      const fd = fs.openSync(operator.logPath, 'r');
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      fs.closeSync(fd);
      process.stdout.write(buf);
      offset = size;
    }
    if (operator.exited) {
      console.error('capstan exited; stopping.');
      void stopAll().then(() => process.exit(1));
    }
  }, 300);
}

main().catch((err: unknown) => {
  console.error(`make run failed: ${(err as Error).message}`);
  process.exit(1);
});
