import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inSync, normalizeForDiff } from './normalize';

const live = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'n', resourceVersion: '5', uid: 'u', managedFields: [{ manager: 'x' }] },
  data: { k: 'v' },
};

test('bookkeeping fields and status are ignored', () => {
  const dry = {
    ...live,
    metadata: { ...live.metadata, resourceVersion: '6', managedFields: [] },
    status: { x: 1 },
  };
  assert.equal(inSync(dry, live), true);
  assert.equal(normalizeForDiff(live).metadata.uid, undefined);
  assert.equal(live.metadata.uid, 'u', 'input untouched');
});

test('a changed data field is drift', () => {
  assert.equal(inSync({ ...live, data: { k: 'w' } }, live), false);
});
