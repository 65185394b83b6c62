/**
 * The extract of capstan's apply from a live object (appliedconfig.ts): equal to the desired object
 * exactly when an apply of it would change nothing, and undefined or different whenever in doubt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appliedDigest,
  appliedDigestOf,
  canonicalJson,
  desiredDigestOf,
  extractApplied,
} from './appliedconfig';
import { liveProjection } from './livecache';
import type { KubeObject } from './object';

/** A loosely typed JSON node, for editing fixtures. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

const TRACKING = 'argocd.argoproj.io/tracking-id';

/** The Deployment as git renders it (tracking added), what capstan applies. */
function desired(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'n',
      labels: { app: 'web' },
      annotations: { [TRACKING]: 'a:apps/Deployment:n/web' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1',
              args: ['--a', '--b'],
              ports: [{ containerPort: 80 }],
              resources: { limits: { cpu: '500m' } },
            },
          ],
        },
      },
    },
  };
}

/** The fieldsV1 an apply of {@link desired} records for capstan (`args` is an atomic list: a leaf). */
function capstanFields(): Record<string, unknown> {
  return {
    'f:metadata': {
      'f:annotations': { [`f:${TRACKING}`]: {} },
      'f:labels': { 'f:app': {} },
    },
    'f:spec': {
      'f:replicas': {},
      'f:selector': {},
      'f:template': {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:containers': {
            'k:{"name":"web"}': {
              '.': {},
              'f:args': {},
              'f:image': {},
              'f:name': {},
              'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              'f:resources': { 'f:limits': { 'f:cpu': {} } },
            },
          },
        },
      },
    },
  };
}

const entry = (fieldsV1: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  manager: 'capstan',
  operation: 'Apply',
  apiVersion: 'apps/v1',
  time: '2026-11-29T10:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...extra,
});

const KCM_STATUS = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  apiVersion: 'apps/v1',
  subresource: 'status',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:status': { 'f:replicas': {} } },
};

/**
 * The live object: the desired one as stored, with the fields the API server defaulted, server
 * bookkeeping, a controller's annotation and status, and the managedFields entries.
 */
function live(fieldsV1 = capstanFields(), others: unknown[] = [KCM_STATUS]): KubeObject {
  const d = desired();
  const spec = structuredClone(d.spec) as J;
  Object.assign(spec, {
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    strategy: { type: 'RollingUpdate' },
  });
  Object.assign(spec.template.spec, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
  Object.assign(spec.template.spec.containers[0], {
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
  });
  spec.template.spec.containers[0].ports[0].protocol = 'TCP';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      ...d.metadata,
      annotations: { ...d.metadata.annotations, 'deployment.kubernetes.io/revision': '1' },
      uid: 'u1',
      resourceVersion: '42',
      generation: 1,
      creationTimestamp: '2026-11-29T10:00:00Z',
      managedFields: [entry(fieldsV1), ...others],
    },
    spec,
    status: { replicas: 2, readyReplicas: 2 },
  };
}

const same = (d: KubeObject, l: KubeObject) => appliedDigestOf(l, 'capstan') === desiredDigestOf(d);
const container = (o: KubeObject) => (o.spec as J).template.spec.containers[0];

test("the extract of an unchanged object is the desired object: defaulted fields, status and others' annotations are not in it", () => {
  const want = desired() as J;
  delete want.apiVersion;
  delete want.kind;
  delete want.metadata.name;
  delete want.metadata.namespace;
  assert.deepEqual(extractApplied(live(), 'capstan'), want);
  assert.equal(same(desired(), live()), true);
});

test('the live cache keeps the digest of the projected object, not of a copy of it', () => {
  const projected = liveProjection(live());
  assert.equal(
    projected.metadata.managedFields?.length,
    1,
    "capstan's entry dropped, kube-controller-manager's kept",
  );
  assert.equal(appliedDigest(projected, 'capstan'), desiredDigestOf(desired()));
  const copy = { ...projected, spec: { ...(projected.spec as object), replicas: 3 } };
  assert.equal(appliedDigest(copy, 'capstan'), undefined, 'a later copy carries no digest');
});

test('a field removed from git: capstan still owns it, so an apply would remove it', () => {
  const d = desired();
  delete container(d).resources;
  assert.equal(same(d, live()), false);
});

test('a field added in git: capstan does not own it yet', () => {
  const d = desired();
  container(d).workingDir = '/srv';
  assert.equal(same(d, live()), false);
});

test("a field another manager took over (an HPA on replicas) is not capstan's any more: doubt, with any value", () => {
  const fields = capstanFields() as J;
  delete fields['f:spec']['f:replicas'];
  const hpa = {
    manager: 'kube-controller-manager',
    operation: 'Update',
    apiVersion: 'apps/v1',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:replicas': {} } },
  };
  const l = live(fields, [hpa, KCM_STATUS]);
  (l.spec as J).replicas = 5;
  assert.equal(same(desired(), l), false, 'another value');
  (l.spec as J).replicas = 2;
  assert.equal(same(desired(), l), false, 'the same value, but capstan would take it back');
});

test('a value the server normalised ("1000m" stored as "1") differs: the dry-run decides', () => {
  const d = desired();
  container(d).resources.limits.cpu = '1000m';
  const l = live();
  container(l).resources.limits.cpu = '1';
  assert.equal(same(d, l), false);
  container(d).resources.limits.cpu = '1';
  assert.equal(same(d, l), true);
});

test("a value changed under capstan's ownership (edited in place) differs", () => {
  const l = live();
  container(l).image = 'nginx:2';
  assert.equal(same(desired(), l), false);
});

test("associative lists are matched by key: an element another manager added is not capstan's", () => {
  const l = live();
  const spec = (l.spec as J).template.spec;
  spec.containers = [{ name: 'sidecar', image: 'proxy:1' }, ...spec.containers];
  assert.equal(same(desired(), l), true, 'an injected sidecar: an apply keeps it');
  spec.containers = [{ name: 'other', image: 'x' }];
  assert.equal(extractApplied(l, 'capstan'), undefined, "capstan's element is gone: doubt");
});

test('associative list order: the extract keeps the live order, so a reordered git list differs', () => {
  const d = desired();
  const second = { name: 'side', image: 'side:1' };
  (d.spec as J).template.spec.containers.push(second);
  const fields = capstanFields() as J;
  fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"side"}'] = {
    '.': {},
    'f:name': {},
    'f:image': {},
  };
  const l = live(fields);
  (l.spec as J).template.spec.containers.push({ ...second, imagePullPolicy: 'IfNotPresent' });
  assert.equal(same(d, l), true);
  (d.spec as J).template.spec.containers.reverse();
  assert.equal(same(d, l), false);
});

test('an atomic leaf is compared whole: an element added or a default inside it differs', () => {
  const l = live();
  container(l).args = ['--a', '--b', '--c'];
  assert.equal(same(desired(), l), false);
});

test('set lists (v:) and positional elements (i:) extract the owned values', () => {
  const d: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'n', finalizers: ['a/b'] },
    data: { k: 'v' },
  };
  const l: KubeObject = {
    ...structuredClone(d),
    metadata: {
      ...structuredClone(d.metadata),
      finalizers: ['x/y', 'a/b'],
      managedFields: [
        {
          manager: 'capstan',
          operation: 'Apply',
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:finalizers': { 'v:"a/b"': {} } }, 'f:data': { 'f:k': {} } },
        },
      ],
    },
  };
  assert.equal(same(d, l), true, "another manager's finalizer stays");
  const positional = structuredClone(l);
  (positional.metadata.managedFields![0] as J).fieldsV1['f:metadata']['f:finalizers'] = { 'i:1': {} };
  assert.equal(same(d, positional), true);
  (positional.metadata.managedFields![0] as J).fieldsV1['f:metadata']['f:finalizers'] = { 'i:5': {} };
  assert.equal(extractApplied(positional, 'capstan'), undefined, 'no such element: doubt');
});

test('no extract when in doubt: no Apply entry, an Update or subresource entry only, another apiVersion, being deleted', () => {
  const without = live();
  without.metadata.managedFields = [KCM_STATUS];
  assert.equal(extractApplied(without, 'capstan'), undefined);
  const update = live();
  update.metadata.managedFields = [entry(capstanFields(), { operation: 'Update' })];
  assert.equal(extractApplied(update, 'capstan'), undefined, 'a create or replace (PUT) is not an apply');
  const sub = live();
  sub.metadata.managedFields = [entry(capstanFields(), { subresource: 'status' })];
  assert.equal(extractApplied(sub, 'capstan'), undefined);
  const other = live();
  other.metadata.managedFields = [entry(capstanFields(), { apiVersion: 'apps/v1beta1' })];
  assert.equal(extractApplied(other, 'capstan'), undefined, 'fields of another version');
  const deleting = live();
  deleting.metadata.deletionTimestamp = '2026-11-29T11:00:00Z';
  assert.equal(extractApplied(deleting, 'capstan'), undefined);
  const missing = live();
  delete container(missing).image;
  assert.equal(extractApplied(missing, 'capstan'), undefined, 'an owned field the object lacks');
  assert.equal(extractApplied(live(), 'kubectl'), undefined, 'another manager');
});

test("git fields that are not capstan's to apply (status, a null) never match", () => {
  const d = desired();
  d.status = { replicas: 2 };
  assert.equal(same(d, live()), false);
  const n = desired();
  (n.spec as J).template.metadata.creationTimestamp = null;
  assert.equal(same(n, live()), false);
});

test('the digest ignores key order and identity, not values', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
  const d = desired();
  const reordered: KubeObject = {
    kind: d.kind,
    spec: d.spec,
    metadata: { ...d.metadata },
    apiVersion: d.apiVersion,
  };
  assert.equal(desiredDigestOf(reordered), desiredDigestOf(d));
  assert.notEqual(desiredDigestOf({ ...d, kind: 'StatefulSet' }), desiredDigestOf(d));
});
