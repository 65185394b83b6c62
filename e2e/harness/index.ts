/**
 * The end-to-end harness: a real local Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok) and real git servers, all as processes on
 * 127.0.0.1 started and stopped by PID. Start each once per test run; isolate tests by namespace
 * and by repository.
 */
export { startControlPlane, defaultBinDir, FAKE_NODE_NAME, K8S_VERSION } from './controlplane';
export type { ControlPlane, ControlPlaneOptions } from './controlplane';
export { startGitServer, git } from './gitserver';
export type { GitServer, GitServerOptions, GitRepo } from './gitserver';
export { waitFor, FatalWaitError, errorText } from './wait';
export type { WaitOptions } from './wait';
export { pidAlive } from './process';
export { toolPath } from './tools';
