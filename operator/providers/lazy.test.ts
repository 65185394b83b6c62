import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs `code` in a fresh node (tsx) with the registry loaded and returns what it prints. */
function fresh(code: string): string {
  return execFileSync(
    process.execPath,
    ['--import', 'tsx', '-e', `const r = require('./operator/providers'); ${code}`],
    { cwd: ROOT, encoding: 'utf8' },
  ).trim();
}

const AWS_LOADED = `Object.keys(require.cache).some((f) => f.includes('@aws-sdk'))`;

describe('lazy providers (issue 10 §2 P2)', () => {
  test('loading the providers does not load the AWS SDK', () => {
    assert.equal(fresh(`console.log(${AWS_LOADED})`), 'false');
  });

  test('an aws store loads it on first use, with the real validation', () => {
    const out = fresh(
      `const { provider } = r.providerFor({ provider: { aws: { service: 'Nope' } } });
       console.log(provider.capabilities, ${AWS_LOADED}, provider.validateStore({ service: 'Nope' }).length > 0, ${AWS_LOADED});`,
    );
    assert.equal(out, 'ReadWrite false true true');
  });
});
