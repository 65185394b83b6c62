/**
 * ClusterExternalSecret on a real control plane (ESO's documented example's shape: externalSecretName
 * hello-world-es, namespaceSelectors matchLabels cool: label, refreshTime 1m; the externalSecretSpec
 * reads a fake ClusterSecretStore): ExternalSecrets appear in the selected and named namespaces, follow
 * labels as they change, never touch an ExternalSecret they do not own, and go with the
 * ClusterExternalSecret (owner references, the real garbage collector). And ESO's documented example
 * itself, applied unchanged with kubectl: namespaces labelled, created labelled, deleted and relabelled,
 * status provisionedNamespaces/failedNamespaces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, kubectl, uniqueName } from './lib';
import {
  createClusterSecretStore,
  createExternalSecret,
  createSecret,
  createSecretStore,
  ES_API,
  esPath,
  mergePatch,
  read,
  remove,
  secretValues,
  waitForObject,
  waitForSecretValues,
  type EsObject,
} from './externalsecret-lib';

/**
 * ESO's documented ClusterExternalSecret (`docs/snippets/full-cluster-external-secret.yaml`), its
 * manifest unchanged; only its comments and the docs' `{% raw %}` markers are left out. Its
 * `dataFrom[0]` (`key`, `version`, `property` directly under dataFrom, the v1alpha1 form) is in no
 * served version of ESO's CRD either: the API server prunes it, as ESO's would, leaving an entry that
 * ESO's admission webhook refuses in every ExternalSecret; the `status` it carries is ignored.
 */
const ESO_CES_EXAMPLE = `apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata:
  name: "hello-world"
spec:
  externalSecretName: "hello-world-es"
  namespaceSelectors:
  - matchLabels:
      cool: label
  refreshTime: "1m"
  externalSecretSpec:
    secretStoreRef:
      name: secret-store-name
      kind: SecretStore
    refreshPolicy: Periodic
    refreshInterval: "1h"
    target:
      name: my-secret
      creationPolicy: 'Merge'
      template:
        type: kubernetes.io/dockerconfigjson
        metadata:
          annotations: {}
          labels: {}
        data:
          config.yml: |
            endpoints:
            - https://{{ .data.user }}:{{ .data.password }}@api.exmaple.com
        templateFrom:
        - configMap:
            name: alertmanager
            items:
            - key: alertmanager.yaml
    data:
      - secretKey: secret-key-to-be-managed
        remoteRef:
          key: provider-key
          version: provider-key-version
          property: provider-key-property
    dataFrom:
    - key: provider-key
      version: provider-key-version
      property: provider-key-property
status:
  failedNamespaces:
    - namespace: "matching-ns-1"
      reason: "external secret already exists in namespace"
  provisionedNamespaces:
    - "matching-ns-3"
    - "matching-ns-2"
  conditions:
  - type: PartiallyReady
    status: "True"
    lastTransitionTime: "2022-01-12T12:33:02Z"
`;

/** What the example's ExternalSecrets refer to, in `ns`: the store, the template ConfigMap, the Merge target. */
async function exampleObjects(ns: string): Promise<void> {
  await createSecretStore(ns, 'secret-store-name', {
    fake: {
      data: [
        {
          key: 'provider-key',
          version: 'provider-key-version',
          value: JSON.stringify({ 'provider-key-property': { user: 'app', password: 's3cret' } }),
        },
      ],
    },
  });
  await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'alertmanager', namespace: ns },
      data: { 'alertmanager.yaml': 'route: {}' },
    },
  });
  await createSecret(ns, 'my-secret', { existing: 'kept' });
}

const cesPath = (name = ''): string => `${ES_API}/clusterexternalsecrets${name ? '/' + name : ''}`;

interface CesObject extends EsObject {
  status?: EsObject['status'] & {
    provisionedNamespaces?: string[];
    failedNamespaces?: Array<{ namespace: string; reason?: string }>;
    externalSecretName?: string;
  };
}

async function labelNamespace(ns: string, labels: Record<string, string | null>): Promise<void> {
  await mergePatch(`/api/v1/namespaces/${ns}`, { metadata: { labels } });
}

function waitForCes(name: string, pred: (c: CesObject) => boolean, what: string): Promise<CesObject> {
  return waitForObject(cesPath(name), (o) => pred(o as CesObject), what) as Promise<CesObject>;
}

const ready = (c: CesObject): string | undefined =>
  c.status?.conditions?.find((x) => x.type === 'Ready')?.status;

const only = (want: string[]) => (o: CesObject) =>
  JSON.stringify(o.status?.provisionedNamespaces ?? []) === JSON.stringify([...want].sort());

const readyMessage = (o: { status?: { conditions?: Array<{ type: string; message?: string }> } }): string =>
  o.status?.conditions?.find((x) => x.type === 'Ready')?.message ?? '';

/**
 * The example as written is refused (its pruned dataFrom[0], with the reason ESO's webhook gives) and
 * makes nothing; with that entry written as ESO's API has it today (extract) it provisions `a`, whose
 * ExternalSecret carries the spec and reports the example's illustrative template.
 */
async function exampleRefusedThenFixed(a: string): Promise<void> {
  let ces = await waitForCes('hello-world', (o) => ready(o) === 'False', 'the example refused');
  assert.match(
    readyMessage(ces),
    /invalid spec: spec\.externalSecretSpec: spec\.dataFrom\[0\]: either extract, find, or sourceRef/,
  );
  assert.deepEqual(ces.status?.provisionedNamespaces ?? [], [], "the manifest's own status is not kept");
  assert.equal(await read(esPath(a, 'hello-world-es')), undefined, 'nothing created');

  const extract = { key: 'provider-key', version: 'provider-key-version', property: 'provider-key-property' };
  await mergePatch(cesPath('hello-world'), { spec: { externalSecretSpec: { dataFrom: [{ extract }] } } });
  ces = await waitForCes('hello-world', (o) => ready(o) === 'True' && only([a])(o), 'provisioned in a');
  assert.equal(ces.status?.externalSecretName, 'hello-world-es');
  assert.deepEqual(ces.status?.failedNamespaces ?? [], []);

  // its template ({{ .data.user }}: there is no key "data") cannot render, as in ESO: it says so and
  // writes nothing into the Merge target
  const es = await waitForObject(
    esPath(a, 'hello-world-es'),
    (o) => ready(o as CesObject) === 'False',
    'the ExternalSecret in a reports its template',
  );
  assert.deepEqual(es.spec, (ces.spec as { externalSecretSpec: unknown }).externalSecretSpec);
  const owner = (es.metadata as { ownerReferences?: Array<Record<string, unknown>> }).ownerReferences?.[0];
  assert.equal(owner?.kind, 'ClusterExternalSecret');
  assert.equal(owner?.name, 'hello-world');
  assert.match(readyMessage(es), /config\.yml/);
  assert.deepEqual(await secretValues(a, 'my-secret'), { existing: 'kept' });
}

/**
 * A namespace created with the label is provisioned and leaves provisionedNamespaces once deleted; a
 * relabelled one gains its ExternalSecret while the other loses it; one holding someone else's
 * ExternalSecret of that name is a failed namespace.
 */
async function namespacesComeAndGo(a: string, b: string, c: string, d: string): Promise<void> {
  await kube().request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: c, labels: { cool: 'label' } } },
  });
  await waitForCes('hello-world', only([a, c]), 'provisioned in the new namespace c');
  assert.ok(await read(esPath(c, 'hello-world-es')));
  await remove(`/api/v1/namespaces/${c}`);
  await waitForCes('hello-world', only([a]), 'c gone from provisionedNamespaces once deleted');

  await labelNamespace(b, { cool: 'label' });
  await labelNamespace(a, { cool: null });
  await waitForCes('hello-world', (o) => ready(o) === 'True' && only([b])(o), 'moved to b');
  await waitFor(async () => !(await read(esPath(a, 'hello-world-es'))), {
    timeoutMs: 30_000,
    what: 'the ExternalSecret of a removed with its label',
  });

  await createExternalSecret(d, 'hello-world-es', {
    secretStoreRef: { name: 'secret-store-name' },
    target: { name: 'theirs' },
    data: [{ secretKey: 'k', remoteRef: { key: 'provider-key', version: 'provider-key-version' } }],
  });
  await labelNamespace(d, { cool: 'label' });
  const ces = await waitForCes(
    'hello-world',
    (o) => ready(o) === 'False' && (o.status?.failedNamespaces?.length ?? 0) > 0,
    'd failed',
  );
  assert.deepEqual(ces.status?.failedNamespaces, [
    { namespace: d, reason: 'external secret already exists in namespace' },
  ]);
  assert.deepEqual(ces.status?.provisionedNamespaces, [b]);
}

describe('ClusterExternalSecret', () => {
  test('ExternalSecrets follow namespaces and labels; a foreign one is refused; deletion removes them', async () => {
    const label = uniqueName('cool');
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => uniqueName(`ces-${x}`));
    for (const ns of [a, b, c, d]) await createNamespace(ns);
    await labelNamespace(a, { cool: label });
    const store = uniqueName('ces-store');
    await createClusterSecretStore(store, {
      provider: { fake: { data: [{ key: '/db', value: JSON.stringify({ username: 'app' }) }] } },
    });
    const name = uniqueName('hello-world');
    await kube().request('POST', cesPath(), {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterExternalSecret',
        metadata: { name },
        spec: {
          externalSecretName: 'hello-world-es',
          namespaceSelectors: [{ matchLabels: { cool: label } }],
          namespaces: [c],
          refreshTime: '1m',
          externalSecretSpec: {
            secretStoreRef: { name: store, kind: 'ClusterSecretStore' },
            refreshInterval: '1h',
            target: { name: 'my-secret' },
            data: [{ secretKey: 'user', remoteRef: { key: '/db', property: 'username' } }],
          },
        },
      },
    });
    const sorted = (xs: string[]) => [...xs].sort();
    const provisioned = (want: string[]) => (o: CesObject) =>
      ready(o) === 'True' && JSON.stringify(o.status?.provisionedNamespaces) === JSON.stringify(sorted(want));
    let ces = await waitForCes(name, provisioned([a, c]), 'provisioned in a and c');
    assert.equal(ces.status?.externalSecretName, 'hello-world-es');
    await waitForSecretValues(a, 'my-secret', { user: 'app' }, 'my-secret in a');
    await waitForSecretValues(c, 'my-secret', { user: 'app' }, 'my-secret in c');
    assert.equal(
      await read(esPath(b, 'hello-world-es')),
      undefined,
      'no ExternalSecret in an unselected namespace',
    );
    const es = await read<{ metadata: { ownerReferences?: Array<Record<string, unknown>> } }>(
      esPath(a, 'hello-world-es'),
    );
    const owner = es?.metadata.ownerReferences?.find((r) => r.controller === true);
    assert.equal(owner?.kind, 'ClusterExternalSecret');
    assert.equal(owner?.name, name);

    // a namespace gets the label: it gets the ExternalSecret; one loses it: its ExternalSecret goes
    await labelNamespace(b, { cool: label });
    await labelNamespace(a, { cool: null });
    ces = await waitForCes(name, provisioned([b, c]), 'provisioned in b and c after relabelling');
    await waitFor(async () => !(await read(esPath(a, 'hello-world-es'))), {
      timeoutMs: 30_000,
      what: 'ExternalSecret in a removed',
    });
    await waitForSecretValues(b, 'my-secret', { user: 'app' }, 'my-secret in b');

    // an ExternalSecret of that name it does not control is never touched
    await createExternalSecret(d, 'hello-world-es', {
      secretStoreRef: { name: store, kind: 'ClusterSecretStore' },
      target: { name: 'theirs' },
      data: [{ secretKey: 'mine', remoteRef: { key: '/db', property: 'username' } }],
    });
    await labelNamespace(d, { cool: label });
    ces = await waitForCes(
      name,
      (o) => ready(o) === 'False' && !!o.status?.failedNamespaces?.some((f) => f.namespace === d),
      'namespace d failed',
    );
    assert.deepEqual(ces.status?.failedNamespaces, [
      { namespace: d, reason: 'external secret already exists in namespace' },
    ]);
    assert.equal(
      ces.status?.conditions?.find((x) => x.type === 'Ready')?.message,
      'one or more namespaces failed',
    );
    const foreign = await read<EsObject & { metadata: { ownerReferences?: unknown[] } }>(
      esPath(d, 'hello-world-es'),
    );
    assert.equal(foreign?.metadata.ownerReferences, undefined, 'the foreign ExternalSecret keeps no owner');
    assert.equal((foreign?.spec.target as { name?: string }).name, 'theirs');

    // deleting the ClusterExternalSecret removes its ExternalSecrets (garbage collector), not the foreign one
    await remove(cesPath(name));
    await waitFor(
      async () => !(await read(esPath(b, 'hello-world-es'))) && !(await read(esPath(c, 'hello-world-es'))),
      { timeoutMs: 60_000, what: 'ExternalSecrets in b and c removed with their ClusterExternalSecret' },
    );
    assert.ok(await read(esPath(d, 'hello-world-es')), 'the foreign ExternalSecret stays');
  });

  test('an ExternalSecret it controls, edited or deleted by someone, is restored from the watch (not the 1h refresh)', async () => {
    // capstan runs both operators: the ClusterExternalSecret operator hears of the edit through the
    // ExternalSecret operator's watch (kube/eventtap.ts), so only that watch can bring it back in time
    const ns = uniqueName('ces-repair');
    await createNamespace(ns);
    const store = uniqueName('ces-repair-store');
    await createClusterSecretStore(store, {
      provider: { fake: { data: [{ key: '/db', value: JSON.stringify({ username: 'app' }) }] } },
    });
    const name = uniqueName('ces-repair');
    await kube().request('POST', cesPath(), {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterExternalSecret',
        metadata: { name },
        spec: {
          externalSecretName: 'repaired-es',
          namespaces: [ns],
          refreshTime: '1h',
          externalSecretSpec: {
            secretStoreRef: { name: store, kind: 'ClusterSecretStore' },
            refreshInterval: '1h',
            target: { name: 'repaired' },
            data: [{ secretKey: 'user', remoteRef: { key: '/db', property: 'username' } }],
          },
        },
      },
    });
    await waitForCes(name, (o) => ready(o) === 'True' && only([ns])(o), 'provisioned');
    const target = (o: unknown) => ((o as EsObject).spec.target as { name?: string }).name;
    await mergePatch(esPath(ns, 'repaired-es'), { spec: { target: { name: 'elsewhere' } } });
    await waitForObject(
      esPath(ns, 'repaired-es'),
      (o) => target(o) === 'repaired',
      'the edited spec restored',
    );
    const uid = (o: unknown) => (o as { metadata: { uid?: string } }).metadata.uid;
    const before = uid(await read(esPath(ns, 'repaired-es')));
    await remove(esPath(ns, 'repaired-es'));
    await waitForObject(
      esPath(ns, 'repaired-es'),
      (o) => uid(o) !== before && target(o) === 'repaired',
      'the deleted one recreated',
    );
    await remove(cesPath(name));
  });

  test('an invalid spec is a Ready False condition and creates nothing', async () => {
    const ns = uniqueName('ces-bad');
    await createNamespace(ns);
    const name = uniqueName('ces-bad');
    await kube().request('POST', cesPath(), {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterExternalSecret',
        metadata: { name },
        spec: {
          namespaces: [ns],
          refreshTime: 'soon',
          externalSecretSpec: {
            secretStoreRef: { name: 'x' },
            data: [{ secretKey: 'k', remoteRef: { key: 'r' } }],
          },
        },
      },
    });
    const ces = await waitForCes(name, (o) => ready(o) === 'False', 'Ready False');
    assert.match(ces.status?.conditions?.[0].message ?? '', /invalid spec: spec.refreshTime/);
    assert.equal(await read(esPath(ns, name)), undefined);
    await remove(cesPath(name));
  });

  test("ESO's documented example, applied unchanged: namespaces come and go, status follows", async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => uniqueName(`ces-doc-${x}`));
    for (const ns of [a, b, d]) {
      await createNamespace(ns);
      await exampleObjects(ns);
    }
    await labelNamespace(a, { cool: 'label' });
    const file = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'ces-doc-')),
      'full-cluster-external-secret.yaml',
    );
    fs.writeFileSync(file, ESO_CES_EXAMPLE);
    // kubectl's default (strict) field validation refuses the example's dataFrom[0] with ESO's CRD as
    // with capstan's: the example is applied as the docs' readers apply it, with the fields warned about
    await kubectl('apply', '--validate=warn', '-f', file);
    try {
      await exampleRefusedThenFixed(a);
      await namespacesComeAndGo(a, b, c, d);
    } finally {
      await remove(cesPath('hello-world'));
      for (const ns of [a, b, d]) await labelNamespace(ns, { cool: null });
    }
    await waitFor(async () => !(await read(esPath(b, 'hello-world-es'))), {
      timeoutMs: 60_000,
      what: 'the ExternalSecret of b removed with the ClusterExternalSecret',
    });
    assert.ok(await read(esPath(d, 'hello-world-es')), 'the foreign ExternalSecret stays');
  });
});
