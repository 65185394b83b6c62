/**
 * `make run`: the main job of capstan on one machine. Without KUBECONFIG it starts the local control
 * plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok); it installs the CRDs,
 * serves `examples/` (with capstan's `helm-chart/` next to `apps/`, as a user's repository holds it)
 * from a local git daemon, creates the root Application (app of apps) as the chart's bootstrap
 * template renders it, and runs capstan in the foreground with readable logs (e2e/examples.ts, shared
 * with e2e/suites/examples.e2e.ts). Ctrl-C stops everything it started.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, ControlPlane } from './harness/controlplane';
import { startGitServer } from './harness/gitserver';
import { ManagedProcess } from './harness/process';
import { ROOT } from './operator';
import { EXAMPLES_NAMESPACE, startExamples } from './examples';

const NAMESPACE = EXAMPLES_NAMESPACE;

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
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-run-'));
  const { repo, operator } = await startExamples({
    kubeconfig,
    git,
    cacheDir,
    logPath: path.join(cacheDir, 'capstan.log'),
  });
  state.operator = operator;
  console.log(`
examples/ (with helm-chart/) is served at ${repo.url}; the root Application "root" in namespace
${NAMESPACE} deploys apps/: capstan itself (its chart, as \`helm install\` would), guestbook, hello
and secrets. Look at it from another terminal:

  export KUBECONFIG=${kubeconfig}
  export PATH=${path.join(ROOT, '.tools', 'bin')}:$PATH
  kubectl get applications -A
  kubectl get deploy,svc,cm -n guestbook
  kubectl get deploy,svc,cm -n hello
  kubectl get secretstore,externalsecret,secret -n secrets
  kubectl get deploy,lease -n ${NAMESPACE}   # capstan's Deployment; this process holds the Lease

Change a file in ${repo.workDir}, commit and push (git push origin HEAD), then
  kubectl annotate application -n ${NAMESPACE} root argocd.argoproj.io/refresh=normal --overwrite

Ctrl-C stops everything. capstan's logs follow.
`);
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
