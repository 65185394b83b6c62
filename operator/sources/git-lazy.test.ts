import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

test('loading the git source does not load nodegit until the first git operation (issue 10 §2 P2)', () => {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `const { GitRepoCache } = require('./operator/sources/git');
       const loaded = () => Object.keys(require.cache).some((f) => f.includes('/node_modules/nodegit/'));
       new GitRepoCache({ cacheDir: require('os').tmpdir() + '/capstan-git-lazy-' + process.pid });
       console.log(loaded());`,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  ).trim();
  assert.equal(out, 'false');
});
