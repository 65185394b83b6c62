/**
 * Running capstan out of cluster as the chart would run it in the cluster: with a token of the chart's
 * ServiceAccount (so that the chart's RBAC is what a test exercises) and the flags of the chart's
 * Deployment. Shared by the bootstrap, namespaced and helm-chart-modes suites.
 */
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../operator/kube/object';

/**
 * A kubeconfig (YAML text) that authenticates with `token` to the first cluster of the admin
 * kubeconfig file `admin`.
 */
export function tokenKubeconfig(admin: string, token: string): string {
  const cfg = parse(fs.readFileSync(admin, 'utf8')) as {
    clusters: Array<{ name: string; cluster: unknown }>;
  };
  const cluster = cfg.clusters[0];
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster],
    users: [{ name: 'chart-sa', user: { token } }],
    contexts: [{ name: 'chart-sa', context: { cluster: cluster.name, user: 'chart-sa' } }],
    'current-context': 'chart-sa',
  });
}

/**
 * The chart Deployment's container flags minus those the harness sets itself for an out-of-cluster
 * run (cache dir, helm binary, metrics port, controller namespace).
 */
export function chartFlags(deployment: KubeObject): string[] {
  const spec = deployment.spec as { template: { spec: { containers: Array<{ args?: string[] }> } } };
  const local = /^--(cache-dir|helm|metrics-port|controller-namespace)=/;
  return (spec.template.spec.containers[0].args ?? []).filter((a) => !local.test(a));
}
