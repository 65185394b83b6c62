/**
 * A refresh asked in-process (the git webhook on the leader: ApplicationOperator.refreshApp ->
 * AppCache.requestRefresh) costs one status write and nothing else, where the refresh annotation costs
 * the removal of the annotation too; both make the next listing of the app's repository a new one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../log';
import { App, REFRESH_ANNOTATION } from './api';
import { AppCache } from './appcache';
import type { ApplicationContext } from './context';
import { reconcileApplication } from './reconcile';

const REPO = 'https://git.example.com/org/repo.git';

/** RFC 7386 merge patch (enough for the test's API server). */
function merge(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

/**
 * One stored Application (invalid: no destination, so a reconcile stops at the validate step and writes
 * its InvalidSpecError status) behind a client that records each request and answers patches as the API
 * server would.
 */
function world(annotations?: Record<string, string>) {
  let rv = 1;
  let stored = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'a', namespace: 'argocd', uid: 'u1', resourceVersion: String(rv), annotations },
    spec: { project: 'default', source: { repoURL: REPO, path: '.', targetRevision: 'main' } },
  } as unknown as App;
  const requests: Array<{ method: string; path: string; body: unknown }> = [];
  const forgotten: Array<{ urls: string[]; since?: number }> = [];
  const client = {
    async request(method: string, path: string, opts: { body?: unknown } = {}) {
      requests.push({ method, path, body: opts.body });
      if (method !== 'PATCH') throw new Error(`unexpected ${method} ${path}`);
      stored = merge(stored, opts.body) as App;
      stored.metadata.resourceVersion = String(++rv);
      return structuredClone(stored);
    },
  };
  let now = 1_000;
  const apps = new AppCache(() => now);
  const ctx = {
    client,
    apps,
    log: createLogger('error', 'text'),
    revisions: {
      forget: (urls: Iterable<string>, since?: number) => forgotten.push({ urls: [...urls], since }),
    },
    settings: { controllerNamespace: 'argocd', refreshIntervalMs: 120_000, refreshJitterMs: 0 },
  } as unknown as ApplicationContext;
  const reconcile = async () => {
    apps.observe(structuredClone(stored)); // the watch event of the last write
    await new Promise((r) => setTimeout(r, 2)); // reconciledAt has millisecond precision
    await reconcileApplication(ctx, 'argocd', 'a');
  };
  return {
    apps,
    requests,
    forgotten,
    reconcile,
    setNow: (t: number) => (now = t),
    stored: () => stored,
  };
}

test('an in-process refresh request writes reconciledAt alone, once, and asks for a new listing', async () => {
  const w = world();
  await w.reconcile(); // first status
  assert.equal(w.requests.length, 1);
  const firstAt = w.stored().status?.reconciledAt;
  w.requests.length = 0;
  await w.reconcile(); // nothing changed, nothing asked: no write (status.ts)
  assert.equal(w.requests.length, 0);
  assert.deepEqual(w.forgotten, []);

  w.setNow(5_000);
  assert.ok(w.apps.requestRefresh('argocd', 'a'));
  await w.reconcile();
  assert.equal(w.requests.length, 1, 'one write: the status');
  assert.match(w.requests[0].path, /\/applications\/a\/status$/);
  assert.deepEqual(Object.keys((w.requests[0].body as { status: object }).status), ['reconciledAt']);
  assert.notEqual(w.stored().status?.reconciledAt, firstAt, 'reconciledAt moved');
  assert.equal(w.stored().metadata.annotations, undefined, 'no annotation written');
  assert.deepEqual(w.forgotten, [{ urls: [REPO], since: 5_000 }], 'a listing after the request answers it');

  w.requests.length = 0;
  await w.reconcile(); // the request was taken: the next reconcile writes nothing
  assert.equal(w.requests.length, 0);
});

test('the refresh annotation costs its removal besides the status write (what the webhook saves)', async () => {
  const w = world({ [REFRESH_ANNOTATION]: 'normal' });
  await w.reconcile();
  assert.deepEqual(
    w.requests.map((r) => r.path.replace(/.*\/applications\//, '')),
    ['a', 'a/status'],
    'the annotation removed, then the status written',
  );
  assert.equal(w.stored().metadata.annotations?.[REFRESH_ANNOTATION], undefined);
  assert.deepEqual(w.forgotten, [{ urls: [REPO], since: 1_000 }], 'since the annotation was first seen');
});
