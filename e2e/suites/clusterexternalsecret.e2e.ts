/**
 * ClusterExternalSecret on a real control plane (ESO's documented example's shape: externalSecretName
 * hello-world-es, namespaceSelectors matchLabels cool: label, refreshTime 1m; the externalSecretSpec
 * reads a fake ClusterSecretStore): ExternalSecrets appear in the selected and named namespaces, follow
 * labels as they change, never touch an ExternalSecret they do not own, and go with the
 * ClusterExternalSecret (owner references, the real garbage collector).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, uniqueName } from './lib';
import {
  createClusterSecretStore,
  createExternalSecret,
  ES_API,
  esPath,
  mergePatch,
  read,
  remove,
  waitForObject,
  waitForSecretValues,
  type EsObject,
} from './externalsecret-lib';

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
});
