/** `--watch-namespaces` of `parseConfig`: default cluster-wide, the list, the environment fallback, errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './config';

describe('--watch-namespaces', () => {
  it('is empty (cluster-wide, the behaviour before the flag) by default', () => {
    const saved = process.env.CAPSTAN_WATCH_NAMESPACES;
    delete process.env.CAPSTAN_WATCH_NAMESPACES;
    try {
      assert.deepEqual(parseConfig([]).watchNamespaces, []);
      assert.deepEqual(parseConfig(['--watch-namespaces=']).watchNamespaces, []);
    } finally {
      if (saved !== undefined) process.env.CAPSTAN_WATCH_NAMESPACES = saved;
    }
  });

  it('takes a comma-separated list, trimmed, each name once', () => {
    const c = parseConfig(['--watch-namespaces', 'team-a, team-b,,team-a']);
    assert.deepEqual(c.watchNamespaces, ['team-a', 'team-b']);
  });

  it('falls back to CAPSTAN_WATCH_NAMESPACES', () => {
    const saved = process.env.CAPSTAN_WATCH_NAMESPACES;
    process.env.CAPSTAN_WATCH_NAMESPACES = 'tenant';
    try {
      assert.deepEqual(parseConfig([]).watchNamespaces, ['tenant']);
      assert.deepEqual(parseConfig(['--watch-namespaces=other']).watchNamespaces, ['other']);
    } finally {
      if (saved === undefined) delete process.env.CAPSTAN_WATCH_NAMESPACES;
      else process.env.CAPSTAN_WATCH_NAMESPACES = saved;
    }
  });

  it('refuses a value that is not a namespace name, naming the flag', () => {
    assert.throws(() => parseConfig(['--watch-namespaces=ok,Team_A']), /--watch-namespaces: .*"Team_A"/);
    assert.throws(() => parseConfig(['--watch-namespaces=a/b']), /--watch-namespaces/);
  });
});
