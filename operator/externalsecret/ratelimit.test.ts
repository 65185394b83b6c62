import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreRateLimiter, TokenBucket } from './ratelimit';

describe('per-store rate limiter', () => {
  test('a burst passes at once, then requests are spaced at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 10, () => now);
    const waits = Array.from({ length: 13 }, () => bucket.reserve());
    assert.deepEqual(waits.slice(0, 10), Array(10).fill(0));
    assert.deepEqual(waits.slice(10), [100, 200, 300]);
    now = 1000; // refilled 10 tokens, 3 of them already reserved
    assert.equal(bucket.reserve(), 0);
  });

  test('1000 requests on one store take about 99 s at 10 req/s', () => {
    const bucket = new TokenBucket(10, 10, () => 0);
    let last = 0;
    for (let i = 0; i < 1000; i++) last = bucket.reserve();
    assert.equal(last, 99_000);
  });

  test('rate 0 is unlimited', () => {
    const bucket = new TokenBucket(0, 1, () => 0);
    for (let i = 0; i < 100; i++) assert.equal(bucket.reserve(), 0);
  });

  test('stores are limited independently', () => {
    const limiter = new StoreRateLimiter({ ratePerSecond: 1, burst: 1 }, () => 0);
    assert.equal(limiter.reserve('SecretStore/a/x'), 0);
    assert.equal(limiter.reserve('SecretStore/a/x'), 1000);
    assert.equal(limiter.reserve('ClusterSecretStore//y'), 0);
    assert.equal(limiter.size, 2);
  });

  test('wait resolves after the reserved delay', async () => {
    const limiter = new StoreRateLimiter({ ratePerSecond: 20, burst: 1 });
    const start = Date.now();
    await limiter.wait('s');
    await limiter.wait('s');
    assert.ok(Date.now() - start >= 40);
  });
});
