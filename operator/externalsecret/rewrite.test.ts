import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { goReplaceAll, invalidSecretKeys, rewriteKeys, RewriteError } from './rewrite';

const keys = (m: Record<string, unknown>): string[] => Object.keys(m).sort();

describe('rewrite', () => {
  test('regexp renames every key with Go replacement syntax', () => {
    const out = rewriteKeys(
      [{ regexp: { source: '^db-(.*)', target: 'DB_${1}' } }],
      { 'db-user': 1, 'db-pass': 2, other: 3 },
      'spec.dataFrom[0].rewrite',
    );
    assert.deepEqual(out, { DB_user: 1, DB_pass: 2, other: 3 });
  });

  test('operations apply in order', () => {
    const out = rewriteKeys(
      [{ regexp: { source: '/', target: '_' } }, { regexp: { source: '^_', target: '' } }],
      { '/app/db/user': 'v' },
      'r',
    );
    assert.deepEqual(keys(out), ['app_db_user']);
  });

  test('transform renders each key through a Go template', () => {
    const out = rewriteKeys([{ transform: { template: '{{ .value | upper }}' } }], { user: 1, pass: 2 }, 'r');
    assert.deepEqual(keys(out), ['PASS', 'USER']);
  });

  test('two keys rewritten to the same key are an error naming both keys', () => {
    assert.throws(
      () => rewriteKeys([{ regexp: { source: '-.*', target: '' } }], { 'a-1': 1, 'a-2': 2 }, 'at'),
      (err: unknown) => err instanceof RewriteError && /"a-1" and "a-2" both to "a"/.test(err.message),
    );
  });

  test('an invalid expression and merge are refused', () => {
    assert.throws(() => rewriteKeys([{ regexp: { source: '(', target: '' } }], { a: 1 }, 'at'), RewriteError);
    assert.throws(() => rewriteKeys([{ merge: {} }], { a: 1 }, 'at'), /only regexp and transform/);
  });

  test('Go expansion rules: $1x is the group "1x" (empty), ${1}x, named groups, $$ and a lone $', () => {
    const re = RE2JS.compile('(?P<word>[a-z]+)-(\\d+)');
    assert.equal(goReplaceAll(re, 'abc-12', '$1x'), '');
    assert.equal(goReplaceAll(re, 'abc-12', '${1}x'), 'abcx');
    assert.equal(goReplaceAll(re, 'abc-12', '${word}_$2'), 'abc_12');
    assert.equal(goReplaceAll(re, 'abc-12', '$$1'), '$1');
    assert.equal(goReplaceAll(re, 'abc-12', 'a$'), 'a$');
    assert.equal(goReplaceAll(re, 'abc-12', '$9'), '', 'an out-of-range group expands to nothing');
  });

  test('an empty match right after a match is skipped, as Go does', () => {
    assert.equal(goReplaceAll(RE2JS.compile('a*'), 'baaac', '-'), '-b-c-');
  });

  test('invalid Secret keys are found', () => {
    assert.deepEqual(invalidSecretKeys(['ok', 'a b', 'x/y', '.', 'fine-key_1.txt']), ['.', 'a b', 'x/y']);
  });
});
