import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeClient, type RequestOptions } from '../kube/client';
import { createLogger } from '../log';
import { PROJECT_FINALIZER, ensureDefaultProject, reconcileProject, wantedFinalizers } from './reconcile';
import type { AppProjectObject } from './store';

/** A scripted API: GET returns `project` (or 404), writes are recorded and applied to it. */
function fakeApi(project: AppProjectObject | undefined) {
  const writes: Array<{ method: string; path: string; body: unknown }> = [];
  const client = {
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      if (method === 'GET') {
        if (!project) throw new KubeApiError(404, 'NotFound', 'not found');
        return structuredClone(project) as T;
      }
      writes.push({ method, path, body: opts.body });
      return {} as T;
    },
  } as unknown as KubeClient;
  return { client, writes };
}

const log = createLogger('error', 'text');

const proj = (
  meta: Partial<AppProjectObject['metadata']>,
  spec = {},
  status?: unknown,
): AppProjectObject => ({
  metadata: { name: 'team-a', namespace: 'argocd', resourceVersion: '7', ...meta },
  spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: 'team-a' }], ...spec },
  status,
});

const ctx = (client: KubeClient, apps: string[]) => ({
  client,
  log,
  namespace: 'argocd',
  appsOf: () => apps,
});

test('wantedFinalizers adds the guard while used and removes only ours when unused', () => {
  assert.deepEqual(wantedFinalizers(['x'], true), ['x', PROJECT_FINALIZER]);
  assert.deepEqual(wantedFinalizers(['x', PROJECT_FINALIZER], true), ['x', PROJECT_FINALIZER]);
  assert.deepEqual(wantedFinalizers(['x', PROJECT_FINALIZER], false), ['x']);
});

test('a project used by apps gets the finalizer, guarded by resourceVersion', async () => {
  const { client, writes } = fakeApi(proj({}));
  await reconcileProject(ctx(client, ['ns/app']), 'team-a');
  assert.equal(writes.length, 1);
  assert.equal(writes[0].path, '/apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/team-a');
  assert.deepEqual(writes[0].body, { metadata: { finalizers: [PROJECT_FINALIZER], resourceVersion: '7' } });
});

test('a deleting project keeps its finalizer while used (DeletionBlocked), and loses it when unused', async () => {
  const deleting = proj({ deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [PROJECT_FINALIZER] });
  const used = fakeApi(deleting);
  await reconcileProject(ctx(used.client, ['ns/app']), 'team-a');
  assert.equal(used.writes.length, 1);
  assert.match(used.writes[0].path, /\/status$/);
  const conditions = (
    used.writes[0].body as { status: { conditions: Array<{ type: string; message: string }> } }
  ).status.conditions;
  assert.equal(conditions[0].type, 'DeletionBlocked');
  assert.match(conditions[0].message, /ns\/app/);

  const unused = fakeApi(deleting);
  await reconcileProject(ctx(unused.client, []), 'team-a');
  assert.deepEqual(unused.writes[0].body, { metadata: { finalizers: [], resourceVersion: '7' } });
});

test('no finalizer is added to a project already being deleted (the API server refuses it)', async () => {
  const { client, writes } = fakeApi(proj({ deletionTimestamp: '2026-01-01T00:00:00Z' }));
  await reconcileProject(ctx(client, ['ns/app']), 'team-a');
  assert.deepEqual(writes, [], 'no finalizer, and no DeletionBlocked for a deletion nothing blocks');
});

test('an invalid project gets InvalidSpecError naming the field; unchanged conditions are not rewritten', async () => {
  const { client, writes } = fakeApi(proj({}, { sourceRepos: ['!*'] }));
  await reconcileProject(ctx(client, []), 'team-a');
  assert.equal(writes.length, 1);
  const written = (writes[0].body as { status: { conditions: Array<Record<string, string>> } }).status
    .conditions;
  assert.equal(written[0].type, 'InvalidSpecError');
  assert.match(written[0].message, /spec\.sourceRepos\[0\]: source repository has an invalid format, '!\*'/);
  // The API server returns the keys in another order: still the same conditions, no second write.
  const reordered = written.map((c) => ({
    message: c.message,
    lastTransitionTime: c.lastTransitionTime,
    type: c.type,
  }));
  const again = fakeApi(proj({}, { sourceRepos: ['!*'] }, { conditions: reordered }));
  await reconcileProject(ctx(again.client, []), 'team-a');
  assert.equal(again.writes.length, 0);
});

test('a valid project with no conditions and no apps costs no write; a vanished one is ignored', async () => {
  const quiet = fakeApi(proj({}));
  await reconcileProject(ctx(quiet.client, []), 'team-a');
  assert.equal(quiet.writes.length, 0);
  const gone = fakeApi(undefined);
  assert.deepEqual(await reconcileProject(ctx(gone.client, ['ns/app']), 'team-a'), {});
  assert.equal(gone.writes.length, 0);
});

test('the default project is created with Argo CD permissive spec only when missing', async () => {
  const missing = fakeApi(undefined);
  assert.equal(await ensureDefaultProject(missing.client, 'argocd'), true);
  assert.equal(missing.writes[0].method, 'POST');
  assert.deepEqual((missing.writes[0].body as { spec: unknown }).spec, {
    sourceRepos: ['*'],
    destinations: [{ server: '*', namespace: '*' }],
    clusterResourceWhitelist: [{ group: '*', kind: '*' }],
  });
  const present = fakeApi(proj({ name: 'default' }));
  assert.equal(await ensureDefaultProject(present.client, 'argocd'), false);
  assert.equal(present.writes.length, 0);
});
