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

test('a kind with generation stays matched through status-only writes, not through spec or metadata changes', () => {
  const deploy: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'n', labels: { app: 'web' } },
  };
  const revision = { 'deployment.kubernetes.io/revision': '1' };
  const live = (
    rv: string,
    generation: number,
    labels: Record<string, string> = { app: 'web' },
  ): KubeObject =>
    ({
      ...deploy,
      metadata: {
        ...deploy.metadata,
        uid: 'u1',
        resourceVersion: rv,
        generation,
        labels,
        annotations: revision,
      },
      status: { readyReplicas: Number(rv) },
    }) as KubeObject;
  const s = new AppliedStates();
  s.record(deploy, live('10', 1));
  assert.equal(s.matches(deploy, live('11', 1)), true, 'a controller wrote status');
  assert.equal(s.matches(deploy, live('12', 2)), false, 'the spec changed (generation bumped)');
  assert.equal(s.matches(deploy, live('13', 1, { app: 'other' })), false, 'a label git sets changed');
  assert.equal(
    s.matches(deploy, live('14', 1, { app: 'web', extra: 'x' })),
    true,
    'a label git does not set',
  );
});
