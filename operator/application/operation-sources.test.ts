/** Operations of multi-source apps: per-position revisions, rollback sources, what syncResult/history record. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from './api';
import type { Comparison } from './compare';
import { deployed, isRollback, manualRequest, multiRevisions } from './operation';
import { SourcesError } from './sources';

const chart = { repoURL: 'https://charts.example', chart: 'web', targetRevision: '1.*' };
const values = { repoURL: 'https://git.example/config.git', targetRevision: 'main', ref: 'values' };

function app(spec: Partial<App['spec']>, operation?: App['operation']): App {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'web', namespace: 'argocd' },
    spec: { project: 'default', destination: { name: 'in-cluster' }, ...spec },
    ...(operation ? { operation } : {}),
  } as App;
}
const cmp = (revisions: string[]): Comparison => ({
  revisions,
  sourceTypes: [],
  resources: [],
  hooks: [],
  status: 'Synced',
});

describe('multi-source operations', () => {
  const multi = app({ sources: [chart, values] });

  it('a manual request carries revisions and sources (argocd app rollback of a multi-source app)', () => {
    const req = manualRequest(
      app({ sources: [chart, values] }, { sync: { revisions: ['1.0.0', 'abc'], sources: [chart, values] } }),
    );
    assert.deepEqual(req.revisions, ['1.0.0', 'abc']);
    assert.deepEqual(req.sources, [chart, values]);
  });

  it('refuses more revisions than sources, counting a rollback sources list when given', () => {
    const base = manualRequest(multi);
    assert.deepEqual(multiRevisions(multi, { ...base, revisions: ['1.0.0', ''] }), ['1.0.0', '']);
    assert.throws(
      () => multiRevisions(multi, { ...base, revisions: ['a', 'b', 'c'] }),
      (err: unknown) =>
        err instanceof SourcesError &&
        err.message === 'operation.sync.revisions has 3 entries for 2 sources: one per source at most',
    );
    assert.throws(
      () => multiRevisions(multi, { ...base, revisions: ['a', 'b'], sources: [chart] }),
      SourcesError,
    );
  });

  it('is a rollback when the revisions differ or other sources are asked', () => {
    const req = manualRequest(multi);
    assert.equal(isRollback(multi, cmp(['1', 'a']), cmp(['1', 'a']), req), false);
    assert.equal(isRollback(multi, cmp(['1', 'b']), cmp(['1', 'a']), req), true);
    assert.equal(
      isRollback(multi, cmp(['1', 'a']), cmp(['1', 'a']), { ...req, sources: [chart, values] }),
      true,
    );
  });

  it('records revisions and the sources synced (a rollback its own) for multi-source apps only', () => {
    const req = manualRequest(multi);
    const old = [{ ...chart, targetRevision: '1.0.0' }, values];
    assert.deepEqual(deployed(multi, req, ['1', 'a']), { revisions: ['1', 'a'], sources: [chart, values] });
    assert.deepEqual(deployed(multi, { ...req, sources: old }, ['1', 'a']), {
      revisions: ['1', 'a'],
      sources: old,
    });
    const single = app({ source: values });
    assert.deepEqual(deployed(single, manualRequest(single), ['a']), { revision: 'a', source: values });
  });
});
