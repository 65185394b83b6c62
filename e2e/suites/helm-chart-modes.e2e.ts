/**
 * The chart's RBAC modes and optional objects against the real API server: for each mode,
 * `helm template | kubectl apply --dry-run=server --validate=strict` (every field known to the
 * server's schemas, the CRs valid against capstan's CRDs; the namespaced mode's Roles in two
 * namespaces and no ClusterRole, see namespaced.e2e.ts for capstan running with it), and the narrow ExternalSecrets-only
 * ClusterRole applied for real and asked with `kubectl auth can-i --as` the service account (the
 * control plane runs RBAC): what the ExternalSecret operators use is allowed, deploying anything is
 * not; and capstan run out of cluster with `--controllers externalsecret` as that service account
 * (a TokenRequest for it, on a private control plane so that the run's capstan does not do the
 * work) syncs ExternalSecrets of a SecretStore and of a ClusterSecretStore. The ServiceMonitor is left out of the dry-run: the control plane has no prometheus-operator
 * CRDs (scripts/chart.test.ts checks that it renders).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { ManagedProcess } from '../harness/process';
import { toolPath } from '../harness/tools';
import { waitFor } from '../harness/wait';
import { ROOT, startOperatorAppending } from '../operator';
import { startControlPlane, type ControlPlane } from '../harness/controlplane';
import { FAULT_CONTROLLER_NAMESPACE, startFaultEnv, type FaultEnv } from './faults-lib';
import { kubectl, uniqueName } from './lib';
import { tokenKubeconfig } from '../harness/chartsa';

const run = promisify(execFile);
const CHART = path.join(ROOT, 'helm-chart');
const DIGEST = 'sha256:' + '0123456789abcdef'.repeat(4);
const ES_API = '/apis/external-secrets.io/v1';
/** The chart's RBAC objects (what a narrow install grants). */
const RBAC_TEMPLATES = ['serviceaccount', 'clusterrole', 'clusterrolebinding', 'role', 'rolebinding'].flatMap(
  (t) => ['--show-only', `templates/${t}.yaml`],
);

/** The value sets of each mode (helm flags). */
const MODES: Record<string, string[]> = {
  'cluster-wide (default) with bootstrap': [
    '--set',
    'bootstrap.enabled=true,bootstrap.repoURL=https://git.example.com/platform.git,bootstrap.path=apps',
  ],
  'externalsecret only (narrow ClusterRole)': [
    '--set-json',
    'controllers=["externalsecret"]',
    '--set',
    'defaultProject.create=false',
  ],
  'every optional object': [
    '--set',
    'crds.install=true,podDisruptionBudget.enabled=true,podDisruptionBudget.minAvailable=50%',
    '--set',
    'networkPolicy.enabled=true,impersonation.enabled=true,replicaCount=2',
    '--set',
    `image.digest=${DIGEST},priorityClassName=system-cluster-critical`,
    '--set-json',
    'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]',
    '--set-json',
    'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"}]',
  ],
};

describe('Helm chart modes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-chart-modes-'));
  const helmEnv = {
    ...process.env,
    HELM_CACHE_HOME: path.join(dir, 'cache'),
    HELM_CONFIG_HOME: path.join(dir, 'config'),
    HELM_DATA_HOME: path.join(dir, 'data'),
  };
  const ns = uniqueName('chart-modes');
  const release = uniqueName('capstan');
  let narrowFile: string | undefined;

  /** `helm template` of the chart in ns into a file; returns its path. */
  const template = async (name: string, flags: string[]): Promise<string> => {
    const args = ['template', release, CHART, '--namespace', ns, ...flags];
    const { stdout } = await run(toolPath('helm'), args, { env: helmEnv, maxBuffer: 64 << 20 });
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    fs.writeFileSync(file, stdout);
    return file;
  };

  /** A second watched namespace of the namespaced mode (its Role must land there). */
  const tenant = `${ns}-tenant`;

  before(async () => {
    await kubectl('create', 'namespace', ns);
    await kubectl('create', 'namespace', tenant);
  });
  after(async () => {
    if (narrowFile) await kubectl('delete', '-f', narrowFile, '--ignore-not-found').catch(() => undefined);
    await kubectl('delete', 'namespace', tenant, '--wait=false', '--ignore-not-found').catch(() => undefined);
    await kubectl('delete', 'namespace', ns, '--wait=false', '--ignore-not-found').catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [mode, flags] of Object.entries(MODES)) {
    test(`${mode}: the API server accepts every object (dry-run, strict validation)`, async () => {
      const file = await template(mode, flags);
      const out = await kubectl('apply', '--dry-run=server', '--validate=strict', '-n', ns, '-f', file);
      // One line per object: "<kind>/<name> created|configured|unchanged (server dry run)".
      const kinds = out
        .trim()
        .split('\n')
        .map((l) => l.split('/')[0]);
      assert.ok(kinds.includes('deployment.apps'), out);
      assert.ok(kinds.includes('clusterrole.rbac.authorization.k8s.io'), out);
      if (mode.startsWith('every optional')) {
        for (const k of [
          'poddisruptionbudget.policy',
          'networkpolicy.networking.k8s.io',
          'customresourcedefinition.apiextensions.k8s.io',
        ])
          assert.ok(kinds.includes(k), `${k} in: ${out}`);
      }
    });
  }

  test('namespaced (rbac.clusterWide=false): the API server accepts every object, Roles in each watched namespace and no ClusterRole', async () => {
    const file = await template('namespaced', [
      '--set',
      'rbac.clusterWide=false,impersonation.enabled=true',
      '--set-json',
      `watchNamespaces=["${ns}","${tenant}"]`,
    ]);
    // No -n: the Roles name their namespaces (release and tenant); kubectl refuses a mismatch with -n.
    const out = await kubectl('apply', '--dry-run=server', '--validate=strict', '-f', file);
    const lines = out.trim().split('\n');
    const kinds = lines.map((l) => l.split('/')[0]);
    assert.ok(kinds.includes('deployment.apps'), out);
    assert.ok(!kinds.some((kd) => kd.startsWith('cluster')), `nothing cluster-scoped: ${out}`);
    // One Role and RoleBinding <release>-scoped per namespace (release and tenant), plus the lease Role.
    assert.equal(
      lines.filter((l) => l.startsWith(`role.rbac.authorization.k8s.io/${release}-scoped `)).length,
      2,
      out,
    );
    assert.equal(
      lines.filter((l) => l.startsWith(`rolebinding.rbac.authorization.k8s.io/${release}-scoped `)).length,
      2,
      out,
    );
    const rendered = fs.readFileSync(file, 'utf8');
    assert.match(rendered, new RegExp(`--watch-namespaces=${ns},${tenant}`));
    assert.match(rendered, new RegExp(`namespace: ${tenant}\\n`));
  });

  test('externalsecret only: the service account may do what the ExternalSecret operators do, and no more', async () => {
    const sa = `system:serviceaccount:${ns}:${release}`;
    narrowFile = await template('narrow-rbac', [
      ...MODES['externalsecret only (narrow ClusterRole)'],
      ...RBAC_TEMPLATES,
    ]);
    await kubectl('apply', '-n', ns, '-f', narrowFile);
    /** `kubectl auth can-i` answers with exit code 1 for "no". */
    const can = async (...args: string[]): Promise<boolean> =>
      kubectl('auth', 'can-i', '--as', sa, ...args).then(
        () => true,
        () => false,
      );
    const other = 'default';
    const allowed: string[][] = [
      ['create', 'secrets', '-n', other],
      ['delete', 'secrets', '-n', other],
      ['watch', 'externalsecrets.external-secrets.io', '--all-namespaces'],
      ['patch', 'externalsecrets.external-secrets.io', '--subresource=status', '-n', other],
      ['list', 'clustersecretstores.external-secrets.io'],
      ['get', 'namespaces'],
      ['get', 'configmaps', '-n', other],
      ['create', 'serviceaccounts', '--subresource=token', '-n', other],
      ['create', 'events', '-n', other],
      ['update', 'leases.coordination.k8s.io', '-n', ns],
    ];
    const denied: string[][] = [
      ['create', 'deployments.apps', '-n', other],
      ['create', 'applications.argoproj.io', '-n', other],
      ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ['update', 'leases.coordination.k8s.io', '-n', other],
    ];
    for (const a of allowed) assert.equal(await can(...a), true, `allowed: ${a.join(' ')}`);
    for (const d of denied) assert.equal(await can(...d), false, `denied: ${d.join(' ')}`);
  });
});

describe('capstan with --controllers externalsecret as the narrow chart service account', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-chart-narrow-'));
  const ns = FAULT_CONTROLLER_NAMESPACE; // the release namespace: the Role holds the Lease there
  const release = 'capstan';
  let env: FaultEnv | undefined;
  let proc: ManagedProcess | undefined;

  before(async () => {
    env = await startFaultEnv({ startOperator: false });
  });
  after(async () => {
    await proc?.stop();
    await env?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('syncs ExternalSecrets of a SecretStore and a ClusterSecretStore with only the narrow ClusterRole', async () => {
    assert.ok(env);
    const admin = env.kubeconfig;
    const k = async (...args: string[]): Promise<string> =>
      (await run(toolPath('kubectl'), ['--kubeconfig', admin, ...args])).stdout;
    const { stdout: rbac } = await run(
      toolPath('helm'),
      [
        'template',
        release,
        CHART,
        '--namespace',
        ns,
        ...MODES['externalsecret only (narrow ClusterRole)'],
        ...RBAC_TEMPLATES,
      ],
      { env: { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir } },
    );
    const rbacFile = path.join(dir, 'rbac.yaml');
    fs.writeFileSync(rbacFile, rbac);
    await k('apply', '-n', ns, '-f', rbacFile);
    const token = (await k('create', 'token', release, '-n', ns, '--duration=1h')).trim();
    const saKubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(saKubeconfig, tokenKubeconfig(admin, token), { mode: 0o600 });
    const logPath = path.join(dir, 'capstan.log');
    proc = await startOperatorAppending({
      kubeconfig: saKubeconfig,
      controllerNamespace: ns,
      logPath,
      cacheDir: path.join(dir, 'cache'),
      args: ['--metrics-port', '0', '--controllers', 'externalsecret', '--leader-elect'],
    });

    const tenant = 'tenant-a';
    await k('create', 'namespace', tenant);
    const objects = [
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'fake', namespace: tenant },
        spec: { provider: { fake: { data: [{ key: 'db-user', value: 'app' }] } } },
      },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterSecretStore',
        metadata: { name: `${release}-narrow-fake` },
        spec: {
          conditions: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': tenant } } }],
          provider: { fake: { data: [{ key: 'api-key', value: 'k-1' }] } },
        },
      },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'from-store', namespace: tenant },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: 'fake', kind: 'SecretStore' },
          data: [{ secretKey: 'user', remoteRef: { key: 'db-user' } }],
        },
      },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'from-cluster-store', namespace: tenant },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: `${release}-narrow-fake`, kind: 'ClusterSecretStore' },
          data: [{ secretKey: 'api', remoteRef: { key: 'api-key' } }],
        },
      },
    ];
    const objectsFile = path.join(dir, 'objects.yaml');
    fs.writeFileSync(objectsFile, objects.map((o) => stringify(o)).join('---\n'));
    await k('apply', '-f', objectsFile);

    for (const [name, key] of [
      ['from-store', 'user'],
      ['from-cluster-store', 'api'],
    ]) {
      await waitFor(
        async () => {
          const es = (await env!.kube.request(
            'GET',
            `${ES_API}/namespaces/${tenant}/externalsecrets/${name}`,
          )) as {
            status?: { conditions?: Array<{ type: string; status: string }> };
          };
          const ready = es.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          const secret = await env!.kube
            .request('GET', `/api/v1/namespaces/${tenant}/secrets/${name}`)
            .catch(() => undefined);
          const keys = Object.keys((secret as { data?: Record<string, string> } | undefined)?.data ?? {});
          return ready && keys.includes(key);
        },
        { timeoutMs: 30_000, what: `ExternalSecret ${tenant}/${name} Ready with key ${key}` },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n--- capstan log ---\n${proc?.tail(40) ?? ''}`);
      });
    }
    assert.doesNotMatch(
      fs.readFileSync(logPath, 'utf8'),
      /forbidden/i,
      'no request of capstan was forbidden',
    );
  });
});

describe('CRDs as templates (crds.install): helm upgrades them and keeps them on uninstall', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-chart-crds-'));
  let cp: ControlPlane | undefined;
  before(async () => {
    cp = await startControlPlane(); // no CRDs: the chart is the only thing that installs them
  });
  after(async () => {
    await cp?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('install with --take-ownership, upgrade adds a schema field, uninstall keeps CRDs and CRs, an existing install adopts them', async () => {
    assert.ok(cp);
    const kubeconfig = cp.kubeconfigPath;
    const ns = 'capstan';
    const helmEnv = { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir };
    const helm = async (...args: string[]): Promise<string> =>
      (await run(toolPath('helm'), [...args, '--kubeconfig', kubeconfig], { env: helmEnv })).stdout;
    const k = async (...args: string[]): Promise<string> =>
      (await run(toolPath('kubectl'), ['--kubeconfig', kubeconfig, ...args])).stdout;
    type Crd = {
      metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
      spec: {
        versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: object } } } } }>;
      };
    };
    const crd = async (name: string): Promise<Crd> =>
      JSON.parse(await k('get', 'crd', name, '-o', 'json')) as Crd;

    await helm(
      'install',
      'capstan',
      CHART,
      '-n',
      ns,
      '--create-namespace',
      // crds/ creates the CRDs first, so that the chart's AppProject maps; the templated copies
      // then take them over (a plain --skip-crds install fails: no kind AppProject yet).
      '--take-ownership',
      '--set',
      'crds.install=true',
    );
    const installed = await crd('appprojects.argoproj.io');
    assert.equal(installed.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    assert.equal(installed.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
    // The chart's default AppProject was created in the same install, after its CRD.
    await k('get', 'appproject', 'default', '-n', ns);

    // A chart version whose AppProject CRD has one more field: helm upgrade applies it.
    const chart = path.join(dir, 'chart');
    fs.cpSync(CHART, chart, { recursive: true });
    const file = path.join(chart, 'crds', 'argoproj.io_appprojects.yaml');
    const doc = parse(fs.readFileSync(file, 'utf8')) as Crd;
    Object.assign(doc.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties, {
      e2eUpgradeField: { type: 'string', description: 'Added by the chart upgrade test.' },
    });
    fs.writeFileSync(file, stringify(doc));
    await helm('upgrade', 'capstan', chart, '-n', ns, '--set', 'crds.install=true');
    const upgraded = await crd('appprojects.argoproj.io');
    assert.ok(
      'e2eUpgradeField' in upgraded.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties,
    );

    // A user's AppProject outside the release: it must outlive the uninstall with its CRD.
    await k('create', 'namespace', 'tenant');
    const kept = path.join(dir, 'kept.yaml');
    fs.writeFileSync(
      kept,
      stringify({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: 'kept', namespace: 'tenant' },
        spec: { sourceRepos: ['*'], e2eUpgradeField: 'x' },
      }),
    );
    await k('apply', '-f', kept);

    await helm('uninstall', 'capstan', '-n', ns, '--wait');
    for (const name of [
      'applications.argoproj.io',
      'appprojects.argoproj.io',
      'externalsecrets.external-secrets.io',
      'secretstores.external-secrets.io',
      'clustersecretstores.external-secrets.io',
    ])
      await k('get', 'crd', name); // kept: helm.sh/resource-policy keep
    await k('get', 'appproject', 'kept', '-n', 'tenant');

    // An install that left the CRDs to crds/ switches to crds.install with one upgrade.
    await helm('install', 'capstan', CHART, '-n', ns);
    await helm('upgrade', 'capstan', CHART, '-n', ns, '--take-ownership', '--set', 'crds.install=true');
    const adopted = await crd('applications.argoproj.io');
    assert.equal(adopted.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
    assert.equal(adopted.metadata.annotations?.['meta.helm.sh/release-name'], 'capstan');
    await k('get', 'appproject', 'kept', '-n', 'tenant');
  });
});
