/**
 * The chart's RBAC modes and optional objects against the real API server: for each mode,
 * `helm template | kubectl apply --dry-run=server --validate=strict` (every field known to the
 * server's schemas, the CRs valid against capstan's CRDs), and the narrow ExternalSecrets-only
 * ClusterRole applied for real and asked with `kubectl auth can-i --as` the service account (the
 * control plane runs RBAC): what the ExternalSecret operators use is allowed, deploying anything is
 * not. The ServiceMonitor is left out of the dry-run: the control plane has no prometheus-operator
 * CRDs (scripts/chart.test.ts checks that it renders).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from '../harness/tools';
import { ROOT } from '../operator';
import { kubectl, uniqueName } from './lib';

const run = promisify(execFile);
const CHART = path.join(ROOT, 'helm-chart');
const DIGEST = 'sha256:' + '0123456789abcdef'.repeat(4);

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

  before(async () => {
    await kubectl('create', 'namespace', ns);
  });
  after(async () => {
    if (narrowFile) await kubectl('delete', '-f', narrowFile, '--ignore-not-found').catch(() => undefined);
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

  test('externalsecret only: the service account may do what the ExternalSecret operators do, and no more', async () => {
    const sa = `system:serviceaccount:${ns}:${release}`;
    narrowFile = await template('narrow-rbac', [
      ...MODES['externalsecret only (narrow ClusterRole)'],
      '--show-only',
      'templates/serviceaccount.yaml',
      '--show-only',
      'templates/clusterrole.yaml',
      '--show-only',
      'templates/clusterrolebinding.yaml',
      '--show-only',
      'templates/role.yaml',
      '--show-only',
      'templates/rolebinding.yaml',
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
