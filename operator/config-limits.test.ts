/** The resource ceiling flags of `parseConfig`: defaults, byte suffixes, environment fallbacks, errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './config';

const MiB = 1024 * 1024;

describe('ceiling flags', () => {
  it('have safe defaults', () => {
    const c = parseConfig([]);
    assert.equal(c.maxManifestBytes, 32 * MiB);
    assert.equal(c.maxObjects, 10_000);
    assert.equal(c.maxRepoBytes, 512 * MiB);
    assert.equal(c.maxRepoFiles, 100_000);
    assert.equal(c.renderCacheBytes, 64 * MiB);
    assert.equal(c.repoCacheIdleMs, 3600_000);
  });

  it('take byte amounts with suffixes, and counts', () => {
    const c = parseConfig([
      '--max-manifest-bytes=8Mi',
      '--max-objects=2000',
      '--max-repo-bytes=1Gi',
      '--max-repo-files',
      '5000',
      '--render-cache-bytes=16777216',
      '--repo-cache-idle=0',
    ]);
    assert.equal(c.maxManifestBytes, 8 * MiB);
    assert.equal(c.maxObjects, 2000);
    assert.equal(c.maxRepoBytes, 1024 * MiB);
    assert.equal(c.maxRepoFiles, 5000);
    assert.equal(c.renderCacheBytes, 16 * MiB);
    assert.equal(c.repoCacheIdleMs, 0);
  });

  it('fall back to environment variables (the chart sets either)', () => {
    process.env.CAPSTAN_MAX_MANIFEST_BYTES = '4Mi';
    process.env.CAPSTAN_MAX_OBJECTS = '123';
    try {
      const c = parseConfig([]);
      assert.equal(c.maxManifestBytes, 4 * MiB);
      assert.equal(c.maxObjects, 123);
    } finally {
      delete process.env.CAPSTAN_MAX_MANIFEST_BYTES;
      delete process.env.CAPSTAN_MAX_OBJECTS;
    }
  });

  it('refuse malformed values with a sentence naming the flag', () => {
    assert.throws(
      () => parseConfig(['--max-manifest-bytes=big']),
      /--max-manifest-bytes must be a byte amount/,
    );
    assert.throws(() => parseConfig(['--max-objects=-3']), /--max-objects must be a non-negative integer/);
  });
});
