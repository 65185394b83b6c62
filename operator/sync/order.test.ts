import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareByKindAndName, kindRank } from './order';

const o = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name } });

test('objects sort by install order, unknown kinds last, then by name', () => {
  const sorted = [
    o('Widget', 'w'),
    o('Deployment', 'b'),
    o('Deployment', 'a'),
    o('CustomResourceDefinition', 'c'),
    o('Namespace', 'n'),
    o('ConfigMap', 'x'),
  ].sort(compareByKindAndName);
  assert.deepEqual(
    sorted.map((x) => `${x.kind}/${x.metadata.name}`),
    ['Namespace/n', 'ConfigMap/x', 'CustomResourceDefinition/c', 'Deployment/a', 'Deployment/b', 'Widget/w'],
  );
  assert.ok(kindRank('Namespace') < kindRank('Secret'));
});
