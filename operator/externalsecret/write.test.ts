import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeClient } from '../kube/client';
import { createReadCache } from './cache';
import type { ExternalSecretContext } from './context';
import type { ExternalSecretObject, SecretObject } from './types';
import { CREATE_ONLY_RESOURCE_VERSION, TargetExistsError, writeSecret } from './write';

const es: ExternalSecretObject = {
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: { name: 'db', namespace: 'app', uid: 'u' },
  spec: { target: { name: 'db' }, data: [] },
};
const rendered = { data: { k: Buffer.from('v') }, labels: {}, annotations: {} };

/** A client that records requests and answers with `answer`. */
function ctxWith(answer: (body: SecretObject) => unknown) {
  const calls: Array<{ method: string; path: string; body: SecretObject }> = [];
  const client = {
    request: async (method: string, path: string, opts: { body: SecretObject }) => {
      calls.push({ method, path, body: opts.body });
      return answer(opts.body);
    },
  } as unknown as KubeClient;
  const cache = createReadCache();
  return { ctx: { client, cache } as unknown as ExternalSecretContext, calls, cache };
}

describe('writeSecret create-only (write.ts)', () => {
  test('an absent target is created by an apply with the resourceVersion precondition', async () => {
    const { ctx, calls, cache } = ctxWith((body) => ({
      ...body,
      metadata: { ...body.metadata, resourceVersion: '77' },
    }));
    const outcome = await writeSecret(ctx, es, { createOnly: true }, rendered, 'Owner');
    assert.equal(outcome, 'created');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].method, 'PATCH');
    assert.equal(calls[0].body.metadata.resourceVersion, CREATE_ONLY_RESOURCE_VERSION);
    assert.equal(
      cache.written.isOwnWrite({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'app', resourceVersion: '77' },
      }),
      true,
      'the version the write left is recorded',
    );
  });

  test('a Secret of that name (409) is TargetExistsError: nothing overwritten, the caller reads it', async () => {
    const { ctx } = ctxWith(() => {
      throw new KubeApiError(409, 'Conflict', 'the object has been modified');
    });
    await assert.rejects(writeSecret(ctx, es, { createOnly: true }, rendered, 'Owner'), TargetExistsError);
  });

  test('a write of a Secret that was read carries no precondition', async () => {
    const { ctx, calls } = ctxWith((body) => ({
      ...body,
      metadata: { ...body.metadata, resourceVersion: '5' },
    }));
    const existing: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'app', annotations: { 'capstan.dev/external-secret': 'db' } },
      data: { k: 'b2xk' },
    };
    assert.equal(await writeSecret(ctx, es, { existing }, rendered, 'Owner'), 'updated');
    assert.equal(calls[0].body.metadata.resourceVersion, undefined);
  });
});
