/**
 * What the informers keep of each object (issue 10 §2 P2): the managed Secrets of the ExternalSecret
 * operator without their data, the live cache without capstan's own managedFields entry but with what
 * diff (spec, annotations, other managers' entries) and health (status) read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchEvent } from './client';
import type { ResourceType } from './discovery';
import { Informer, metadataOnly } from './informer';
import { liveProjection } from './livecache';
import type { KubeObject } from './object';
import type { WatchLoopClient } from './watchloop';

const SECRETS = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
} as ResourceType;

const OWN = { manager: 'capstan', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } };
const KCM = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  subresource: 'status',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:status': { 'f:replicas': {} } },
};

const secret = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name,
    namespace: 'ns',
    resourceVersion: rv,
    labels: { 'reconcile.external-secrets.io/managed': 'true' },
    ownerReferences: [
      { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'es', controller: true },
    ],
    managedFields: [OWN],
  } as KubeObject['metadata'],
  type: 'Opaque',
  data: { password: Buffer.from('hunter2').toString('base64') },
});

const deployment = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'ns',
    resourceVersion: '7',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    managedFields: [OWN, KCM],
  },
  spec: { replicas: 2 },
  status: { replicas: 2, readyReplicas: 2, observedGeneration: 1 },
});

test('metadataOnly keeps names, labels, owners and resourceVersion; drops data and managedFields', () => {
  const p = metadataOnly(secret('s', '3'));
  assert.deepEqual(Object.keys(p).sort(), ['apiVersion', 'kind', 'metadata']);
  assert.equal(p.metadata.resourceVersion, '3');
  assert.equal(p.metadata.ownerReferences?.[0]?.name, 'es');
  assert.equal(p.metadata.labels?.['reconcile.external-secrets.io/managed'], 'true');
  assert.equal(p.metadata.managedFields, undefined);
  assert.ok(!JSON.stringify(p).includes('aHVudGVyMg'));
});

test('liveProjection drops only capstan own managedFields entry, keeps spec, status, annotations', () => {
  const d = deployment();
  const before = structuredClone(d);
  const p = liveProjection(d);
  assert.deepEqual(p.metadata.managedFields, [KCM]);
  assert.deepEqual(p.spec, before.spec);
  assert.deepEqual(p.status, before.status);
  assert.deepEqual(p.metadata.annotations, before.metadata.annotations);
  assert.deepEqual(d, before, 'the input is not changed');
  const onlyOwn = liveProjection({ ...d, metadata: { ...d.metadata, managedFields: [OWN] } });
  assert.equal('managedFields' in onlyOwn.metadata, false);
  const none = { ...d, metadata: { ...d.metadata, managedFields: [KCM] } };
  assert.equal(liveProjection(none), none, 'nothing to drop: the same object');
});

test('an informer with a projection stores and reports the projected objects', async () => {
  let parked!: () => void;
  const idle = new Promise<void>((r) => (parked = r));
  const watches = [
    (emit: (e: WatchEvent<unknown>) => void) => emit({ type: 'MODIFIED', object: secret('b', '2') }),
  ];
  const client: WatchLoopClient = {
    request: async <T>() => ({ metadata: { resourceVersion: '1' }, items: [secret('a', '1')] }) as T,
    async watch(_p, _q, onEvent, signal) {
      const step = watches.shift();
      if (step) return step(onEvent as (e: WatchEvent<unknown>) => void);
      parked();
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  const seen: KubeObject[] = [];
  const inf = new Informer(client, SECRETS, '', (_t, o) => seen.push(o), {
    project: metadataOnly,
    loop: {
      watchTimeoutSeconds: 60,
      clock: { now: () => 0, sleep: async () => undefined, random: () => 0.5 },
    },
  });
  await inf.start();
  await idle;
  inf.stop();
  assert.deepEqual(
    inf.list().map((o) => [o.metadata.name, 'data' in o]),
    [
      ['a', false],
      ['b', false],
    ],
  );
  assert.deepEqual(
    seen.map((o) => [o.metadata.name, 'data' in o]),
    [['b', false]],
  );
});
