import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from './client';
import { isTransient } from './errors';

test('transport errors, 429 and 5xx are transient', () => {
  assert.ok(isTransient(new KubeApiError(0, 'TransportError', 'connect ECONNREFUSED')));
  assert.ok(isTransient(new KubeApiError(429, 'TooManyRequests', 'slow down')));
  assert.ok(isTransient(new KubeApiError(503, 'ServiceUnavailable', 'etcd')));
  assert.ok(isTransient(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
});

test('answers to the request itself are not transient', () => {
  for (const status of [400, 403, 404, 409, 422])
    assert.ok(!isTransient(new KubeApiError(status, 'X', 'no')));
  assert.ok(!isTransient(new Error('plain')));
  assert.ok(!isTransient(undefined));
});
