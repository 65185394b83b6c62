/**
 * diffOne (livestate.ts): a live object that holds exactly what capstan's apply of the desired object
 * stored is Synced without a dry-run, as the live cache keeps it after a restart (no in-memory record);
 * anything else is dry-run as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../kube/client';
import type { ResourceType } from '../kube/discovery';
import { liveProjection } from '../kube/livecache';
import type { KubeObject } from '../kube/object';
import { diffOne, MSG_DIFFERS } from './livestate';

const CONFIGMAPS: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
} as ResourceType;

const desired = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'n', labels: { 'app.kubernetes.io/managed-by': 'capstan' } },
  data,
});

/** The ConfigMap as stored after capstan applied `data`, as the live cache holds it (a new uid per call). */
let uid = 0;
function stored(data: Record<string, string>, owned = Object.keys(data), liveData = data): KubeObject {
  const fields = Object.fromEntries(owned.map((k) => [`f:${k}`, {}]));
  return liveProjection({
    ...desired(liveData),
    metadata: {
      ...desired(data).metadata,
      uid: `restart-${++uid}`,
      resourceVersion: '7',
      managedFields: [
        {
          manager: 'capstan',
          operation: 'Apply',
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/managed-by': {} } },
            // An empty subtree would own `data` whole: no entry at all when capstan owns no key.
            ...(owned.length ? { 'f:data': fields } : {}),
          },
        },
      ],
    },
  });
}

/** A client that answers a dry-run apply with `answer` and counts the requests. */
function client(answer: (body: KubeObject) => KubeObject) {
  const calls: string[] = [];
  const c = {
    request: async (
      method: string,
      path: string,
      opts: { body?: KubeObject; query?: Record<string, unknown> },
    ) => {
      calls.push(`${method} ${path} dryRun=${String(opts.query?.dryRun)}`);
      return answer(opts.body as KubeObject);
    },
  };
  return { client: c as unknown as KubeClient, calls };
}

test('an object unchanged since capstan applied it is Synced without a dry-run', async () => {
  const { client: c, calls } = client(() => assert.fail('no dry-run expected'));
  const r = await diffOne(c, CONFIGMAPS, desired({ a: '1' }), stored({ a: '1' }), []);
  assert.deepEqual(r, { status: 'Synced' });
  assert.deepEqual(calls, []);
});

test('a key removed from git, or one capstan does not own, is dry-run; the dry-run decides', async () => {
  const live = stored({ a: '1', b: '2' });
  // The dry-run answer: the apply would remove `b`, which capstan owns.
  const { client: c, calls } = client((body) => ({ ...live, data: body.data }));
  const r = await diffOne(c, CONFIGMAPS, desired({ a: '1' }), live, []);
  assert.deepEqual(r, { status: 'OutOfSync', message: MSG_DIFFERS });
  assert.equal(calls.length, 1);
  assert.match(calls[0], /^PATCH \/api\/v1\/namespaces\/n\/configmaps\/c dryRun=All$/);

  // Another manager set `a` to the same value and took it: the dry-run finds nothing to change.
  const taken = stored({ a: '1' }, []);
  const second = client(() => taken);
  assert.deepEqual(await diffOne(second.client, CONFIGMAPS, desired({ a: '1' }), taken, []), {
    status: 'Synced',
  });
  assert.equal(second.calls.length, 1);
});

test('a value edited in the cluster is dry-run and OutOfSync', async () => {
  // Still owned by capstan (as if no other manager wrote it): the values differ all the same.
  const live = stored({ a: '1' }, ['a'], { a: 'edited' });
  const { client: c, calls } = client((body) => ({ ...live, data: body.data }));
  const r = await diffOne(c, CONFIGMAPS, desired({ a: '1' }), live, []);
  assert.deepEqual(r, { status: 'OutOfSync', message: MSG_DIFFERS });
  assert.equal(calls.length, 1);
});
