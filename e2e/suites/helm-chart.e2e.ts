/**
 * The Helm chart that installs capstan: it lints, `helm install` with the bootstrap Application
 * enabled creates every object with the expected fields and a Deployment that becomes Available
 * (kwok runs the pod; the image is never pulled), and `helm uninstall` removes them again,
 * cluster-scoped ones included. The CRDs are already installed by e2e/run.ts, so helm skips crds/.
 * Names are unique per run because other suites share the cluster.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from '../harness/tools';
import { waitFor } from '../harness/wait';
import { ROOT } from '../operator';
import { apps, core, getObject, kubeconfig, kubectl, uniqueName } from './lib';
import type { KubeObject } from '../../operator/kube/object';

const run = promisify(execFile);
const CHART = path.join(ROOT, 'helm-chart');
const REPO_URL = 'git://127.0.0.1:1/x.git';

/** The fields of the objects this suite reads. */
interface Container {
  command: string[];
  args: string[];
  env: Array<{ name: string; valueFrom?: unknown }>;
  securityContext: { readOnlyRootFilesystem?: boolean };
  volumeMounts: Array<{ mountPath: string }>;
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
}
type Deployment = KubeObject & {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: { serviceAccountName: string; containers: Container[] };
    };
  };
  status?: { conditions?: Array<{ type: string; status: string }> };
};
type Rbac = KubeObject & { rules?: unknown[]; roleRef: { kind: string; name: string }; subjects?: unknown[] };
type Service = KubeObject & {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number }> };
};
type WithSpec = KubeObject & { spec: unknown };

const rbacPath = (plural: string, name: string, ns?: string): string =>
  `/apis/rbac.authorization.k8s.io/v1/${ns ? `namespaces/${ns}/` : ''}${plural}/${name}`;
const argoPath = (ns: string, plural: string, name: string): string =>
  `/apis/argoproj.io/v1alpha1/namespaces/${ns}/${plural}/${name}`;

describe('Helm chart', () => {
  // helm's own cache and config go to a temp dir so that the test neither reads nor writes ~/.config/helm.
  const helmHome = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-helm-home-'));
  const helmEnv = {
    ...process.env,
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
  };
  const helm = async (...args: string[]): Promise<string> =>
    (await run(toolPath('helm'), args, { env: helmEnv, cwd: ROOT })).stdout;

  const ns = uniqueName('helm-chart');
  const fullname = uniqueName('capstan');
  const clusterName = `${fullname}-${ns}`;
  let installed = false;

  before(async () => {
    await kubectl('create', 'namespace', ns);
  });
  after(async () => {
    // Also when a test failed: leave nothing cluster-scoped behind for the other suites.
    if (installed)
      await helm('uninstall', 'capstan', '-n', ns, '--kubeconfig', kubeconfig()).catch(() => undefined);
    await kubectl('delete', 'namespace', ns, '--wait=false', '--ignore-not-found').catch(() => undefined);
    fs.rmSync(helmHome, { recursive: true, force: true });
  });

  test('helm lint passes with default values and with bootstrap enabled', async () => {
    await helm('lint', '--strict', CHART);
    await helm(
      'lint',
      '--strict',
      CHART,
      '--set',
      'bootstrap.enabled=true',
      '--set',
      `bootstrap.repoURL=${REPO_URL}`,
    );
  });

  test('bootstrap without repoURL is refused', async () => {
    await assert.rejects(
      helm('template', 'capstan', CHART, '--set', 'bootstrap.enabled=true'),
      /bootstrap\.repoURL is required/,
    );
  });

  test('helm install refuses a value of the wrong type or an unknown key and creates nothing', async () => {
    for (const [flag, message] of [
      ['replicaCount=two', /replicaCount.*want integer/],
      ['rbac.clusterwide=false', /additional properties 'clusterwide' not allowed/],
    ] as const) {
      const args = ['install', 'capstan', CHART, '-n', ns, '--kubeconfig', kubeconfig()];
      await assert.rejects(
        helm(...args, flag.startsWith('replicaCount') ? '--set-string' : '--set', flag),
        message,
      );
    }
    assert.equal(await helm('list', '-n', ns, '-q', '--kubeconfig', kubeconfig()), '');
    assert.equal(await getObject(core(ns, 'serviceaccounts', 'capstan')), undefined, 'no ServiceAccount');
  });

  test('helm install creates a running capstan, the root Application and the default project', async () => {
    const values = [
      `fullnameOverride=${fullname}`,
      'bootstrap.enabled=true',
      `bootstrap.repoURL=${REPO_URL}`,
      'bootstrap.path=apps',
    ];
    await helm(
      'install',
      'capstan',
      CHART,
      '-n',
      ns,
      '--kubeconfig',
      kubeconfig(),
      ...values.flatMap((v) => ['--set', v]),
    );
    installed = true;

    const deploy = await waitFor(
      async () => {
        const d = (await getObject(apps(ns, 'deployments', fullname))) as Deployment | undefined;
        const available = d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
        return available ? d : undefined;
      },
      { timeoutMs: 90_000, what: `Deployment ${ns}/${fullname} to be Available` },
    );
    const container = deploy.spec.template.spec.containers[0];
    assert.deepEqual(container.command, ['node', 'dist/operator/main.js']);
    for (const arg of [
      '--controllers=application,appproject,externalsecret,clusterexternalsecret,pushsecret',
      '--leader-elect',
      `--controller-namespace=${ns}`,
      '--cache-dir=/var/cache/capstan',
      '--metrics-port=8080',
    ]) {
      assert.ok(container.args.includes(arg), `args contain ${arg}: ${container.args.join(' ')}`);
    }
    assert.deepEqual(container.env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom, {
      fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
    });
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(container.volumeMounts.map((m) => m.mountPath).sort(), ['/tmp', '/var/cache/capstan']);
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(deploy.spec.template.spec.serviceAccountName, fullname);

    assert.ok(await getObject(core(ns, 'serviceaccounts', fullname)), 'ServiceAccount');
    const role = (await getObject(rbacPath('clusterroles', clusterName))) as Rbac;
    assert.deepEqual(role.rules, [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
    const binding = (await getObject(rbacPath('clusterrolebindings', clusterName))) as Rbac;
    assert.equal(binding.roleRef.name, clusterName);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: fullname, namespace: ns }]);
    const leaseBinding = (await getObject(rbacPath('rolebindings', fullname, ns))) as Rbac;
    assert.equal(leaseBinding.roleRef.kind, 'Role');

    const svc = (await getObject(core(ns, 'services', `${fullname}-metrics`))) as Service;
    assert.deepEqual(
      svc.spec.ports.map((p) => [p.name, p.port]),
      [['metrics', 8080]],
    );
    const podLabels = deploy.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(podLabels[k], v, `selector ${k}`);

    const root = (await getObject(argoPath(ns, 'applications', 'root'))) as WithSpec;
    assert.deepEqual(root.spec, {
      project: 'default',
      source: { repoURL: REPO_URL, targetRevision: 'HEAD', path: 'apps' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    });
    const project = (await getObject(argoPath(ns, 'appprojects', 'default'))) as WithSpec;
    assert.deepEqual(project.spec, {
      sourceRepos: ['*'],
      destinations: [{ server: '*', namespace: '*' }],
      clusterResourceWhitelist: [{ group: '*', kind: '*' }],
    });
  });

  test('helm uninstall removes what the chart created, cluster-scoped objects included, and keeps the default AppProject', async () => {
    assert.ok(installed, 'installed by the previous test');
    await helm('uninstall', 'capstan', '-n', ns, '--kubeconfig', kubeconfig(), '--wait');
    installed = false;
    assert.equal(await getObject(rbacPath('clusterroles', clusterName)), undefined, 'ClusterRole');
    assert.equal(
      await getObject(rbacPath('clusterrolebindings', clusterName)),
      undefined,
      'ClusterRoleBinding',
    );
    assert.equal(await getObject(argoPath(ns, 'applications', 'root')), undefined, 'root Application');
    // Kept (defaultProject.keep: helm.sh/resource-policy): Applications outlive the release, their project too.
    const project = await getObject(argoPath(ns, 'appprojects', 'default'));
    assert.equal(
      project?.metadata.annotations?.['helm.sh/resource-policy'],
      'keep',
      'default AppProject kept',
    );
    assert.ok(!project?.metadata.deletionTimestamp, 'default AppProject not deleting');
  });
});
