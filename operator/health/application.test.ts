import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import { applicationHealth } from './application';
import { fixture } from './testtools';
import type { HealthStatus } from './types';

/** The healthy child Application fixture, with a change applied. */
function app(change: (a: AppFixture) => void): KubeObject {
  const a = fixture('application-healthy.yaml') as unknown as AppFixture;
  change(a);
  return a as unknown as KubeObject;
}

interface AppFixture {
  operation?: unknown;
  spec: {
    source?: Record<string, unknown>;
    sources?: Array<Record<string, unknown>>;
    destination: Record<string, unknown>;
  };
  status: {
    health: { status: string; message?: string };
    sync: {
      status: string;
      comparedTo?: {
        source?: Record<string, unknown>;
        sources?: Array<Record<string, unknown>>;
        destination?: Record<string, unknown>;
      };
    };
    operationState: { phase: string; message?: string };
  };
}

const cases: Array<[string, (a: AppFixture) => void, HealthStatus]> = [
  ['unchanged → Healthy', () => undefined, { status: 'Healthy' }],
  [
    'operation Terminating → Progressing',
    (a) => {
      a.status.operationState.phase = 'Terminating';
      a.status.operationState.message = '';
    },
    { status: 'Progressing', message: 'Sync operation is being terminated' },
  ],
  [
    'operation Error → Degraded',
    (a) => {
      a.status.operationState.phase = 'Error';
      a.status.operationState.message = 'rpc error: code = Unknown desc = authentication required';
    },
    {
      status: 'Degraded',
      message: 'Last sync operation errored: rpc error: code = Unknown desc = authentication required',
    },
  ],
  [
    'a running operation wins over a degraded health',
    (a) => {
      a.status.operationState.phase = 'Running';
      a.status.operationState.message = 'Retrying attempt #2 at 12:01PM';
      a.status.health.status = 'Degraded';
    },
    { status: 'Progressing', message: 'Sync operation is running: Retrying attempt #2 at 12:01PM' },
  ],
  [
    'Degraded wins over OutOfSync',
    (a) => {
      a.status.health = { status: 'Degraded', message: 'crash loop' };
      a.status.sync.status = 'OutOfSync';
    },
    { status: 'Degraded', message: 'crash loop' },
  ],
  ['Suspended propagates', (a) => (a.status.health.status = 'Suspended'), { status: 'Suspended' }],
  ['Progressing propagates', (a) => (a.status.health.status = 'Progressing'), { status: 'Progressing' }],
  ['Unknown propagates', (a) => (a.status.health.status = 'Unknown'), { status: 'Unknown' }],
  [
    'a health code capstan does not know → Unknown',
    (a) => (a.status.health.status = 'Sleeping'),
    { status: 'Unknown', message: 'Unknown health status "Sleeping"' },
  ],
  [
    'sync Unknown (comparison failed) → Progressing',
    (a) => (a.status.sync.status = 'Unknown'),
    { status: 'Progressing', message: 'Waiting for sync: the application is Unknown' },
  ],
  [
    'helm values changed since the comparison → Progressing',
    (a) => (a.spec.source = { ...a.spec.source, helm: { valuesObject: { replicas: 3 } } }),
    { status: 'Progressing', message: 'Waiting for the application to be compared with its new spec' },
  ],
  [
    'empty fields the controller drops do not count as a change (omitempty)',
    (a) => (a.spec.source = { ...a.spec.source, helm: { valueFiles: [], skipCrds: false }, chart: '' }),
    { status: 'Healthy' },
  ],
  [
    'key order does not matter',
    (a) => {
      const s = a.status.sync.comparedTo?.source ?? {};
      a.status.sync.comparedTo = {
        ...a.status.sync.comparedTo,
        source: Object.fromEntries(Object.entries(s).reverse()),
      };
    },
    { status: 'Healthy' },
  ],
  [
    'a destination given by name, echoed with the server filled in → Healthy',
    (a) => {
      a.spec.destination = { name: 'in-cluster', namespace: 'default' };
      a.status.sync.comparedTo = {
        ...a.status.sync.comparedTo,
        destination: { name: 'in-cluster', namespace: 'default', server: 'https://kubernetes.default.svc' },
      };
    },
    { status: 'Healthy' },
  ],
  [
    'destination namespace changed → Progressing',
    (a) => (a.spec.destination = { ...a.spec.destination, namespace: 'prod' }),
    { status: 'Progressing', message: 'Waiting for the application to be compared with its new spec' },
  ],
  [
    'multi-source: one source moved → Progressing',
    (a) => {
      const sources = [
        { repoURL: 'https://charts.example.com', chart: 'web', targetRevision: '1.2.0' },
        { repoURL: 'https://git.example.com/values.git', targetRevision: 'main', ref: 'values' },
      ];
      delete a.spec.source;
      a.spec.sources = [{ ...sources[0], targetRevision: '1.3.0' }, sources[1]];
      a.status.sync.comparedTo = { destination: a.spec.destination, sources };
    },
    { status: 'Progressing', message: 'Waiting for the application to be compared with its new spec' },
  ],
  [
    'no comparedTo (an old controller) → judged on the rest',
    (a) => delete a.status.sync.comparedTo,
    { status: 'Healthy' },
  ],
];

describe('applicationHealth', () => {
  for (const [name, change, want] of cases) {
    it(name, () => assert.deepEqual(applicationHealth(app(change)), want));
  }
});
