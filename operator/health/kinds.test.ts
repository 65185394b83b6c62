// Edge cases of the per-kind checks that the fixtures do not show, each a small change to a fixture.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import { assessHealth } from './index';
import { fixture } from './testtools';
import type { HealthStatus } from './types';

/** A fixture as loose data, to change any field. */
type Loose = KubeObject & { spec: Record<string, unknown>; status: Record<string, unknown> };

function from(name: string, change: (o: Loose) => void): KubeObject {
  const o = fixture(name) as Loose;
  change(o);
  return o;
}

const cases: Array<[string, KubeObject, Partial<HealthStatus>]> = [
  [
    'Deployment without spec.replicas skips the desired-count rule',
    from('deployment-progressing.yaml', (d) => {
      delete d.spec.replicas;
    }),
    {
      status: 'Progressing',
      message: 'Waiting for rollout to finish: 3 old replicas are pending termination...',
    },
  ],
  [
    'Deployment: paused wins over a missed deadline',
    from('deployment-degraded.yaml', (d) => (d.spec.paused = true)),
    { status: 'Suspended' },
  ],
  [
    'StatefulSet never observed → Progressing',
    from('statefulset-healthy.yaml', (s) => delete s.status.observedGeneration),
    { status: 'Progressing', message: 'Waiting for statefulset spec update to be observed...' },
  ],
  [
    'StatefulSet RollingUpdate without rollingUpdate: revisions differ → Progressing',
    from('statefulset-healthy.yaml', (s) => {
      s.spec.updateStrategy = { type: 'RollingUpdate' };
      s.status.updateRevision = 'redis-5c9d6f7b44';
      s.status.updatedReplicas = 1;
    }),
    {
      status: 'Progressing',
      message: 'waiting for statefulset rolling update to complete 1 pods at revision redis-5c9d6f7b44...',
    },
  ],
  [
    'StatefulSet RollingUpdate without rollingUpdate: same revision → Healthy',
    from('statefulset-healthy.yaml', (s) => (s.spec.updateStrategy = { type: 'RollingUpdate' })),
    {
      status: 'Healthy',
      message: 'statefulset rolling update complete 3 pods at revision redis-7b8f75b98...',
    },
  ],
  [
    'DaemonSet generation not observed → Progressing',
    from('daemonset-healthy.yaml', (d) => (d.metadata.generation = 3)),
    {
      status: 'Progressing',
      message: 'Waiting for rollout to finish: observed daemon set generation less than desired generation',
    },
  ],
  [
    'DaemonSet updated but not available → Progressing',
    from('daemonset-healthy.yaml', (d) => (d.status.numberAvailable = 2)),
    {
      status: 'Progressing',
      message:
        'Waiting for daemon set "node-exporter" rollout to finish: 2 of 3 updated pods are available...',
    },
  ],
  [
    'Pod: the ignore-restart-policy annotation does not apply to hooks',
    from('pod-running-ignore-restart-policy.yaml', (p) => {
      p.metadata.annotations = { ...p.metadata.annotations, 'argocd.argoproj.io/hook': 'PostSync' };
    }),
    { status: 'Progressing' },
  ],
  [
    'Pod: a run-to-completion pod is not Degraded for a waiting error (hook semantics)',
    from('pod-imagepullbackoff.yaml', (p) => (p.spec.restartPolicy = 'Never')),
    { status: 'Progressing' },
  ],
  [
    'Pod: no restartPolicy means Always',
    from('pod-crashloop.yaml', (p) => delete p.spec.restartPolicy),
    { status: 'Degraded' },
  ],
  [
    'Pod: running, not ready, a container crashed before → Degraded',
    from('pod-running-not-ready.yaml', (p) => {
      const statuses = p.status.containerStatuses as Array<Record<string, unknown>>;
      statuses[0].lastState = { terminated: { exitCode: 1, reason: 'Error' } };
      p.status.message = 'probe failing';
    }),
    { status: 'Degraded', message: 'probe failing' },
  ],
  [
    'Pod: a waiting error without a message reports its reason',
    from('pod-imagepullbackoff.yaml', (p) => {
      const statuses = p.status.containerStatuses as Array<{ state: { waiting: { message?: string } } }>;
      delete statuses[0].state.waiting.message;
    }),
    { status: 'Degraded', message: 'ImagePullBackOff' },
  ],
  [
    'Pod: failed without any message',
    from('pod-failed.yaml', (p) => delete p.status.containerStatuses),
    { status: 'Degraded', message: undefined },
  ],
  [
    'Pod: unknown phase → Unknown',
    from('pod-healthy.yaml', (p) => (p.status.phase = 'Unknown')),
    { status: 'Unknown' },
  ],
  [
    'Job: spec.suspend before the Suspended condition → Suspended',
    from('job-running.yaml', (j) => (j.spec.suspend = true)),
    { status: 'Suspended', message: 'Job is suspended', aggregateAs: 'Healthy' },
  ],
  [
    'CronJob: last success at the very schedule time → Healthy',
    from('cronjob-healthy.yaml', (c) => (c.status.lastSuccessfulTime = c.status.lastScheduleTime)),
    { status: 'Healthy' },
  ],
  [
    'CronJob: times compared as times, not strings (fractional seconds)',
    from('cronjob-healthy.yaml', (c) => {
      c.status.lastScheduleTime = '2024-04-02T03:00:00Z';
      c.status.lastSuccessfulTime = '2024-04-02T03:00:00.5Z';
    }),
    { status: 'Healthy' },
  ],
  ['PVC without a phase → Unknown', from('pvc-bound.yaml', (p) => (p.status = {})), { status: 'Unknown' }],
  [
    'HPA v1 with unparsable conditions → Unknown',
    from('hpa-v1-healthy.yaml', (h) => {
      h.metadata.annotations = { 'autoscaling.alpha.kubernetes.io/conditions': '[{"type":' };
    }),
    { status: 'Unknown' },
  ],
  [
    'HPA v1 with an empty conditions list → Progressing',
    from('hpa-v1-healthy.yaml', (h) => {
      h.metadata.annotations = { 'autoscaling.alpha.kubernetes.io/conditions': '[]' };
    }),
    { status: 'Progressing', message: 'Waiting to Autoscale' },
  ],
  [
    'HPA ScalingLimited True → Healthy',
    from('hpa-healthy.yaml', (h) => {
      h.status.conditions = [
        {
          type: 'ScalingLimited',
          status: 'True',
          reason: 'TooFewReplicas',
          message: 'the desired replica count is less than the minimum replica count',
        },
      ];
    }),
    { status: 'Healthy', message: 'the desired replica count is less than the minimum replica count' },
  ],
  [
    'APIService without conditions → Progressing',
    from('apiservice-healthy.yaml', (a) => (a.status = {})),
    { status: 'Progressing', message: 'Waiting to be processed' },
  ],
  [
    'CRD without conditions → Progressing',
    from('crd-healthy.yaml', (c) => (c.status = {})),
    { status: 'Progressing', message: 'Status conditions not found' },
  ],
  [
    'CRD not established for another reason → Degraded',
    from('crd-installing.yaml', (c) => {
      const conditions = c.status.conditions as Array<Record<string, string>>;
      conditions[1].reason = 'NotAccepted';
      conditions[1].message = 'not all names are accepted';
    }),
    { status: 'Degraded', message: 'CRD is not established: not all names are accepted' },
  ],
  [
    'CRD with a non-structural schema → Degraded',
    from('crd-healthy.yaml', (c) => {
      (c.status.conditions as unknown[]).push({
        type: 'NonStructuralSchema',
        status: 'True',
        message: 'spec.versions[0].schema: Required value',
      });
    }),
    { status: 'Degraded', message: 'Schema violations found: spec.versions[0].schema: Required value' },
  ],
  [
    'CRD terminating → Progressing',
    from('crd-healthy.yaml', (c) => {
      (c.status.conditions as unknown[]).push({
        type: 'Terminating',
        status: 'True',
        message: 'instances still exist',
      });
    }),
    { status: 'Progressing', message: 'CRD is being terminated: instances still exist' },
  ],
  [
    'Workflow without a phase → Progressing',
    from('workflow-healthy.yaml', (w) => (w.status = {})),
    { status: 'Progressing' },
  ],
  [
    'Workflow with an unexpected phase → Unknown',
    from('workflow-healthy.yaml', (w) => (w.status.phase = 'Skipped')),
    { status: 'Unknown' },
  ],
  [
    'ExternalSecret with Ready Unknown → Progressing',
    from('externalsecret-healthy.yaml', (e) => {
      e.status.conditions = [{ type: 'Ready', status: 'Unknown' }];
    }),
    { status: 'Progressing', message: 'Waiting for the first sync' },
  ],
  [
    'generic: Reconciling True → Progressing',
    from('generic-stale.yaml', (k) => {
      k.status.observedGeneration = 3;
      k.status.conditions = [
        {
          type: 'Reconciling',
          status: 'True',
          reason: 'Progressing',
          message: 'Reconciliation in progress',
          observedGeneration: 3,
        },
        {
          type: 'Ready',
          status: 'Unknown',
          reason: 'Progressing',
          message: 'Reconciliation in progress',
          observedGeneration: 3,
        },
      ];
    }),
    { status: 'Progressing', message: 'Progressing: Reconciliation in progress' },
  ],
  [
    'generic: a Ready condition of an older generation → Progressing',
    from('generic-ready.yaml', (c) => (c.metadata.generation = 2)),
    { status: 'Progressing', message: 'Waiting for the controller to observe generation 2' },
  ],
  [
    'generic: Ready is preferred over Available',
    from('generic-available.yaml', (c) => {
      (c.status.conditions as unknown[]).push({ type: 'Ready', status: 'True', message: 'ok' });
    }),
    { status: 'Healthy', message: 'ok' },
  ],
  [
    'generic: malformed conditions are ignored',
    from('generic-ready.yaml', (c) => (c.status.conditions = [null, 'Ready', { status: 'False' }])),
    { status: 'Healthy', message: undefined },
  ],
];

describe('per-kind edge cases', () => {
  for (const [name, obj, want] of cases) {
    it(name, () => {
      const got = assessHealth(obj);
      assert.ok(got);
      assert.equal(got.status, want.status);
      if ('message' in want) assert.equal(got.message, want.message);
      if ('aggregateAs' in want) assert.equal(got.aggregateAs, want.aggregateAs);
    });
  }
});
