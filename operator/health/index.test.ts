import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import {
  aggregateHealth,
  assessHealth,
  genericHealth,
  healthCheckFor,
  healthOrder,
  isWorse,
  worseHealth,
  deploymentHealth,
  ingressHealth,
  type HealthStatus,
} from './index';
import { fixture } from './testtools';

describe('healthOrder and worseHealth', () => {
  it('orders best to worst exactly as gitops-engine', () => {
    assert.deepEqual(healthOrder, ['Healthy', 'Suspended', 'Progressing', 'Missing', 'Degraded', 'Unknown']);
  });

  it('isWorse is strict', () => {
    assert.equal(isWorse('Healthy', 'Progressing'), true);
    assert.equal(isWorse('Healthy', 'Degraded'), true);
    assert.equal(isWorse('Degraded', 'Progressing'), false);
    assert.equal(isWorse('Degraded', 'Unknown'), true);
    assert.equal(isWorse('Missing', 'Missing'), false);
  });

  it('worseHealth keeps the first on a tie', () => {
    const a: HealthStatus = { status: 'Progressing', message: 'a' };
    const b: HealthStatus = { status: 'Progressing', message: 'b' };
    assert.equal(worseHealth(a, b), a);
    assert.equal(worseHealth(a, { status: 'Missing' }).status, 'Missing');
    assert.equal(worseHealth({ status: 'Degraded' }, { status: 'Suspended' }).status, 'Degraded');
  });
});

describe('aggregateHealth', () => {
  const cases: Array<[string, Array<HealthStatus | undefined>, HealthStatus]> = [
    ['nothing → Healthy', [], { status: 'Healthy' }],
    ['only excluded → Healthy', [undefined, undefined], { status: 'Healthy' }],
    [
      'all Healthy → Healthy without a message',
      [{ status: 'Healthy', message: 'rollout complete' }],
      { status: 'Healthy' },
    ],
    [
      'the worst wins, with its message',
      [
        { status: 'Healthy' },
        { status: 'Progressing', message: 'rolling out' },
        { status: 'Degraded', message: 'crash loop' },
        { status: 'Suspended', message: 'paused' },
      ],
      { status: 'Degraded', message: 'crash loop' },
    ],
    [
      'the first of equally bad ones gives the message',
      [
        { status: 'Progressing', message: 'first' },
        { status: 'Progressing', message: 'second' },
      ],
      { status: 'Progressing', message: 'first' },
    ],
    ['Missing counts', [{ status: 'Healthy' }, { status: 'Missing' }], { status: 'Missing' }],
    [
      'Degraded is worse than Missing',
      [{ status: 'Degraded' }, { status: 'Missing' }],
      { status: 'Degraded' },
    ],
    [
      'Unknown is the worst',
      [{ status: 'Degraded' }, { status: 'Unknown', message: '?' }],
      { status: 'Unknown', message: '?' },
    ],
    [
      'excluded items do not count',
      [undefined, { status: 'Suspended', message: 'paused' }, undefined],
      { status: 'Suspended', message: 'paused' },
    ],
    [
      'aggregateAs replaces the status',
      [{ status: 'Healthy' }, { status: 'Suspended', message: 'Job suspended', aggregateAs: 'Healthy' }],
      { status: 'Healthy' },
    ],
  ];
  for (const [name, items, want] of cases) {
    it(name, () => assert.deepEqual(aggregateHealth(items), want));
  }

  it('aggregates fixtures: a suspended CronJob does not suspend the app, a crash-looping pod degrades it', () => {
    const names = ['deployment-healthy.yaml', 'cronjob-suspended.yaml', 'deployment-ignore-healthcheck.yaml'];
    assert.deepEqual(aggregateHealth(names.map((n) => assessHealth(fixture(n)))), { status: 'Healthy' });
    const more = [...names, 'pod-crashloop.yaml', 'deployment-progressing.yaml'];
    assert.equal(aggregateHealth(more.map((n) => assessHealth(fixture(n)))).status, 'Degraded');
  });
});

describe('assessHealth', () => {
  it('a resource that does not exist is Missing', () => {
    assert.deepEqual(assessHealth(undefined), { status: 'Missing' });
  });

  it('ignore-healthcheck "true" excludes; any other value does not', () => {
    const d = fixture('deployment-degraded.yaml');
    d.metadata.annotations = { 'argocd.argoproj.io/ignore-healthcheck': 'true' };
    assert.equal(assessHealth(d), undefined);
    d.metadata.annotations = { 'argocd.argoproj.io/ignore-healthcheck': 'false' };
    assert.equal(assessHealth(d)?.status, 'Degraded');
  });

  it('an object being deleted is Progressing "Pending deletion", whatever its kind', () => {
    const cm = fixture('generic-noconditions.yaml');
    cm.metadata.deletionTimestamp = '2024-04-02T12:00:00Z';
    assert.deepEqual(assessHealth(cm), { status: 'Progressing', message: 'Pending deletion' });
  });

  it('a deleted object under another finalizer than the hook one is still Pending deletion', () => {
    const pvc = fixture('pvc-bound.yaml');
    pvc.metadata.deletionTimestamp = '2024-04-02T12:00:00Z';
    assert.equal(assessHealth(pvc)?.message, 'Pending deletion');
  });

  it('a check that throws on malformed input gives Unknown', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment' } as unknown as KubeObject;
    const got = assessHealth(broken);
    assert.equal(got?.status, 'Unknown');
    assert.match(got?.message ?? '', /^failed to assess health: /);
  });

  it('an object without metadata is assessed, not crashed on', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', spec: { type: 'ClusterIP' } } as unknown as KubeObject;
    assert.deepEqual(assessHealth(svc), { status: 'Healthy' });
  });
});

describe('dispatch by group and kind', () => {
  it('picks the check by group, not by kind alone', () => {
    assert.equal(healthCheckFor('apps', 'Deployment'), deploymentHealth);
    assert.equal(healthCheckFor('networking.k8s.io', 'Ingress'), ingressHealth);
    assert.equal(healthCheckFor('extensions', 'Ingress'), ingressHealth);
    assert.equal(healthCheckFor('example.com', 'Deployment'), genericHealth);
    assert.equal(healthCheckFor('', 'ConfigMap'), genericHealth);
  });

  it('a custom kind named like a built-in one is judged generically', () => {
    const custom = {
      apiVersion: 'example.com/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { paused: true },
    } as KubeObject;
    assert.deepEqual(assessHealth(custom), { status: 'Healthy' });
  });
});
