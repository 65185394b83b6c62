import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationStatus } from '../../generated/application';
import { App } from './api';
import { ApplicationContext } from './context';
import { changedFields, mergePatchIsNoop, writeStatus } from './status';

const NOW = '2026-11-29T12:00:00.000Z';
const MINUTE_AGO = '2026-11-29T11:59:00.000Z';
const HOUR_AGO = '2026-11-29T11:00:00.000Z';

/** A context whose client records each request; refresh interval 120 s (heartbeat 10 min). */
function recordingCtx() {
  const requests: Array<{ method: string; path: string; body: unknown }> = [];
  const client = {
    async request(method: string, path: string, opts: { body?: unknown } = {}) {
      requests.push({ method, path, body: opts.body });
      return {};
    },
  };
  const ctx = { client, settings: { refreshIntervalMs: 120_000 } } as unknown as ApplicationContext;
  return { ctx, requests };
}

function app(reconciledAt: string, annotations?: Record<string, string>): App {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'a', namespace: 'ns', ...(annotations ? { annotations } : {}) },
    spec: { project: 'default', destination: { namespace: 'x' } },
    status: {
      sync: { status: 'Synced', revision: 'abc' },
      health: { status: 'Healthy' },
      resources: [{ version: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'c', status: 'Synced' }],
      conditions: [],
      reconciledAt,
    },
  } as unknown as App;
}

const SAME = {
  sync: { status: 'Synced' as const, revision: 'abc' },
  health: { status: 'Healthy' },
  resources: [
    {
      group: undefined,
      version: 'v1',
      kind: 'ConfigMap',
      namespace: 'x',
      name: 'c',
      status: 'Synced' as const,
    },
  ],
} as ApplicationStatus;

test('a periodic refresh whose status equals the live one writes nothing', async () => {
  const { ctx, requests } = recordingCtx();
  await writeStatus(ctx, app(MINUTE_AGO), SAME, [], NOW);
  assert.equal(requests.length, 0);
});

test('a changed status is patched, with reconciledAt', async () => {
  const { ctx, requests } = recordingCtx();
  await writeStatus(
    ctx,
    app(MINUTE_AGO),
    { ...SAME, sync: { status: 'OutOfSync', revision: 'abc' } } as ApplicationStatus,
    [],
    NOW,
  );
  assert.equal(requests.length, 1);
  assert.match(requests[0].path, /\/applications\/a\/status$/);
  assert.equal((requests[0].body as { status: { reconciledAt: string } }).status.reconciledAt, NOW);
});

test('a new condition is a change', async () => {
  const { ctx, requests } = recordingCtx();
  await writeStatus(ctx, app(MINUTE_AGO), SAME, [{ type: 'SyncError', message: 'x' }], NOW);
  assert.equal(requests.length, 1);
});

test('an explicit refresh (annotation) always records reconciledAt', async () => {
  const { ctx, requests } = recordingCtx();
  await writeStatus(ctx, app(MINUTE_AGO, { 'argocd.argoproj.io/refresh': 'normal' }), SAME, [], NOW);
  assert.equal(requests.length, 1);
});

test('reconciledAt older than 5 refresh intervals (or missing) is written again', async () => {
  const { ctx, requests } = recordingCtx();
  await writeStatus(ctx, app(HOUR_AGO), SAME, [], NOW);
  await writeStatus(ctx, app(''), SAME, [], NOW);
  assert.equal(requests.length, 2);
});

test('mergePatchIsNoop follows RFC 7386: nested objects merge, arrays replace, null deletes', () => {
  assert.ok(mergePatchIsNoop({ a: { b: 1, c: 2 } }, { a: { b: 1 } }));
  assert.ok(!mergePatchIsNoop({ a: { b: 1 } }, { a: { b: 2 } }));
  assert.ok(!mergePatchIsNoop({ a: [1, 2] }, { a: [1] }));
  assert.ok(mergePatchIsNoop({ a: [{ x: 1 }] }, { a: [{ x: 1 }] }));
  assert.ok(mergePatchIsNoop({}, { gone: null }));
  assert.ok(!mergePatchIsNoop({ gone: 1 }, { gone: null }));
  assert.ok(!mergePatchIsNoop(undefined, { a: 1 }));
});

test('the status patch carries only what changed: a refresh that changes nothing sends reconciledAt alone', async () => {
  const { ctx, requests } = recordingCtx();
  await writeStatus(ctx, app(MINUTE_AGO, { 'argocd.argoproj.io/refresh': 'normal' }), SAME, [], NOW);
  assert.deepEqual(requests[0].body, { status: { reconciledAt: NOW } });
  await writeStatus(
    ctx,
    app(MINUTE_AGO),
    {
      ...SAME,
      sync: { status: 'OutOfSync', revision: 'abc' },
      health: { status: 'Healthy' },
    } as ApplicationStatus,
    [],
    NOW,
  );
  assert.deepEqual(requests[1].body, { status: { sync: { status: 'OutOfSync' }, reconciledAt: NOW } });
});

test('changedFields: applying the smaller patch gives what the whole patch gives (RFC 7386)', () => {
  const live = { a: { b: 1, c: [1, 2] }, d: 'x', e: { f: 1 } };
  const patch = { a: { b: 1, c: [1, 3] }, d: 'x', e: null, g: { h: 2 }, gone: null };
  assert.deepEqual(changedFields(live, patch), { a: { c: [1, 3] }, e: null, g: { h: 2 } });
  assert.equal(changedFields(live, { a: { b: 1 }, d: 'x' }), undefined);
  assert.deepEqual(changedFields(undefined, { a: 1 }), { a: 1 });
  // a nested object replacing a scalar is sent whole
  assert.deepEqual(changedFields({ a: 1 }, { a: { b: 1 } }), { a: { b: 1 } });
});
