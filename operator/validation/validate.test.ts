import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { schemas, apiResources } from '../../generated/schemas';
import { applicationSpecErrors, appProjectSpecErrors, fieldPath, validateResource } from './validate';

type Obj = Record<string, unknown>;

const destination = { server: 'https://kubernetes.default.svc', namespace: 'guestbook' };

/** A valid directory Application, the base the cases below modify. */
function app(spec: Obj = {}, extra: Obj = {}): Obj {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'guestbook', namespace: 'argocd' },
    spec: {
      project: 'default',
      source: { repoURL: 'https://git.example.com/apps.git', targetRevision: 'HEAD', path: 'guestbook' },
      destination,
      ...spec,
    },
    ...extra,
  };
}

interface Case {
  name: string;
  kind?: string;
  obj: unknown;
  /** Expected errors, exactly and in order; empty means valid. */
  errors: string[];
}

const cases: Case[] = [
  {
    name: 'valid directory app with sync policy and ignoreDifferences',
    obj: app({
      source: {
        repoURL: 'https://git.example.com/apps.git',
        path: 'guestbook',
        directory: { recurse: true, include: '*.yaml', jsonnet: { extVars: [{ name: 'a', value: 'b' }] } },
      },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: ['CreateNamespace=true'],
        retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
        managedNamespaceMetadata: { labels: { 'app.kubernetes.io/part-of': 'guestbook' } },
      },
      ignoreDifferences: [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }],
      revisionHistoryLimit: 3,
      info: [{ name: 'docs', value: 'https://example.com' }],
    }),
    errors: [],
  },
  {
    name: 'valid helm app from a chart repository',
    obj: app({
      source: {
        repoURL: 'https://charts.example.com',
        chart: 'podinfo',
        targetRevision: '6.*',
        helm: {
          releaseName: 'podinfo',
          valueFiles: ['values-prod.yaml'],
          values: 'replicaCount: 2\n',
          valuesObject: { image: { tag: 'v1' }, list: [1, 2] },
          parameters: [{ name: 'service.port', value: '8080', forceString: true }],
          fileParameters: [{ name: 'config', path: 'files/config.json' }],
          skipCrds: true,
          apiVersions: ['monitoring.coreos.com/v1'],
        },
      },
    }),
    errors: [],
  },
  {
    name: 'valid multi-source app (chart + values ref) with kustomize replicas as int or string',
    obj: app({
      source: undefined,
      sources: [
        {
          repoURL: 'https://charts.example.com',
          chart: 'podinfo',
          helm: { valueFiles: ['$values/podinfo.yaml'] },
        },
        { repoURL: 'https://git.example.com/values.git', ref: 'values' },
        {
          repoURL: 'https://git.example.com/apps.git',
          path: 'overlays/prod',
          kustomize: {
            replicas: [
              { name: 'web', count: 3 },
              { name: 'api', count: '2' },
            ],
            patches: [{ path: 'p.yaml' }],
          },
        },
      ],
    }),
    errors: [],
  },
  {
    name: 'valid app with a top-level sync operation',
    obj: app(
      {},
      { operation: { sync: { prune: true, syncStrategy: { hook: {} } }, initiatedBy: { username: 'me' } } },
    ),
    errors: [],
  },
  {
    name: 'missing repoURL',
    obj: app({ source: { path: 'guestbook' } }),
    errors: ['spec.source.repoURL: Required value'],
  },
  {
    name: 'missing repoURL in the second of several sources',
    obj: app({ source: undefined, sources: [{ repoURL: 'https://a' }, { path: 'x' }] }),
    errors: ['spec.sources[1].repoURL: Required value'],
  },
  {
    name: 'wrong types',
    obj: app({
      source: { repoURL: 42, path: 'x' },
      syncPolicy: { retry: { limit: 'five' }, syncOptions: 'CreateNamespace=true' },
      revisionHistoryLimit: 1.5,
    }),
    errors: [
      'spec.source.repoURL: must be string',
      'spec.syncPolicy.syncOptions: must be array',
      'spec.syncPolicy.retry.limit: must be integer',
      'spec.revisionHistoryLimit: must be integer',
    ],
  },
  {
    name: 'int-or-string field with a boolean, and a map with a non-string value',
    obj: app({
      source: {
        repoURL: 'https://a',
        kustomize: {
          replicas: [{ name: 'web', count: true }],
          commonLabels: { 'app.kubernetes.io/name': 1 },
        },
      },
    }),
    errors: [
      'spec.source.kustomize.commonLabels[app.kubernetes.io/name]: must be string',
      'spec.source.kustomize.replicas[0].count: must be integer or string',
    ],
  },
  {
    name: 'missing destination',
    obj: app({ destination: undefined }),
    errors: ['spec.destination: Required value'],
  },
  {
    name: 'destination with neither server nor name',
    obj: app({ destination: { namespace: 'guestbook' } }),
    errors: ['spec.destination: required field "server" or "name" is missing'],
  },
  {
    name: 'destination with both server and name',
    obj: app({ destination: { server: 'https://kubernetes.default.svc', name: 'in-cluster' } }),
    errors: ['spec.destination: set "server" or "name", not both'],
  },
  {
    name: 'both source and sources',
    obj: app({ sources: [{ repoURL: 'https://a' }] }),
    errors: ['spec: set "source" or "sources", not both'],
  },
  {
    name: 'neither source nor sources (an empty list counts as absent)',
    obj: app({ source: undefined, sources: [] }),
    errors: ['spec: one of "source" or "sources" is required'],
  },
  {
    name: 'two source types on one source',
    obj: app({ source: { repoURL: 'https://a', helm: {}, kustomize: {} } }),
    errors: ['spec.source: multiple source types set (helm, kustomize); set at most one'],
  },
  {
    name: 'missing project and spec errors reported together',
    obj: app({ project: undefined, destination: { namespace: 'x' } }),
    errors: [
      'spec.project: Required value',
      'spec.destination: required field "server" or "name" is missing',
    ],
  },
  {
    name: 'missing spec',
    obj: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x' } },
    errors: ['spec: Required value'],
  },
  {
    // The API server prunes undeclared fields (or rejects them only under strict field validation), so what it
    // stores never has them; capstan accepts them rather than be stricter than the cluster.
    name: 'unknown fields in spec are accepted, as the API server prunes them',
    obj: app({ notAField: true, source: { repoURL: 'https://a', bogus: 1 } }),
    errors: [],
  },
  {
    name: 'metadata and status are not validated (the API server owns them)',
    obj: app({}, { metadata: { name: 1 }, status: { sync: { status: 'Bogus' } } }),
    errors: [],
  },
  {
    name: 'invalid operation',
    obj: app({}, { operation: { sync: { prune: 'yes', resources: [{ kind: 'Deployment' }] } } }),
    errors: ['operation.sync.prune: must be boolean', 'operation.sync.resources[0].name: Required value'],
  },
  {
    name: 'valid AppProject',
    kind: 'AppProject',
    obj: {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'team-a', namespace: 'argocd' },
      spec: {
        description: 'Team A',
        sourceRepos: ['https://git.example.com/*'],
        destinations: [{ server: '*', namespace: 'team-a-*' }],
        clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
        namespaceResourceBlacklist: [{ group: '', kind: 'ResourceQuota' }],
        orphanedResources: { warn: true, ignore: [{ kind: 'ConfigMap', name: 'kube-root-ca.crt' }] },
        syncWindows: [{ kind: 'deny', schedule: '0 22 * * *', duration: '1h30m', applications: ['*'] }],
        roles: [{ name: 'ci', policies: ['p, proj:team-a:ci, applications, sync, team-a/*, allow'] }],
        signatureKeys: [{ keyID: '4AEE18F83AFDEB23' }],
      },
    },
    errors: [],
  },
  {
    name: 'invalid AppProject: kind without group, bad sync window',
    kind: 'AppProject',
    obj: {
      spec: {
        clusterResourceWhitelist: [{ kind: 'Namespace' }],
        syncWindows: [{ kind: 'maybe', schedule: '* * * * *', duration: 'an hour' }],
      },
    },
    errors: [
      'spec.clusterResourceWhitelist[0].group: Required value',
      'spec.syncWindows[0].kind: must be "allow" or "deny"',
      'spec.syncWindows[0].duration: must be a duration such as 1h or 30m',
    ],
  },
  { name: 'not an object', obj: 'Application', errors: ['<root>: must be object'] },
  { name: 'unknown kind', kind: 'Rollout', obj: {}, errors: ['kind: no schema for kind "Rollout"'] },
];

for (const c of cases) {
  void test(`validateResource: ${c.name}`, () => {
    const result = validateResource(c.kind ?? 'Application', c.obj);
    if (c.errors.length === 0) {
      assert.deepEqual(result, { valid: true });
    } else {
      assert.deepEqual(result, { valid: false, errors: c.errors, message: c.errors.join('; ') });
    }
  });
}

void test('semantic checks never throw on malformed input', () => {
  for (const spec of [undefined, null, 1, 'x', [], { source: 1, sources: 'x', destination: [] }]) {
    assert.ok(Array.isArray(applicationSpecErrors(spec)));
    assert.ok(Array.isArray(appProjectSpecErrors(spec)));
  }
  assert.deepEqual(appProjectSpecErrors({ syncWindows: [null, 3] }), []);
});

void test('fieldPath renders Kubernetes-style paths', () => {
  assert.equal(fieldPath(''), '');
  assert.equal(fieldPath('', 'spec'), 'spec');
  assert.equal(fieldPath('/spec/sources/0', 'repoURL'), 'spec.sources[0].repoURL');
  assert.equal(fieldPath('/spec/labels/a.b~1c'), 'spec.labels[a.b/c]');
});

void test('every kind with a schema compiles and accepts a minimal valid object', () => {
  const minimal: Record<string, Obj> = { Application: app(), AppProject: { spec: {} } };
  for (const kind of Object.keys(schemas)) {
    assert.ok(minimal[kind], `add a minimal ${kind} to this test`);
    assert.deepEqual(validateResource(kind, minimal[kind]), { valid: true }, kind);
  }
});

/** Every value under `key` anywhere in a JSON tree. */
function findKey(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => findKey(n, key));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) => (k === key ? [v, ...findKey(v, key)] : findKey(v, key)));
}

void test('CRDs carry the generated schema, no defaults, printer columns and the status subresource', () => {
  const root = path.resolve(__dirname, '../..');
  for (const [kind, res] of Object.entries(apiResources)) {
    const file = `${res.group}_${res.plural}.yaml`;
    const crd = YAML.parse(readFileSync(path.join(root, 'crds', file), 'utf8'));
    assert.equal(
      readFileSync(path.join(root, 'helm-chart', 'crds', file), 'utf8'),
      readFileSync(path.join(root, 'crds', file), 'utf8'),
    );
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(crd.metadata.name, `${res.plural}.${res.group}`);
    assert.equal(crd.spec.names.kind, kind);
    const [version] = crd.spec.versions;
    assert.equal(version.name, res.version);
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(version.schema.openAPIV3Schema, schemas[kind as keyof typeof schemas]);
    assert.deepEqual(findKey(crd, 'default'), [], `${kind}: no default`);
    assert.deepEqual(findKey(crd, '$ref'), [], `${kind}: no $ref`);
  }
  const appCrd = YAML.parse(readFileSync(path.join(root, 'crds', 'argoproj.io_applications.yaml'), 'utf8'));
  const columns = appCrd.spec.versions[0].additionalPrinterColumns.map((c: Obj) => [c.name, c.jsonPath]);
  assert.deepEqual(columns.slice(0, 3), [
    ['Sync Status', '.status.sync.status'],
    ['Health Status', '.status.health.status'],
    ['Revision', '.status.sync.revision'],
  ]);
  assert.deepEqual(columns.at(-1), ['Age', '.metadata.creationTimestamp']);
});
