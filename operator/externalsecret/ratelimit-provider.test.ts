import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreRateLimiter } from './ratelimit';
import { mayHaveOrphans } from './write';
import type { ExternalSecretObject } from './types';

describe('the store rate limit per provider kind', () => {
  test('the in-memory fake provider is not limited by default; remote providers are', () => {
    const limiter = new StoreRateLimiter({ ratePerSecond: 1, burst: 1 }, () => 0);
    for (let i = 0; i < 1000; i++) assert.equal(limiter.reserve('SecretStore/a/fake', 'fake'), 0);
    assert.equal(limiter.reserve('SecretStore/a/vault', 'vault'), 0);
    assert.equal(limiter.reserve('SecretStore/a/vault', 'vault'), 1000);
    assert.equal(limiter.reserve('SecretStore/a/unknown'), 0);
    assert.equal(limiter.reserve('SecretStore/a/unknown'), 1000);
  });

  test('a rate per provider kind replaces the default; 0 turns it off; fake can be limited again', () => {
    const limiter = new StoreRateLimiter(
      { ratePerSecond: 10, perProvider: { aws: 2, vault: 0, fake: 1 } },
      () => 0,
    );
    assert.equal(limiter.reserve('s', 'aws'), 0);
    assert.equal(limiter.reserve('s', 'aws'), 0);
    assert.equal(limiter.reserve('s', 'aws'), 500);
    for (let i = 0; i < 100; i++) assert.equal(limiter.reserve('v', 'vault'), 0);
    assert.equal(limiter.reserve('f', 'fake'), 0);
    assert.equal(limiter.reserve('f', 'fake'), 1000);
  });
});

describe('orphaned target Secrets are looked for only after a rename', () => {
  const es = (binding?: string): ExternalSecretObject =>
    ({
      metadata: { name: 'e', namespace: 'n' },
      spec: {},
      ...(binding ? { status: { binding: { name: binding } } } : {}),
    }) as unknown as ExternalSecretObject;

  test('new ExternalSecret or same target: no LIST; a binding to another name: look', () => {
    assert.equal(mayHaveOrphans(es(), 'db'), false);
    assert.equal(mayHaveOrphans(es('db'), 'db'), false);
    assert.equal(mayHaveOrphans(es('old-db'), 'db'), true);
  });
});
