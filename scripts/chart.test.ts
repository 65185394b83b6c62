/**
 * The chart as a user meets it before any cluster: every value documented and in the README's
 * table, values.schema.json covering exactly the values, `helm lint --strict` clean for the value
 * sets users install with, wrong types and unknown keys refused, and the RBAC modes, CRD templates
 * and optional objects rendered as documented. Runs the real helm from .tools/bin.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, readChartValues, TABLE_END, TABLE_START, valuesTable, withTable } from './chart-values';

const run = promisify(execFile);
const HELM = path.resolve(__dirname, '..', '.tools', 'bin', 'helm');
const helmHome = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-chart-test-'));
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: path.join(helmHome, 'cache'),
  HELM_CONFIG_HOME: path.join(helmHome, 'config'),
  HELM_DATA_HOME: path.join(helmHome, 'data'),
};

/** Runs helm; rejects with its stderr in the message. */
async function helm(...args: string[]): Promise<string> {
  try {
    return (await run(HELM, args, { env: helmEnv, maxBuffer: 64 << 20 })).stdout;
  } catch (e) {
    // helm lint reports the schema errors on stdout and only the count on stderr.
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(' ')}: ${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

type Obj = { kind: string; metadata: { name: string; annotations?: Record<string, string> } } & Record<
  string,
  unknown
>;

/** `helm template` with --set/--set-json flags, as parsed objects. */
async function render(...flags: string[]): Promise<Obj[]> {
  const out = await helm('template', 'capstan', CHART_DIR, '--namespace', 'argocd', ...flags);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const values = fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8');
const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
type SchemaNode = { properties?: Record<string, SchemaNode> };

/** Leaf paths of the schema's nested `properties` (a property without properties is a leaf). */
function schemaLeaves(node: SchemaNode, prefix = ''): string[] {
  return Object.entries(node.properties ?? {}).flatMap(([k, v]) =>
    v.properties ? schemaLeaves(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

after(() => fs.rmSync(helmHome, { recursive: true, force: true }));

describe('chart values and their documentation', () => {
  test('every value has a "# --" comment', () => {
    assert.deepEqual(readChartValues(values).undocumented, []);
  });

  test("the README's values table is generated from values.yaml (npx tsx scripts/chart-values.ts)", () => {
    const readme = fs.readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    assert.ok(readme.includes(TABLE_START) && readme.includes(TABLE_END), 'README has the table markers');
    assert.equal(readme, withTable(readme, valuesTable(readChartValues(values).values)));
  });

  test('values.schema.json describes exactly the documented values', () => {
    const documented = readChartValues(values).values.map((v) => v.key);
    assert.deepEqual(
      schemaLeaves(schema)
        .filter((k) => k !== 'global')
        .sort(),
      [...documented].sort(),
    );
  });

  test('readChartValues: a documented map is one row, a section is read, a bare key is undocumented', () => {
    const r = readChartValues(
      ['# -- Doc a.', 'a:', '  x: 1', 'sec:', '  # -- Doc b', '  # continued.', '  b: [1]', 'c: 2', ''].join(
        '\n',
      ),
    );
    assert.deepEqual(r.values, [
      { key: 'a', type: 'object', value: { x: 1 }, description: 'Doc a.' },
      { key: 'sec.b', type: 'list', value: [1], description: 'Doc b continued.' },
    ]);
    assert.deepEqual(r.undocumented, ['c']);
  });
});

describe('helm lint --strict', () => {
  const sets: Record<string, string[]> = {
    defaults: [],
    bootstrap: [
      '--set',
      'bootstrap.enabled=true',
      '--set',
      'bootstrap.repoURL=https://git.example.com/p.git',
    ],
    'externalsecret only': [
      '--set-json',
      'controllers=["externalsecret"]',
      '--set',
      'defaultProject.create=false',
    ],
    'namespaced (tenant) with impersonation': [
      '--set',
      'rbac.clusterWide=false,impersonation.enabled=true',
      '--set-json',
      'watchNamespaces=["team-a","team-b"]',
    ],
    'namespaced externalsecret only, default watchNamespaces': [
      '--set',
      'rbac.clusterWide=false,defaultProject.create=false',
      '--set-json',
      'controllers=["externalsecret"]',
    ],
    'every optional object': [
      '--set',
      'crds.install=true,podDisruptionBudget.enabled=true,networkPolicy.enabled=true,serviceMonitor.enabled=true',
      '--set',
      'image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      '--set',
      'priorityClassName=system-cluster-critical,impersonation.enabled=true,replicaCount=2',
      '--set-json',
      'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"}]',
    ],
  };
  for (const [name, flags] of Object.entries(sets)) {
    test(`passes: ${name}`, async () => {
      await helm('lint', '--strict', CHART_DIR, ...flags);
    });
  }

  const wrong: Array<[string, string[], RegExp]> = [
    ['a string replicaCount', ['--set-string', 'replicaCount=two'], /replicaCount.*want integer/],
    ['an unknown key (a typo)', ['--set', 'rbac.rule=x'], /additional properties 'rule' not allowed/],
    ['a string rbac.clusterWide', ['--set-string', 'rbac.clusterWide=no'], /clusterWide.*want boolean/],
    ['a watched namespace that is no name', ['--set-json', 'watchNamespaces=["Team_A"]'], /watchNamespaces/],
    ['a log level outside its set', ['--set', 'logLevel=verbose'], /logLevel/],
    ['an image tag as digest', ['--set', 'image.digest=latest'], /image\/digest/],
    ['an unknown controller', ['--set-json', 'controllers=["applications"]'], /controllers/],
  ];
  for (const [name, flags, message] of wrong) {
    test(`refuses ${name}`, async () => {
      await assert.rejects(helm('lint', '--strict', CHART_DIR, ...flags), message);
    });
  }
});

describe('rendered objects', () => {
  const clusterRole = (objs: Obj[]): Obj => {
    const role = objs.find((o) => o.kind === 'ClusterRole');
    assert.ok(role, 'a ClusterRole');
    return role;
  };

  test('default: the ClusterRole has every verb on every resource, as Argo CD', async () => {
    assert.deepEqual(clusterRole(await render()).rules, [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    ]);
  });

  test('externalsecret only: the narrow rules, no wildcard', async () => {
    const rules = clusterRole(await render('--set-json', 'controllers=["externalsecret"]')).rules as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }>;
    assert.ok(rules.length > 0);
    for (const r of rules)
      assert.ok(![...r.apiGroups, ...r.resources, ...r.verbs].includes('*'), JSON.stringify(r));
    const can = (group: string, resource: string, verb: string): boolean =>
      rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    assert.ok(can('', 'secrets', 'create') && can('', 'secrets', 'delete'));
    assert.ok(can('external-secrets.io', 'externalsecrets/status', 'patch'));
    assert.ok(can('', 'serviceaccounts/token', 'create'));
    assert.ok(can('', 'events', 'create'));
    assert.ok(!can('apps', 'deployments', 'create'));
    // ClusterExternalSecrets create and delete ExternalSecrets; generators are read
    const both = clusterRole(
      await render('--set-json', 'controllers=["externalsecret","clusterexternalsecret"]'),
    ).rules as typeof rules;
    assert.deepEqual(both, rules, 'the same narrow rules for any subset of the External Secrets operators');
    assert.ok(
      can('external-secrets.io', 'externalsecrets', 'create') &&
        can('external-secrets.io', 'externalsecrets', 'delete'),
    );
    assert.ok(can('external-secrets.io', 'clusterexternalsecrets', 'watch'));
    assert.ok(can('external-secrets.io', 'clusterexternalsecrets/status', 'patch'));
    assert.ok(can('generators.external-secrets.io', 'clustergenerators', 'get'));
    assert.ok(can('generators.external-secrets.io', 'passwords', 'get'));
    assert.ok(can('external-secrets.io', 'pushsecrets', 'watch'));
    assert.ok(can('external-secrets.io', 'pushsecrets/finalizers', 'update'));
    assert.ok(can('external-secrets.io', 'pushsecrets/status', 'patch'));
  });

  test('namespaced (rbac.clusterWide=false): no ClusterRole, a Role and RoleBinding per namespace, --watch-namespaces', async () => {
    const objs = await render(
      '--set',
      'rbac.clusterWide=false',
      '--set-json',
      'watchNamespaces=["team-a","argocd"]',
    );
    assert.deepEqual(
      objs.filter((o) => o.kind.startsWith('Cluster')).map((o) => o.kind),
      [],
      'nothing cluster-scoped but the CRDs of crds/',
    );
    const ns = (o: Obj) => (o.metadata as { namespace?: string }).namespace;
    const scoped = (kind: string) =>
      objs
        .filter((o) => o.kind === kind && o.metadata.name === 'capstan-scoped')
        .map(ns)
        .sort();
    assert.deepEqual(scoped('Role'), ['argocd', 'team-a'], 'release namespace and watched ones, each once');
    assert.deepEqual(scoped('RoleBinding'), ['argocd', 'team-a']);
    const role = objs.find((o) => o.kind === 'Role' && ns(o) === 'team-a');
    assert.deepEqual(role?.rules, [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
    const binding = objs.find((o) => o.kind === 'RoleBinding' && ns(o) === 'team-a') as
      | (Obj & {
          subjects: Array<{ name: string; namespace: string }>;
          roleRef: { kind: string; name: string };
        })
      | undefined;
    assert.deepEqual(binding?.subjects, [{ kind: 'ServiceAccount', name: 'capstan', namespace: 'argocd' }]);
    assert.deepEqual(binding?.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'capstan-scoped',
    });
    const args = (
      objs.find((o) => o.kind === 'Deployment') as unknown as {
        spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
      }
    ).spec.template.spec.containers[0].args;
    assert.ok(args.includes('--watch-namespaces=team-a,argocd'), args.join(' '));
    // The lease Role stays (leader election in the release namespace).
    assert.ok(objs.some((o) => o.kind === 'Role' && o.metadata.name === 'capstan'));
  });

  test('namespaced with no watchNamespaces watches the controller namespace; cluster-wide passes no flag', async () => {
    const args = async (...flags: string[]) =>
      (
        (await render(...flags)).find((o) => o.kind === 'Deployment') as unknown as {
          spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
        }
      ).spec.template.spec.containers[0].args.filter((a) => a.startsWith('--watch-namespaces'));
    assert.deepEqual(await args('--set', 'rbac.clusterWide=false'), ['--watch-namespaces=argocd']);
    assert.deepEqual(await args('--set', 'rbac.clusterWide=false,controllerNamespace=gitops'), [
      '--watch-namespaces=gitops',
    ]);
    assert.deepEqual(await args(), []);
    // watchNamespaces with the ClusterRole kept: the watches narrow, the ClusterRole stays.
    const objs = await render('--set-json', 'watchNamespaces=["team-a"]');
    assert.ok(objs.some((o) => o.kind === 'ClusterRole'));
    assert.deepEqual(await args('--set-json', 'watchNamespaces=["team-a"]'), ['--watch-namespaces=team-a']);
  });

  test('image by digest wins over the tag', async () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    const objs = await render('--set', `image.digest=${digest}`, '--set', 'image.tag=1.2.3');
    const deploy = objs.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    assert.equal(deploy.spec.template.spec.containers[0].image, `ghcr.io/capstan-gitops/capstan@${digest}`);
  });

  test('crds.install renders the CRDs, kept on uninstall unless crds.keep=false', async () => {
    assert.equal((await render()).filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
    const kept = (await render('--set', 'crds.install=true')).filter(
      (o) => o.kind === 'CustomResourceDefinition',
    );
    assert.deepEqual(kept.map((c) => c.metadata.name).sort(), [
      'applications.argoproj.io',
      'appprojects.argoproj.io',
      'clusterexternalsecrets.external-secrets.io',
      'clustergenerators.generators.external-secrets.io',
      'clustersecretstores.external-secrets.io',
      'externalsecrets.external-secrets.io',
      'passwords.generators.external-secrets.io',
      'pushsecrets.external-secrets.io',
      'secretstores.external-secrets.io',
      'uuids.generators.external-secrets.io',
    ]);
    for (const c of kept) assert.equal(c.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    const dropped = (await render('--set', 'crds.install=true,crds.keep=false')).filter(
      (o) => o.kind === 'CustomResourceDefinition',
    );
    for (const c of dropped) assert.equal(c.metadata.annotations?.['helm.sh/resource-policy'], undefined);
  });

  test('optional objects appear only when enabled; a PDB with both bounds is refused', async () => {
    const kinds = (objs: Obj[]): string[] => objs.map((o) => o.kind);
    const off = kinds(await render());
    for (const k of ['PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor'])
      assert.ok(!off.includes(k), k);
    const on = kinds(
      await render(
        '--set',
        'podDisruptionBudget.enabled=true,networkPolicy.enabled=true,serviceMonitor.enabled=true',
      ),
    );
    for (const k of ['PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor']) assert.ok(on.includes(k), k);
    await assert.rejects(
      render(
        '--set',
        'podDisruptionBudget.enabled=true,podDisruptionBudget.minAvailable=1,podDisruptionBudget.maxUnavailable=1',
      ),
      /minAvailable or maxUnavailable, not both/,
    );
  });
});
