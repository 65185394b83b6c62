/** The Application operator's metrics as its code paths move them (Argo CD's argocd_app_sync_total). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syncTotal } from '../runtime/metrics';
import type { ApplicationContext } from './context';
import { abortRunningOperation } from './operation';

test('capstan_app_sync_total counts an operation that ended, by phase (it was registered but never incremented)', async () => {
  const ctx = {
    client: { request: async () => ({}) },
    log: { info() {}, warn() {}, error() {}, debug() {} },
  } as unknown as ApplicationContext;
  const theApp = {
    metadata: { name: 'counted', namespace: 'argocd', uid: 'u1' },
    spec: {
      project: 'team',
      source: { repoURL: 'https://git.example.com/r.git', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'web' },
    },
    status: {
      operationState: {
        operation: { sync: { revision: 'main' }, initiatedBy: { automated: true } },
        phase: 'Running' as const,
        startedAt: '2026-01-01T00:00:00Z',
        syncResult: { resources: [], revision: 'a'.repeat(40) },
      },
    },
  };
  const count = async () =>
    (await syncTotal.get()).values.find((s) => s.labels.name === 'counted' && s.labels.phase === 'Failed')
      ?.value ?? 0;
  assert.equal(await count(), 0);
  const out = await abortRunningOperation(ctx, theApp as never, 'the project no longer permits it');
  assert.equal(out?.state.phase, 'Failed');
  assert.equal(await count(), 1);
  const series = (await syncTotal.get()).values.find((s) => s.labels.name === 'counted');
  assert.deepEqual(series?.labels, {
    namespace: 'argocd',
    name: 'counted',
    project: 'team',
    dest_server: 'https://kubernetes.default.svc',
    phase: 'Failed',
  });
});
