import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { assessHealth, type HealthStatus } from './index';
import { fixture, testdata } from './testtools';

const EXCLUDED = 'excluded';

/**
 * Every fixture and the health `assessHealth` must give it. A message of `undefined` asserts that there is
 * none; an expectation without `message` checks the code only.
 */
const expected: Record<string, HealthStatus | typeof EXCLUDED> = {
  'deployment-healthy.yaml': { status: 'Healthy' },
  'deployment-progressing.yaml': {
    status: 'Progressing',
    message: 'Waiting for rollout to finish: 1 out of 3 new replicas have been updated...',
  },
  'deployment-progressing-generation.yaml': {
    status: 'Progressing',
    message: 'Waiting for rollout to finish: observed deployment generation less than desired generation',
  },
  'deployment-progressing-old-replicas.yaml': {
    status: 'Progressing',
    message: 'Waiting for rollout to finish: 1 old replicas are pending termination...',
  },
  'deployment-progressing-unavailable.yaml': {
    status: 'Progressing',
    message: 'Waiting for rollout to finish: 2 of 3 updated replicas are available...',
  },
  'deployment-degraded.yaml': {
    status: 'Degraded',
    message: 'Deployment "guestbook-ui" exceeded its progress deadline',
  },
  'deployment-paused.yaml': { status: 'Suspended', message: 'Deployment is paused' },
  'deployment-ignore-healthcheck.yaml': EXCLUDED,

  'statefulset-healthy.yaml': {
    status: 'Healthy',
    message: 'partitioned roll out complete: 3 new pods have been updated...',
  },
  'statefulset-progressing.yaml': { status: 'Progressing', message: 'Waiting for 1 pods to be ready...' },
  'statefulset-partitioned.yaml': {
    status: 'Progressing',
    message: 'Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...',
  },
  'statefulset-ondelete.yaml': { status: 'Healthy', message: 'statefulset has 1 ready pods' },

  'daemonset-healthy.yaml': { status: 'Healthy' },
  'daemonset-progressing.yaml': {
    status: 'Progressing',
    message:
      'Waiting for daemon set "node-exporter" rollout to finish: 1 out of 3 new pods have been updated...',
  },
  'daemonset-ondelete.yaml': {
    status: 'Healthy',
    message: 'daemon set 1 out of 3 new pods have been updated',
  },

  'replicaset-healthy.yaml': { status: 'Healthy' },
  'replicaset-progressing.yaml': {
    status: 'Progressing',
    message: 'Waiting for rollout to finish: 2 out of 4 new replicas are available...',
  },
  'replicaset-degraded.yaml': {
    status: 'Degraded',
    message:
      'pods "api-6b9c8d7f5-x7k2p" is forbidden: exceeded quota: compute-resources, requested: limits.memory=512Mi, used: limits.memory=1536Mi, limited: limits.memory=2Gi',
  },

  'pod-healthy.yaml': { status: 'Healthy' },
  'pod-crashloop.yaml': {
    status: 'Degraded',
    message:
      'back-off 40s restarting failed container=main pod=my-pod_argocd(63674389-f613-11e8-a057-fe5f49266390)',
  },
  'pod-imagepullbackoff.yaml': {
    status: 'Degraded',
    message: 'Back-off pulling image "ghcr.io/example/api:1.4.3-typo"',
  },
  'pod-init-crashloop.yaml': {
    status: 'Degraded',
    message:
      'back-off 1m20s restarting failed container=wait-for-db pod=api-7f9c6d5b8-9kq2d_shop(1d2c3b4a-5f6e-7d8c-9b0a-1f2e3d4c5b6a)',
  },
  'pod-running-not-ready.yaml': { status: 'Progressing', message: undefined },
  'pod-running-restart-never.yaml': { status: 'Progressing', message: undefined },
  'pod-running-ignore-restart-policy.yaml': {
    status: 'Degraded',
    message: 'Back-off pulling image "quay.io/kubevirt/virt-launcher:v1.2.0"',
  },
  'pod-succeeded.yaml': { status: 'Healthy' },
  'pod-failed.yaml': { status: 'Degraded', message: 'container "migrate" failed with exit code 2' },
  'pod-oomkilled.yaml': { status: 'Degraded', message: 'OOMKilled' },
  'pod-evicted.yaml': {
    status: 'Degraded',
    message:
      'The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 8923412Ki.',
  },
  'pod-pending.yaml': { status: 'Progressing', message: undefined },
  'pod-deleting.yaml': { status: 'Progressing', message: 'Pending deletion' },

  'job-succeeded.yaml': { status: 'Healthy', message: 'Reached expected number of succeeded pods' },
  'job-running.yaml': { status: 'Progressing', message: undefined },
  'job-failed.yaml': { status: 'Degraded', message: 'Job has reached the specified backoff limit' },
  'job-suspended.yaml': { status: 'Suspended', message: 'Job suspended', aggregateAs: 'Healthy' },
  'job-resumed.yaml': { status: 'Progressing' },
  'job-hook-deleting.yaml': { status: 'Healthy', message: 'Reached expected number of succeeded pods' },

  'cronjob-healthy.yaml': {
    status: 'Healthy',
    message: 'CronJob has completed its last execution successfully',
  },
  'cronjob-degraded.yaml': {
    status: 'Degraded',
    message: 'CronJob has not completed its last execution successfully',
  },
  'cronjob-suspended.yaml': { status: 'Suspended', message: 'CronJob is Suspended', aggregateAs: 'Healthy' },
  'cronjob-never-scheduled.yaml': { status: 'Healthy', message: 'CronJob has not been scheduled yet' },
  'cronjob-never-succeeded.yaml': {
    status: 'Healthy',
    message: 'The CronJob never completed successfully. It may not be healthy',
  },
  'cronjob-active.yaml': {
    status: 'Healthy',
    message: 'The job is running. Its last execution may not have been successful',
  },
  'cronjob-new.yaml': { status: 'Progressing', message: 'Waiting for CronJob' },

  'pvc-bound.yaml': { status: 'Healthy' },
  'pvc-pending.yaml': { status: 'Progressing' },
  'pvc-lost.yaml': { status: 'Degraded' },

  'service-clusterip.yaml': { status: 'Healthy' },
  'service-loadbalancer-pending.yaml': { status: 'Progressing' },
  'service-loadbalancer-healthy.yaml': { status: 'Healthy' },

  'ingress-healthy.yaml': { status: 'Healthy' },
  'ingress-progressing.yaml': { status: 'Progressing' },
  'ingress-extensions-healthy.yaml': { status: 'Healthy' },

  'hpa-healthy.yaml': { status: 'Healthy', message: 'recommended size matches current size' },
  'hpa-degraded.yaml': {
    status: 'Degraded',
    message:
      'the HPA controller was unable to get the target\'s current scale: deployments/scale.apps "sandbox-test-app-8" not found',
  },
  'hpa-degraded-external-metric.yaml': { status: 'Degraded' },
  'hpa-progressing.yaml': { status: 'Progressing', message: 'Waiting to Autoscale' },
  'hpa-v1-healthy.yaml': { status: 'Healthy', message: 'recommended size matches current size' },
  'hpa-v1-degraded.yaml': { status: 'Degraded' },
  'hpa-v1-progressing.yaml': { status: 'Progressing', message: 'Waiting to Autoscale' },

  'apiservice-healthy.yaml': { status: 'Healthy', message: 'Passed: all checks passed' },
  'apiservice-progressing.yaml': {
    status: 'Progressing',
    message:
      'MissingEndpoints: endpoints for service/cert-manager-webhook in "cert-manager" have no addresses',
  },

  'crd-healthy.yaml': { status: 'Healthy', message: 'CRD is healthy' },
  'crd-installing.yaml': {
    status: 'Progressing',
    message: 'CRD is not established: the initial names have been accepted',
  },
  'crd-degraded.yaml': {
    status: 'Degraded',
    message: 'CRD names have not been accepted: "wd" is already in use',
  },

  'workflow-healthy.yaml': { status: 'Healthy' },
  'workflow-degraded.yaml': { status: 'Degraded', message: "child 'smoke-test-q8w2z' failed" },

  'application-healthy.yaml': { status: 'Healthy', message: undefined },
  'application-outofsync.yaml': {
    status: 'Progressing',
    message: 'Waiting for sync: the application is OutOfSync',
  },
  'application-degraded.yaml': { status: 'Degraded' },
  'application-missing.yaml': { status: 'Missing' },
  'application-syncing.yaml': {
    status: 'Progressing',
    message: 'Sync operation is running: waiting for healthy state of apps/Deployment/guestbook-ui',
  },
  'application-sync-failed.yaml': {
    status: 'Degraded',
    message:
      'Last sync operation failed: one or more synchronization tasks completed unsuccessfully, reason: Job.batch "db-migrate" is invalid: spec.template.spec.restartPolicy: Required value',
  },
  'application-stale.yaml': {
    status: 'Progressing',
    message: 'Waiting for the application to be compared with its new spec',
  },
  'application-new.yaml': { status: 'Progressing', message: 'Waiting for the application to be reconciled' },
  'application-operation-requested.yaml': {
    status: 'Progressing',
    message: 'Waiting for the requested operation to start',
  },

  'externalsecret-healthy.yaml': { status: 'Healthy', message: 'secret synced' },
  'externalsecret-notready.yaml': {
    status: 'Degraded',
    message:
      'SecretSyncedError: could not get secret data from provider: key "payments/db" from ExternalSecret "db-credentials"',
  },
  'externalsecret-new.yaml': { status: 'Progressing', message: 'Waiting for the first sync' },

  'generic-ready.yaml': { status: 'Healthy', message: 'Certificate is up to date and has not expired' },
  'generic-notready.yaml': { status: 'Degraded', message: 'InvalidProviderConfig: unable to validate store' },
  'generic-unknown.yaml': {
    status: 'Progressing',
    message: 'ValidationUnknown: store validation is in progress',
  },
  'generic-stale.yaml': {
    status: 'Progressing',
    message: 'Waiting for the controller to observe generation 3',
  },
  'generic-stalled.yaml': { status: 'Degraded' },
  'generic-available.yaml': {
    status: 'Degraded',
    message:
      'Deployment_InsufficientReplicas: DeploymentAvailable: 0 replicas available for console deployment',
  },
  'generic-noconditions.yaml': { status: 'Healthy', message: undefined },
};

describe('assessHealth on testdata fixtures', () => {
  it('has an expectation for every fixture, and a fixture for every expectation', () => {
    const files = fs.readdirSync(testdata).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
  });

  for (const [file, want] of Object.entries(expected)) {
    it(`${file} → ${want === EXCLUDED ? EXCLUDED : want.status}`, () => {
      const got = assessHealth(fixture(file));
      if (want === EXCLUDED) return assert.equal(got, undefined);
      assert.ok(got, 'a health status');
      assert.equal(got.status, want.status);
      if ('message' in want) assert.equal(got.message, want.message);
      assert.equal(got.aggregateAs, want.aggregateAs);
    });
  }
});
