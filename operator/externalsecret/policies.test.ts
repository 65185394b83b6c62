import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_DATA_HASH, ANNOTATION_EXTERNAL_SECRET, LABEL_MANAGED } from './constants';
import { dataHash } from './hash';
import { emptyDataAction, missingKeyFails, ownershipProblem, secretInSync } from './policies';
import {
  desiredSecret,
  extraKeys,
  fieldManagerFor,
  immutableConflict,
  managedKeys,
  secretUpToDate,
} from './target';
import type { ExternalSecretObject, SecretObject } from './types';

const es = (target: ExternalSecretObject['spec']['target'] = {}): ExternalSecretObject => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'db', namespace: 'app', uid: 'uid-1' },
  spec: { target, data: [] },
});

const secret = (
  meta: Partial<SecretObject['metadata']> = {},
  data: Record<string, string> = {},
): SecretObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'app', ...meta },
  data,
});

const esRef = (name: string, uid: string) => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  name,
  uid,
  controller: true,
});

const rendered = (data: Record<string, string>) => ({
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
  labels: {},
  annotations: {},
});

describe('ownership', () => {
  test('a missing Secret may be created by Owner and Orphan', () => {
    assert.equal(ownershipProblem(undefined, es(), 'Owner'), undefined);
    assert.equal(ownershipProblem(undefined, es(), 'Orphan'), undefined);
  });

  test('a Secret controlled by another ExternalSecret is never written, whatever the policy', () => {
    const s = secret({ ownerReferences: [esRef('other', 'uid-2')] });
    for (const p of ['Owner', 'Orphan', 'Merge'] as const)
      assert.match(ownershipProblem(s, es(), p) ?? '', /owned by another ExternalSecret.*"other"/);
    assert.equal(ownershipProblem(s, es(), 'None'), undefined, 'None writes nothing');
  });

  test('Owner and Orphan never take over a Secret capstan did not create for this ExternalSecret', () => {
    const foreign = secret();
    assert.match(ownershipProblem(foreign, es(), 'Owner') ?? '', /not created by this ExternalSecret/);
    assert.match(ownershipProblem(foreign, es(), 'Orphan') ?? '', /creationPolicy=Merge/);
    assert.equal(ownershipProblem(foreign, es(), 'Merge'), undefined, 'Merge writes into it');
    const otherAnnotation = secret({ annotations: { [ANNOTATION_EXTERNAL_SECRET]: 'other' } });
    assert.ok(ownershipProblem(otherAnnotation, es(), 'Orphan'));
  });

  test('its own Secret (controller ref or capstan annotation) is written', () => {
    assert.equal(
      ownershipProblem(secret({ ownerReferences: [esRef('db', 'uid-1')] }), es(), 'Owner'),
      undefined,
    );
    const orphaned = secret({ annotations: { [ANNOTATION_EXTERNAL_SECRET]: 'db' } });
    assert.equal(
      ownershipProblem(orphaned, es(), 'Owner'),
      undefined,
      'Orphan -> Owner adopts its own Secret',
    );
  });
});

describe('drift and deletion policies', () => {
  test('secretInSync: exists, managed label, data hash matches', () => {
    const data = { a: 'YQ==' };
    const ok = secret(
      { labels: { [LABEL_MANAGED]: 'true' }, annotations: { [ANNOTATION_DATA_HASH]: dataHash(data) } },
      data,
    );
    assert.equal(secretInSync(ok, 'Owner'), true);
    assert.equal(secretInSync(undefined, 'Owner'), false, 'deleted');
    assert.equal(secretInSync({ ...ok, data: { a: 'Yg==' } }, 'Owner'), false, 'hand-edited');
    assert.equal(
      secretInSync({ ...ok, metadata: { ...ok.metadata, labels: {} } }, 'Orphan'),
      false,
      'label removed',
    );
    assert.equal(secretInSync(undefined, 'None'), true, 'None has nothing to check');
  });

  test('a vanished remote key fails only under Retain', () => {
    assert.equal(missingKeyFails('Retain'), true);
    assert.equal(missingKeyFails('Delete'), false);
    assert.equal(missingKeyFails('Merge'), false);
  });

  test('empty fetch: Retain keeps, Delete deletes (Owner only), Merge writes', () => {
    assert.deepEqual(emptyDataAction('Retain', 'Owner'), { action: 'retain' });
    assert.deepEqual(emptyDataAction('Delete', 'Owner'), { action: 'delete' });
    assert.equal(emptyDataAction('Delete', 'Orphan').action, 'refuse');
    assert.deepEqual(emptyDataAction('Merge', 'Merge'), { action: 'write' });
  });
});

describe('the applied Secret', () => {
  test('Owner: controller ownerReference, ESO labels, data hash, capstan annotation', () => {
    const s = desiredSecret({ es: es(), rendered: rendered({ user: 'u' }), policy: 'Owner' });
    assert.equal(s.metadata.ownerReferences?.[0].controller, true);
    assert.equal(s.metadata.ownerReferences?.[0].uid, 'uid-1');
    assert.equal(s.metadata.labels?.[LABEL_MANAGED], 'true');
    assert.ok(s.metadata.labels?.['reconcile.external-secrets.io/created-by']);
    assert.equal(s.metadata.annotations?.[ANNOTATION_DATA_HASH], dataHash(s.data));
    assert.equal(s.metadata.annotations?.[ANNOTATION_EXTERNAL_SECRET], 'db');
  });

  test('Orphan: no ownerReference; immutable and type only for owned Secrets', () => {
    const e = es({ immutable: true });
    const s = desiredSecret({
      es: e,
      rendered: { ...rendered({ a: 'b' }), type: 'kubernetes.io/tls' },
      policy: 'Orphan',
    });
    assert.equal(s.metadata.ownerReferences, undefined);
    assert.equal(s.immutable, true);
    assert.equal(s.type, 'kubernetes.io/tls');
    const m = desiredSecret({
      es: e,
      rendered: { ...rendered({ a: 'b' }), type: 'x' },
      policy: 'Merge',
      existing: secret(),
    });
    assert.equal(m.immutable, undefined);
    assert.equal(m.type, undefined);
  });

  test('Merge: only its keys, its own field manager, hash over the merged data', () => {
    const existing = secret({}, { keep: 'aw==' });
    const s = desiredSecret({ es: es(), rendered: rendered({ added: 'x' }), policy: 'Merge', existing });
    assert.deepEqual(Object.keys(s.data ?? {}), ['added']);
    assert.equal(s.metadata.annotations?.[ANNOTATION_DATA_HASH], dataHash({ keep: 'aw==', added: 'eA==' }));
    assert.equal(s.metadata.annotations?.[ANNOTATION_EXTERNAL_SECRET], undefined);
    assert.equal(fieldManagerFor(es(), 'Merge'), 'capstan-es-db');
    assert.equal(fieldManagerFor(es(), 'Owner'), 'capstan');
  });

  test('managed keys come from the manager`s Apply entry in managedFields', () => {
    const s = secret({
      managedFields: [
        { manager: 'capstan-es-db', operation: 'Apply', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } },
        { manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:data': { 'f:c': {} } } },
      ],
    });
    assert.deepEqual(managedKeys(s, 'capstan-es-db', ['f:data']), ['a', 'b']);
    assert.deepEqual(managedKeys(s, 'kubectl', ['f:data']), [], 'Update entries are not applies');
  });

  test('up to date: nothing to write; a changed value, a hand-added key or a missing label is not', () => {
    const d = desiredSecret({ es: es(), rendered: rendered({ a: 'x' }), policy: 'Owner' });
    const live = secret({ ...d.metadata }, { ...d.data });
    assert.equal(secretUpToDate(live, d, es(), 'Owner'), true);
    assert.equal(secretUpToDate({ ...live, data: { a: 'eQ==' } }, d, es(), 'Owner'), false);
    assert.equal(secretUpToDate({ ...live, data: { ...d.data, extra: 'eA==' } }, d, es(), 'Owner'), false);
    assert.deepEqual(extraKeys({ ...live, data: { ...d.data, extra: 'eA==' } }, d), ['extra']);
    assert.equal(
      secretUpToDate({ ...live, metadata: { ...live.metadata, labels: {} } }, d, es(), 'Owner'),
      false,
    );
  });

  test('an immutable Secret conflicts only when its data would change', () => {
    const d = desiredSecret({ es: es(), rendered: rendered({ a: 'x' }), policy: 'Owner' });
    assert.equal(
      immutableConflict({ ...secret({}, { ...d.data }), immutable: true }, d, es(), 'Owner'),
      false,
    );
    assert.equal(
      immutableConflict({ ...secret({}, { a: 'eQ==' }), immutable: true }, d, es(), 'Owner'),
      true,
    );
    assert.equal(immutableConflict(secret({}, { a: 'eQ==' }), d, es(), 'Owner'), false);
  });
});
