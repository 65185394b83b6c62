import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppliedStates } from './applied';
import type { KubeObject } from '../kube/object';

const desired: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'n' },
  data: { k: 'v' },
};
const stored = (rv: string, uid = 'u1'): KubeObject => ({
  ...desired,
  metadata: { ...desired.metadata, uid, resourceVersion: rv },
});

test('the live object an apply stored matches that desired object, and only while it is unchanged', () => {
  const s = new AppliedStates();
  s.record(desired, stored('10'));
  assert.equal(s.matches(desired, stored('10')), true);
  assert.equal(s.matches(desired, stored('11')), false, 'written since (another manager, a controller)');
  assert.equal(s.matches(desired, stored('10', 'u2')), false, 'deleted and re-created');
  assert.equal(s.matches({ ...desired, data: { k: 'w' } }, stored('10')), false, 'git changed since');
});

test('an answer without uid or resourceVersion is not recorded; the record is bounded', () => {
  const s = new AppliedStates(4);
  s.record(desired, { ...desired, metadata: { name: 'a' } });
  assert.equal(s.size, 0);
  for (let i = 0; i < 10; i++) s.record(desired, stored(String(i)));
  assert.ok(s.size <= 4);
  assert.equal(s.matches(desired, stored('9')), true, 'the newest stays');
});
