import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperationState } from '../../generated/application';
import { operationStatePatch } from './operation';
import { applyMergePatch as mergePatch } from '../common/mergepatch';

const previous: OperationState = {
  operation: {
    sync: { revision: 'aaa', source: { repoURL: 'r', path: 'old' } },
    initiatedBy: { automated: true },
  },
  phase: 'Failed',
  message: 'boom',
  startedAt: '2026-01-01T00:00:00Z',
  finishedAt: '2026-01-01T00:01:00Z',
  retryCount: 3,
  syncResult: {
    resources: [{ kind: 'ConfigMap', name: 'a', status: 'SyncFailed' }],
    revision: 'aaa',
    source: { repoURL: 'r' },
  },
};

test('a new operation starts fresh: no finishedAt, retryCount, revision or source of the previous one survives', () => {
  const fresh: OperationState = {
    operation: { sync: { revisions: ['bbb', 'ccc'] }, initiatedBy: { username: 'alice' } },
    phase: 'Running',
    message: 'one or more tasks are running',
    startedAt: '2026-01-02T00:00:00Z',
    syncResult: { resources: [], revisions: ['bbb', 'ccc'] },
  };
  const merged = mergePatch(previous, operationStatePatch(previous, fresh));
  assert.deepEqual(merged, JSON.parse(JSON.stringify(fresh)));
});

test('without the nulls a merge patch would keep the stale fields (the bug this guards)', () => {
  const fresh = { phase: 'Running', startedAt: '2026-01-02T00:00:00Z' };
  const merged = mergePatch(previous, fresh) as OperationState;
  assert.equal(merged.retryCount, 3);
  assert.equal(merged.finishedAt, '2026-01-01T00:01:00Z');
});

test('a retry carries its own retryCount', () => {
  const patch = operationStatePatch(previous, {
    ...previous,
    phase: 'Running',
    retryCount: 1,
    finishedAt: undefined,
  }) as Record<string, unknown>;
  assert.equal(patch.retryCount, 1);
  assert.equal(patch.finishedAt, null);
});
