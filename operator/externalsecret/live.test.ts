import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeClient } from '../kube/client';
import type { KubeObject } from '../kube/object';
import { createReadCache } from './cache';
import type { ExternalSecretContext } from './context';
import { readTarget } from './live';
import type { ExternalSecretObject } from './types';

const es: ExternalSecretObject = {
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'db', namespace: 'app', uid: 'u' },
  spec: { target: { name: 'db-secret' }, data: [] },
};

/** A context whose client counts GETs and answers `live` (404 when undefined). */
function ctxWith(informer: KubeObject[] | undefined, live?: KubeObject) {
  const gets: string[] = [];
  const client = {
    request: async (method: string, path: string) => {
      gets.push(`${method} ${path}`);
      if (!live) throw new KubeApiError(404, 'NotFound', 'not found');
      return live;
    },
  } as unknown as KubeClient;
  const cache = createReadCache();
  if (informer)
    cache.targets = {
      get: (ns, name) => informer.find((o) => o.metadata.namespace === ns && o.metadata.name === name),
    };
  return { ctx: { client, cache } as unknown as ExternalSecretContext, gets, cache };
}

const meta = (rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db-secret', namespace: 'app', resourceVersion: rv },
});

describe('readTarget (live.ts)', () => {
  test('absent from the informer: no GET, the write will be create-only (Owner, Orphan)', async () => {
    const { ctx, gets } = ctxWith([]);
    assert.deepEqual(await readTarget(ctx, es, 'Owner'), { known: 'absent' });
    assert.deepEqual(await readTarget(ctx, es, 'Orphan'), { known: 'absent' });
    assert.equal(gets.length, 0);
  });

  test('Merge targets are not capstan-labelled: always a GET', async () => {
    const { ctx, gets } = ctxWith([]);
    const t = await readTarget(ctx, es, 'Merge');
    assert.equal(t.known, 'read');
    assert.equal(gets.length, 1);
  });

  test("the version capstan's last write left: ours, no GET; another version: a GET", async () => {
    const { ctx, gets, cache } = ctxWith([meta('42')], meta('42'));
    cache.written.set('app', 'db-secret', '42');
    assert.deepEqual(await readTarget(ctx, es, 'Owner'), { known: 'ours' });
    assert.equal(gets.length, 0);
    cache.written.set('app', 'db-secret', '41');
    const t = await readTarget(ctx, es, 'Owner');
    assert.equal(t.known, 'read');
    assert.equal(t.existing?.metadata.resourceVersion, '42');
    assert.deepEqual(gets, ['GET /api/v1/namespaces/app/secrets/db-secret']);
  });

  test('no informer yet, or a forced read: a GET; creationPolicy None reads nothing', async () => {
    const { ctx, gets } = ctxWith(undefined);
    assert.deepEqual(await readTarget(ctx, es, 'Owner'), { known: 'read', existing: undefined });
    const forced = ctxWith([]);
    assert.equal((await readTarget(forced.ctx, es, 'Owner', { get: true })).known, 'read');
    assert.equal(forced.gets.length, 1);
    assert.deepEqual(await readTarget(ctx, es, 'None'), { known: 'read' });
    assert.equal(gets.length, 1);
  });
});
