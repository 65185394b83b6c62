import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appNamespaces, inScope, isScoped, watchTargets } from './scope';

describe('watch scope (--watch-namespaces)', () => {
  it('cluster-wide when empty: one watch over all namespaces, everything in scope', () => {
    assert.equal(isScoped([]), false);
    assert.equal(isScoped(undefined), false);
    assert.deepEqual(watchTargets([]), [undefined]);
    assert.deepEqual(watchTargets(undefined, ['argocd']), [undefined]);
    assert.equal(inScope([], 'anything'), true);
    assert.equal(inScope(undefined, undefined), true);
    assert.equal(appNamespaces('argocd', []), undefined);
  });

  it('scoped: one watch per listed namespace (extra ones first, each once), others out of scope', () => {
    assert.deepEqual(watchTargets(['a', 'b']), ['a', 'b']);
    assert.deepEqual(watchTargets(['a', 'argocd'], ['argocd']), ['argocd', 'a']);
    assert.equal(inScope(['a'], 'a'), true);
    assert.equal(inScope(['a'], 'b'), false);
    assert.equal(inScope(['a'], undefined), false, 'a cluster-scoped object is never in a scoped install');
  });

  it('Applications are watched in the controller namespace and the listed ones', () => {
    assert.deepEqual(appNamespaces('argocd', ['team-a']), ['argocd', 'team-a']);
  });
});
