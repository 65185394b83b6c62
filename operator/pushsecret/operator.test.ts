import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceIndex } from './operator';
import { sourceVersion } from './source';

describe('PushSecret source watch', () => {
  it('a Secret event finds the PushSecrets of its namespace that push it, by name or labels', () => {
    const index = new SourceIndex();
    assert.equal(index.empty, true);
    index.set('n', 'by-name', { name: 'db' });
    assert.equal(index.empty, false);
    index.set('n', 'by-label', { selector: { matchLabels: { push: 'me' } } });
    index.set('other', 'elsewhere', { name: 'db' });
    index.set('n', 'generated', undefined);
    assert.deepEqual(index.readersOf('n', 'db', {}), ['by-name']);
    assert.deepEqual(index.readersOf('n', 'db', { push: 'me' }).sort(), ['by-label', 'by-name']);
    assert.deepEqual(index.readersOf('n', 'x', { push: 'me' }), ['by-label']);
    assert.deepEqual(index.readersOf('n', 'x', { push: 'no' }), []);
    assert.deepEqual(index.readersOf('none', 'db', {}), []);
    index.set('n', 'by-name', undefined);
    assert.deepEqual(index.readersOf('n', 'db', {}), []);
  });

  it('the source version follows names, uids and resourceVersions, in any order, never values', () => {
    const s = (name: string, uid: string, rv: string) => ({
      metadata: { name, namespace: 'n', uid, resourceVersion: rv },
    });
    const v = sourceVersion([s('a', 'u1', '1'), s('b', 'u2', '5')]);
    assert.equal(sourceVersion([s('b', 'u2', '5'), s('a', 'u1', '1')]), v, 'order does not matter');
    assert.notEqual(sourceVersion([s('a', 'u1', '2'), s('b', 'u2', '5')]), v, 'a change');
    assert.notEqual(sourceVersion([s('a', 'u9', '1'), s('b', 'u2', '5')]), v, 'deleted and made again');
    assert.notEqual(sourceVersion([s('a', 'u1', '1')]), v, 'one Secret fewer');
    assert.match(v, /^[0-9a-f]{32}$/);
  });
});
