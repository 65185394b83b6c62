import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_DATA_HASH, ANNOTATION_EXTERNAL_SECRET, LABEL_MANAGED, LABEL_OWNER } from './constants';
import {
  desiredObject,
  genericTargetOf,
  genericTargetProblems,
  MSG_GENERIC_DISABLED,
  objectInSync,
  objectUpToDate,
} from './manifest';
import type { ExternalSecretObject } from './types';

type Target = NonNullable<ExternalSecretObject['spec']['target']>;

const es = (target: Target, labels?: Record<string, string>): ExternalSecretObject => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: {
    name: 'cfg',
    namespace: 'app',
    uid: 'uid-1',
    labels,
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'x' },
  },
  spec: { target, data: [] },
});

const CM = { apiVersion: 'v1', kind: 'ConfigMap' };
const rendered = (data: Record<string, string>, labels: Record<string, string> = {}) => ({
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
  labels,
  annotations: {},
});

describe('generic targets (spec.target.manifest, ESO)', () => {
  test('genericTargetOf: none or v1 Secret is the ordinary Secret target', () => {
    assert.equal(genericTargetOf(es({})), undefined);
    assert.equal(
      genericTargetOf(es({ manifest: { apiVersion: 'v1', kind: 'Secret' } } as Target)),
      undefined,
    );
    assert.deepEqual(genericTargetOf(es({ manifest: CM } as Target)), CM);
  });

  test('problems: the flag is off (ESO message), Merge is refused, otherwise none', () => {
    const cm = es({ manifest: CM } as Target);
    assert.deepEqual(genericTargetProblems(cm, false), [`spec.target.manifest: ${MSG_GENERIC_DISABLED}`]);
    assert.deepEqual(genericTargetProblems(cm, true), []);
    assert.match(
      genericTargetProblems(es({ manifest: CM, creationPolicy: 'Merge' } as Target), true).join(),
      /creationPolicy: Merge is not supported/,
    );
    assert.deepEqual(genericTargetProblems(es({}), false), [], 'a Secret target needs no flag');
  });

  test('a ConfigMap without template: fetched keys in data, ESO labels and annotations, owner reference', () => {
    const e = es({ manifest: CM } as Target, { team: 'a' });
    const o = desiredObject({ es: e, ref: CM, rendered: rendered({ b: '2', a: '1' }), policy: 'Owner' });
    assert.equal(o.kind, 'ConfigMap');
    assert.deepEqual((o as unknown as { data: unknown }).data, { a: '1', b: '2' });
    assert.equal(o.metadata.labels?.team, 'a', "the ExternalSecret's labels without a template, as ESO");
    assert.equal(o.metadata.labels?.[LABEL_MANAGED], 'true');
    assert.ok(o.metadata.labels?.[LABEL_OWNER]);
    assert.equal(o.metadata.annotations?.note, 'x');
    assert.equal(o.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
    assert.equal(o.metadata.annotations?.[ANNOTATION_EXTERNAL_SECRET], 'cfg');
    assert.ok(o.metadata.annotations?.[ANNOTATION_DATA_HASH]);
    assert.equal(o.metadata.ownerReferences?.[0]?.uid, 'uid-1');
    assert.equal(o.metadata.ownerReferences?.[0]?.controller, true);
  });

  test('another kind without template: spec.data; with a template: data and the template labels only', () => {
    const ref = { apiVersion: 'example.com/v1', kind: 'AppConfig' };
    const plain = desiredObject({
      es: es({ manifest: ref } as Target),
      ref,
      rendered: rendered({ k: 'v' }),
      policy: 'Orphan',
    });
    assert.deepEqual((plain as unknown as { spec: unknown }).spec, { data: { k: 'v' } });
    assert.equal(plain.metadata.ownerReferences, undefined, 'Orphan: no owner');
    const t = es({ manifest: ref, template: { data: { k: '{{ .v }}' } } } as Target, { team: 'a' });
    const templated = desiredObject({
      es: t,
      ref,
      rendered: rendered({ k: 'v' }, { tier: 'db' }),
      policy: 'Owner',
    });
    assert.deepEqual((templated as unknown as { data: unknown }).data, { k: 'v' });
    assert.equal(templated.metadata.labels?.tier, 'db');
    assert.equal(templated.metadata.labels?.team, undefined);
  });

  test('objectInSync and objectUpToDate follow the data hash, labels and owner', () => {
    const e = es({ manifest: CM } as Target);
    const desired = desiredObject({ es: e, ref: CM, rendered: rendered({ a: '1' }), policy: 'Owner' });
    const live = JSON.parse(JSON.stringify(desired));
    assert.equal(objectInSync(live, e, 'ConfigMap'), true);
    assert.equal(objectUpToDate(live, desired, e), true);
    live.data.a = 'edited';
    assert.equal(objectInSync(live, e, 'ConfigMap'), false, 'a hand edit is drift');
    assert.equal(objectUpToDate(live, desired, e), false);
    assert.equal(objectInSync(undefined, e, 'ConfigMap'), false);
    const unowned = JSON.parse(JSON.stringify(desired));
    unowned.metadata.ownerReferences = [];
    assert.equal(objectUpToDate(unowned, desired, e), false);
  });
});
