import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RenderError } from './errors';
import { globMatch } from './glob';

describe('globMatch (Argo CD / gobwas semantics, no separators)', () => {
  const table: Array<[pattern: string, path: string, want: boolean]> = [
    ['*.yaml', 'x.yaml', true],
    ['*.yaml', 'sub/dir/x.yaml', true], // `*` crosses `/`, as in Argo CD
    ['*.yaml', 'x.yml', false],
    ['*.yaml', '.hidden.yaml', true],
    ['{*.yml,*.yaml}', 'a/b.yml', true],
    ['{*.yml,*.yaml}', 'a/b.json', false],
    ['{config.json,env-usw2/*}', 'config.json', true],
    ['{config.json,env-usw2/*}', 'env-usw2/a/configmap.yaml', true],
    ['{config.json,env-usw2/*}', 'env-use2/configmap.yaml', false],
    ['some-directory/*', 'some-directory/x.yaml', true],
    ['some-directory/*', 'other/some-directory/x.yaml', false],
    ['**/x.yaml', 'x.yaml', false], // gobwas needs the literal `/`
    ['**/x.yaml', 'a/b/x.yaml', true],
    ['a?b.yaml', 'a/b.yaml', true],
    ['[!a].yaml', 'b.yaml', true],
    ['[!a].yaml', 'a.yaml', false],
    ['[a-c]*.json', 'b-list.json', true],
    ['[a-c]*.json', 'd.json', false],
    ['!x.yaml', '!x.yaml', true], // no negation syntax
    ['{a,{b,c}}.yaml', 'c.yaml', true],
    ['\\*.yaml', '*.yaml', true],
    ['\\*.yaml', 'x.yaml', false],
    ['x.yaml', 'x.yaml', true],
    ['x.yaml', 'sub/x.yaml', false],
    ['(a|b).yaml', 'a.yaml', false], // regex syntax is literal
    ['(a|b).yaml', '(a|b).yaml', true],
  ];
  for (const [pattern, path, want] of table) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(globMatch(pattern, path), want);
    });
  }

  it('matches in linear time: a backtracking-prone glob against a long path takes milliseconds', () => {
    const started = Date.now();
    assert.equal(globMatch('*a'.repeat(8) + 'b', 'a'.repeat(60)), false);
    assert.equal(globMatch('*a'.repeat(8) + 'b', 'a'.repeat(5000) + 'b'), true);
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
  });

  it('refuses malformed patterns', () => {
    for (const bad of ['{a,b', '[abc', 'x\\', '[]']) {
      assert.throws(() => globMatch(bad, 'x'), RenderError, bad);
    }
  });
});
