import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { schemas, apiResources } from '../../generated/schemas';
import {
  applicationSpecErrors,
  appProjectSpecErrors,
  configuredProviders,
  externalSecretSpecErrors,
  fieldPath,
  goRegExpError,
  parseGoDuration,
  secretStoreSpecErrors,
  validateResource,
} from './validate';

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
  const minimal: Record<string, Obj> = {
    Application: app(),
    AppProject: { spec: {} },
    ExternalSecret: externalSecret(),
    SecretStore: secretStore(),
    ClusterSecretStore: { spec: { provider: { fake: { data: [] } } } },
    ClusterExternalSecret: { spec: { externalSecretSpec: {} } },
    PushSecret: { spec: { secretStoreRefs: [{ name: 's' }], selector: { secret: { name: 'src' } } } },
    Password: { spec: {} },
    UUID: { spec: {} },
    ClusterGenerator: { spec: { kind: 'UUID', generator: { uuidSpec: {} } } },
  };
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

// ---------------------------------------------------------------------------------------------------------------
// External Secrets Operator kinds (external-secrets.io/v1)

/** A valid ExternalSecret reading one key from a SecretStore, the base the cases below modify. */
function externalSecret(spec: Obj = {}): Obj {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'db', namespace: 'team-a' },
    spec: {
      secretStoreRef: { name: 'vault', kind: 'SecretStore' },
      refreshInterval: '1h',
      target: { name: 'db-credentials' },
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
      ...spec,
    },
  };
}

/** A valid SecretStore with the fake provider. */
function secretStore(spec: Obj = {}, kind = 'SecretStore'): Obj {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind,
    metadata: { name: 'fake', ...(kind === 'SecretStore' ? { namespace: 'team-a' } : {}) },
    spec: {
      provider: { fake: { data: [{ key: 'db', value: '{"password":"x"}', version: 'v1' }] } },
      ...spec,
    },
  };
}

const DELETE_NOT_OWNED =
  "spec.target.deletionPolicy: deletionPolicy=Delete must not be used when the controller doesn't own the secret. Please set creationPolicy=Owner";

const esoCases: Case[] = [
  { name: 'valid ExternalSecret', kind: 'ExternalSecret', obj: externalSecret(), errors: [] },
  {
    name: 'valid ExternalSecret with every supported field',
    kind: 'ExternalSecret',
    obj: externalSecret({
      secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' },
      refreshInterval: '1h30m',
      refreshPolicy: 'Periodic',
      target: {
        name: 'app',
        creationPolicy: 'Owner',
        deletionPolicy: 'Delete',
        immutable: false,
        template: {
          type: 'kubernetes.io/dockerconfigjson',
          engineVersion: 'v2',
          mergePolicy: 'Merge',
          metadata: { labels: { app: 'x' }, annotations: { a: 'b' }, finalizers: ['example.com/keep'] },
          data: { '.dockerconfigjson': '{{ .config }}' },
          templateFrom: [
            { configMap: { name: 'tpl', items: [{ key: 'config.yaml', templateAs: 'KeysAndValues' }] } },
            { secret: { name: 'tpl-secret', items: [{ key: 'x' }] }, target: 'Labels' },
            { literal: 'k: {{ .v }}', target: 'Annotations' },
          ],
        },
      },
      data: [
        {
          secretKey: 'config',
          remoteRef: {
            key: 'registry',
            property: 'auth',
            version: 'v2',
            decodingStrategy: 'Base64URL',
            conversionStrategy: 'Default',
            metadataPolicy: 'None',
          },
          sourceRef: { storeRef: { name: 'other', kind: 'SecretStore' } },
        },
      ],
      dataFrom: [
        { extract: { key: 'app', decodingStrategy: 'Auto' } },
        {
          find: { path: 'team-a', name: { regexp: '(?i)^db-(?P<env>[a-z]+)$' }, tags: { env: 'prod' } },
          rewrite: [
            { regexp: { source: '^db-(.*)$', target: '$1' } },
            { transform: { template: '{{ .value }}' } },
          ],
        },
        { sourceRef: { storeRef: { name: 'other' } }, extract: { key: 'shared' } },
      ],
    }),
    errors: [],
  },
  {
    name: 'refreshInterval 0 and 15s are Go durations',
    kind: 'ExternalSecret',
    obj: externalSecret({ refreshInterval: '0', refreshPolicy: 'OnChange' }),
    errors: [],
  },
  {
    name: 'refreshInterval that Go cannot parse',
    kind: 'ExternalSecret',
    obj: externalSecret({ refreshInterval: '1 hour' }),
    errors: ['spec.refreshInterval: Invalid value: "1 hour": must be a Go duration such as 1h, 15m30s or 0'],
  },
  {
    name: 'data entry without secretKey and remoteRef.key',
    kind: 'ExternalSecret',
    obj: externalSecret({ data: [{ remoteRef: { property: 'p' } }] }),
    errors: ['spec.data[0].secretKey: Required value', 'spec.data[0].remoteRef.key: Required value'],
  },
  {
    name: 'enums of the ExternalSecret schema',
    kind: 'ExternalSecret',
    obj: externalSecret({
      secretStoreRef: { name: 'vault', kind: 'Vault' },
      refreshPolicy: 'Always',
      data: [{ secretKey: 'k', remoteRef: { key: 'k', decodingStrategy: 'base64' } }],
    }),
    errors: [
      'spec.secretStoreRef.kind: Unsupported value: "Vault": supported values: "SecretStore", "ClusterSecretStore"',
      'spec.refreshPolicy: Unsupported value: "Always": supported values: "CreatedOnce", "Periodic", "OnChange"',
      'spec.data[0].remoteRef.decodingStrategy: Unsupported value: "base64": supported values: "Auto", "Base64", "Base64URL", "None"',
    ],
  },
  {
    name: 'missing store name while an entry reads the default store',
    kind: 'ExternalSecret',
    obj: externalSecret({ secretStoreRef: undefined }),
    errors: ['spec.secretStoreRef.name: Required value'],
  },
  {
    name: 'no default store needed when every entry names its own store',
    kind: 'ExternalSecret',
    obj: externalSecret({
      secretStoreRef: undefined,
      data: [{ secretKey: 'a', remoteRef: { key: 'a' }, sourceRef: { storeRef: { name: 's1' } } }],
      dataFrom: [{ sourceRef: { generatorRef: { kind: 'Password', name: 'pw' } } }],
    }),
    errors: [],
  },
  {
    name: 'creationPolicy Merge with deletionPolicy Delete (ESO refuses)',
    kind: 'ExternalSecret',
    obj: externalSecret({ target: { creationPolicy: 'Merge', deletionPolicy: 'Delete' } }),
    errors: [DELETE_NOT_OWNED],
  },
  {
    name: 'creationPolicy None with deletionPolicy Delete (ESO refuses)',
    kind: 'ExternalSecret',
    obj: externalSecret({ target: { creationPolicy: 'None', deletionPolicy: 'Delete' } }),
    errors: [DELETE_NOT_OWNED],
  },
  {
    name: 'deletionPolicy Delete with the default creationPolicy (Owner) is fine',
    kind: 'ExternalSecret',
    obj: externalSecret({ target: { deletionPolicy: 'Delete' }, dataFrom: [{ extract: { key: 'x' } }] }),
    errors: [],
  },
  {
    name: 'deletionPolicy Delete with creationPolicy Orphan is fine (as in ESO)',
    kind: 'ExternalSecret',
    obj: externalSecret({ target: { creationPolicy: 'Orphan', deletionPolicy: 'Delete' } }),
    errors: [],
  },
  {
    name: 'creationPolicy None with deletionPolicy Merge (ESO refuses)',
    kind: 'ExternalSecret',
    obj: externalSecret({ target: { creationPolicy: 'None', deletionPolicy: 'Merge' } }),
    errors: [
      'spec.target.deletionPolicy: deletionPolicy=Merge must not be used with creationPolicy=None. There is no Secret to merge with',
    ],
  },
  {
    name: 'neither data nor dataFrom',
    kind: 'ExternalSecret',
    obj: externalSecret({ data: [] }),
    errors: ['spec: either data or dataFrom should be specified'],
  },
  {
    name: 'dataFrom entry with extract and find, and one with nothing',
    kind: 'ExternalSecret',
    obj: externalSecret({ dataFrom: [{ extract: { key: 'a' }, find: { path: 'p' } }, { rewrite: [] }] }),
    errors: [
      'spec.dataFrom[0]: extract, find, or generatorRef cannot be set at the same time',
      'spec.dataFrom[1]: either extract, find, or sourceRef must be set to dataFrom',
    ],
  },
  {
    name: 'dataFrom extract with a generator, and an empty sourceRef',
    kind: 'ExternalSecret',
    obj: externalSecret({
      dataFrom: [
        { extract: { key: 'a' }, sourceRef: { generatorRef: { kind: 'Password', name: 'pw' } } },
        { sourceRef: {} },
      ],
    }),
    errors: [
      'spec.dataFrom[0]: extract, find, or generatorRef cannot be set at the same time',
      'spec.dataFrom[1].sourceRef: generatorRef or storeRef must be set when using sourceRef in dataFrom',
    ],
  },
  {
    name: 'sourceRef with both storeRef and generatorRef, and a storeRef without name',
    kind: 'ExternalSecret',
    obj: externalSecret({
      data: [
        {
          secretKey: 'a',
          remoteRef: { key: 'a' },
          sourceRef: { storeRef: { name: 's' }, generatorRef: { kind: 'UUID', name: 'u' } },
        },
        { secretKey: 'b', remoteRef: { key: 'b' }, sourceRef: { storeRef: { kind: 'SecretStore' } } },
      ],
    }),
    errors: [
      'spec.data[0].sourceRef: exactly one of storeRef or generatorRef must be set',
      'spec.data[1].sourceRef.storeRef.name: Required value',
    ],
  },
  {
    name: 'find without name, path or tags; a find name regexp that does not compile',
    kind: 'ExternalSecret',
    obj: externalSecret({ dataFrom: [{ find: { tags: {} } }, { find: { name: { regexp: 'db-(' } } }] }),
    errors: [
      'spec.dataFrom[0].find: one of name, path or tags is required',
      'spec.dataFrom[1].find.name.regexp: Invalid value: "db-(": error parsing regexp: Unterminated group',
    ],
  },
  {
    name: 'rewrite with two operations, with none, and with a regexp Go cannot compile',
    kind: 'ExternalSecret',
    obj: externalSecret({
      dataFrom: [
        {
          extract: { key: 'a' },
          rewrite: [
            { regexp: { source: 'a', target: 'b' }, transform: { template: 'x' } },
            {},
            { regexp: { source: '(a)\\1', target: 'b' } },
          ],
        },
      ],
    }),
    errors: [
      'spec.dataFrom[0].rewrite[0]: exactly one of regexp, transform or merge must be set',
      'spec.dataFrom[0].rewrite[1]: exactly one of regexp, transform or merge must be set',
      'spec.dataFrom[0].rewrite[2].regexp.source: Invalid value: "(a)\\\\1": error parsing regexp: invalid escape sequence: `\\1`',
    ],
  },
  {
    name: 'rewrite regexp without target (schema)',
    kind: 'ExternalSecret',
    obj: externalSecret({ dataFrom: [{ extract: { key: 'a' }, rewrite: [{ regexp: { source: 'a' } }] }] }),
    errors: ['spec.dataFrom[0].rewrite[0].regexp.target: Required value'],
  },
  {
    name: 'duplicate secretKey while the Secret is retained',
    kind: 'ExternalSecret',
    obj: externalSecret({
      data: [
        { secretKey: 'a', remoteRef: { key: 'x' } },
        { secretKey: 'a', remoteRef: { key: 'y' } },
      ],
    }),
    errors: ['spec.data[1].secretKey: duplicate secretKey found: a'],
  },
  {
    name: 'privileged Secret types (ESO refuses)',
    kind: 'ExternalSecret',
    obj: externalSecret({
      target: {
        template: {
          type: 'kubernetes.io/service-account-token',
          metadata: { annotations: { 'kubernetes.io/service-account.name': 'admin' } },
        },
      },
    }),
    errors: [
      'spec.target.template.type: template.type="kubernetes.io/service-account-token" with annotation "kubernetes.io/service-account.name" is not allowed',
    ],
  },
  {
    name: 'invalid names and keys (patterns of the ESO CRD)',
    kind: 'ExternalSecret',
    obj: externalSecret({
      target: { name: 'Not_A_Name' },
      data: [{ secretKey: 'a b', remoteRef: { key: 'k' } }],
    }),
    errors: [
      'spec.target.name: must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"',
      'spec.data[0].secretKey: must match pattern "^[-._a-zA-Z0-9]+$"',
    ],
  },
  { name: 'valid SecretStore (fake)', kind: 'SecretStore', obj: secretStore(), errors: [] },
  {
    name: 'valid SecretStore (kubernetes, service account, retries)',
    kind: 'SecretStore',
    obj: secretStore({
      controller: 'dev',
      refreshInterval: 60,
      retrySettings: { maxRetries: 3, retryInterval: '10s' },
      provider: {
        kubernetes: {
          remoteNamespace: 'secrets',
          server: {
            url: 'https://kubernetes.default.svc',
            caProvider: { type: 'ConfigMap', name: 'kube-root-ca.crt', key: 'ca.crt' },
          },
          auth: { serviceAccount: { name: 'reader', audiences: ['https://kubernetes.default.svc'] } },
        },
      },
    }),
    errors: [],
  },
  {
    name: 'valid SecretStore (webhook)',
    kind: 'SecretStore',
    obj: secretStore({
      provider: {
        webhook: {
          url: 'https://api.example.com/secrets/{{ .remoteRef.key }}',
          method: 'GET',
          headers: { Authorization: 'Bearer {{ .auth.token }}' },
          timeout: '5s',
          result: { jsonPath: '$.value' },
          secrets: [{ name: 'auth', secretRef: { name: 'api-token' } }],
          caBundle: 'LS0tLS1CRUdJTg==',
        },
      },
    }),
    errors: [],
  },
  {
    name: 'a provider capstan does not implement is accepted by the schema (reported at runtime)',
    kind: 'SecretStore',
    obj: secretStore({
      provider: {
        vault: { server: 'https://vault:8200', path: 'secret', auth: { kubernetes: { role: 'r' } } },
      },
    }),
    errors: [],
  },
  {
    name: 'two providers',
    kind: 'SecretStore',
    obj: secretStore({
      provider: { fake: { data: [] }, aws: { service: 'SecretsManager', region: 'eu-central-1' } },
    }),
    errors: ['spec.provider: secret stores must only have exactly one backend specified, found 2'],
  },
  {
    name: 'empty provider',
    kind: 'SecretStore',
    obj: secretStore({ provider: {} }),
    errors: ['spec.provider: secret stores must only have exactly one backend specified, found 0'],
  },
  {
    name: 'missing provider',
    kind: 'SecretStore',
    obj: secretStore({ provider: undefined }),
    errors: ['spec.provider: Required value'],
  },
  {
    name: 'store schema errors: webhook without url and result, refreshInterval a string',
    kind: 'SecretStore',
    obj: secretStore({ refreshInterval: '1h', provider: { webhook: { method: 'GET' } } }),
    errors: [
      'spec.provider.webhook.url: Required value',
      'spec.provider.webhook.result: Required value',
      'spec.refreshInterval: must be integer',
    ],
  },
  {
    name: 'kubernetes provider with two auth methods; durations Go cannot parse',
    kind: 'SecretStore',
    obj: secretStore({
      retrySettings: { retryInterval: '10 seconds' },
      provider: {
        kubernetes: {
          auth: { token: { bearerToken: { name: 't', key: 'token' } }, serviceAccount: { name: 'sa' } },
        },
      },
    }),
    errors: [
      'spec.provider.kubernetes.auth: exactly one of cert, token or serviceAccount must be set',
      'spec.retrySettings.retryInterval: Invalid value: "10 seconds": must be a Go duration such as 1h, 15m30s or 0',
    ],
  },
  {
    name: 'webhook timeout that Go cannot parse',
    kind: 'SecretStore',
    obj: secretStore({ provider: { webhook: { url: 'https://x', result: {}, timeout: '5' } } }),
    errors: [
      'spec.provider.webhook.timeout: Invalid value: "5": must be a Go duration such as 1h, 15m30s or 0',
    ],
  },
  {
    name: 'valid ClusterSecretStore with namespace conditions',
    kind: 'ClusterSecretStore',
    obj: secretStore(
      {
        conditions: [
          { namespaceSelector: { matchLabels: { team: 'a' } } },
          { namespaces: ['team-b'], namespaceRegexes: ['^team-(c|d)$'] },
          { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } },
        ],
      },
      'ClusterSecretStore',
    ),
    errors: [],
  },
  {
    name: 'ClusterSecretStore condition with a bad namespace name and a regex that does not compile',
    kind: 'ClusterSecretStore',
    obj: secretStore(
      { conditions: [{ namespaces: ['Team_B'], namespaceRegexes: ['team-[a'] }] },
      'ClusterSecretStore',
    ),
    errors: [
      'spec.conditions[0].namespaces[0]: must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"',
      'spec.conditions[0].namespaceRegexes[0]: Invalid value: "team-[a": error parsing regexp: Unterminated character class',
    ],
  },
  {
    name: 'ClusterSecretStore with two providers',
    kind: 'ClusterSecretStore',
    obj: secretStore({ provider: { fake: { data: [] }, kubernetes: {} } }, 'ClusterSecretStore'),
    errors: ['spec.provider: secret stores must only have exactly one backend specified, found 2'],
  },
];

for (const c of esoCases) {
  void test(`validateResource (${c.kind}): ${c.name}`, () => {
    const result = validateResource(c.kind ?? 'ExternalSecret', c.obj);
    if (c.errors.length === 0) {
      assert.deepEqual(result, { valid: true });
    } else {
      assert.deepEqual(result, { valid: false, errors: c.errors, message: c.errors.join('; ') });
    }
  });
}

void test('ESO semantic checks never throw on malformed input', () => {
  const malformed = [
    undefined,
    null,
    1,
    'x',
    [],
    { provider: [], conditions: [null, { namespaceRegexes: 'x' }], retrySettings: 1 },
    { provider: { kubernetes: { auth: 1 }, webhook: [] } },
    { data: [null, 1, { sourceRef: 1 }], dataFrom: [null, { find: 1, rewrite: [null, 1] }], target: [] },
    {
      target: {
        template: { type: 'kubernetes.io/service-account-token', metadata: 1, templateFrom: [null] },
      },
    },
  ];
  for (const spec of malformed) {
    assert.ok(Array.isArray(externalSecretSpecErrors(spec)));
    assert.ok(Array.isArray(secretStoreSpecErrors(spec)));
  }
});

void test('parseGoDuration follows time.ParseDuration', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['-0', 0],
    ['15s', 15_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['5.s', 5000],
    ['100ms', 100],
    ['+2m', 120_000],
    ['-1h', -3_600_000],
    ['1h0m0s', 3_600_000],
    ['10us', 0.01],
    ['10µs', 0.01],
  ];
  for (const [text, ms] of valid) assert.equal(parseGoDuration(text), ms, text);
  for (const text of ['', '1', '1 h', 'h', '.s', '1d', '1h-30m', '-', '0.', '3000000h']) {
    assert.equal(parseGoDuration(text), undefined, text);
  }
});

void test('goRegExpError accepts Go RE2 syntax and refuses what RE2 lacks', () => {
  for (const ok of [
    '^db-.*$',
    '(?i)prod',
    '(?P<env>[a-z]+)',
    '(?<env>x)',
    '(?s:a.b)',
    '[]a]',
    '[^]a]',
    'a\\.b',
    '',
  ]) {
    assert.equal(goRegExpError(ok), undefined, ok);
  }
  assert.equal(goRegExpError('(a'), 'Unterminated group');
  assert.equal(goRegExpError('*a'), 'Nothing to repeat');
  assert.equal(goRegExpError('(a)\\1'), 'invalid escape sequence: `\\1`');
  assert.equal(goRegExpError('a(?=b)'), 'invalid or unsupported Perl syntax: `(?=`');
  assert.equal(goRegExpError('a(?<!b)'), 'invalid or unsupported Perl syntax: `(?<`');
  assert.equal(goRegExpError('a\\'), 'trailing backslash at end of expression');
});

void test('configuredProviders lists the known provider keys that are set', () => {
  assert.deepEqual(configuredProviders({ fake: { data: [] } }), ['fake']);
  assert.deepEqual(configuredProviders({ webhook: {}, vault: {}, bogus: {}, aws: null }), [
    'vault',
    'webhook',
  ]);
  assert.deepEqual(configuredProviders(undefined), []);
});

void test('SecretStore and ClusterSecretStore share their shapes; only the cluster store has conditions', () => {
  const root = path.resolve(__dirname, '../..');
  const read = (f: string) => JSON.parse(readFileSync(path.join(root, 'schemas', f), 'utf8'));
  const store = read('secretstore.schema.json');
  const cluster = read('clustersecretstore.schema.json');
  assert.deepEqual(cluster.definitions, store.definitions);
  assert.deepEqual(cluster.printerColumns, store.printerColumns);
  const { conditions, ...clusterSpec } = cluster.schema.properties.spec.properties;
  assert.ok(conditions);
  assert.deepEqual(
    JSON.stringify(clusterSpec).replaceAll('ClusterSecretStore', 'SecretStore'),
    JSON.stringify(store.schema.properties.spec.properties),
  );
  assert.equal(cluster.scope, 'Cluster');
  assert.equal(store.scope, 'Namespaced');
  assert.deepEqual([store.shortNames, cluster.shortNames], [['ss'], ['css']]);
});

void test('ESO CRDs: printer columns and short names as ESO has them', () => {
  const root = path.resolve(__dirname, '../..');
  const crd = (file: string) => YAML.parse(readFileSync(path.join(root, 'crds', file), 'utf8'));
  const columns = (c: { spec: { versions: { additionalPrinterColumns: Obj[] }[] } }) =>
    c.spec.versions[0].additionalPrinterColumns.map((col) => [col.name, col.jsonPath]);
  const ready = '.status.conditions[?(@.type=="Ready")]';
  const es = crd('external-secrets.io_externalsecrets.yaml');
  assert.deepEqual(columns(es), [
    ['StoreType', '.spec.secretStoreRef.kind'],
    ['Store', '.spec.secretStoreRef.name'],
    ['Refresh Interval', '.spec.refreshInterval'],
    ['Status', `${ready}.reason`],
    ['Ready', `${ready}.status`],
  ]);
  assert.deepEqual(es.spec.names.shortNames, ['es']);
  for (const [file, scope] of [
    ['external-secrets.io_secretstores.yaml', 'Namespaced'],
    ['external-secrets.io_clustersecretstores.yaml', 'Cluster'],
  ]) {
    const store = crd(file);
    assert.equal(store.spec.scope, scope);
    assert.deepEqual(columns(store), [
      ['AGE', '.metadata.creationTimestamp'],
      ['Status', `${ready}.reason`],
      ['Capabilities', '.status.capabilities'],
      ['Ready', `${ready}.status`],
    ]);
  }
});
