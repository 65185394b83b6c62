import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteLru } from './bytelru';

describe('ByteLru', () => {
  it('evicts least recently used values once their bytes pass the budget', () => {
    const cache = new ByteLru<string>({ maxBytes: 100 });
    cache.set('a', 'A', 40);
    cache.set('b', 'B', 40);
    assert.equal(cache.get('a'), 'A'); // a is now the most recently used
    cache.set('c', 'C', 40); // 120 > 100: b goes
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 'A');
    assert.equal(cache.get('c'), 'C');
    assert.equal(cache.bytes, 80);
    assert.equal(cache.size, 2);
  });

  it('bounds entries too, and never stores a value larger than the whole budget', () => {
    const cache = new ByteLru<number>({ maxBytes: 1000, maxEntries: 2 });
    cache.set('a', 1, 1);
    cache.set('b', 2, 1);
    cache.set('c', 3, 1);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.set('huge', 4, 1001), false);
    assert.equal(cache.get('huge'), undefined);
    assert.equal(cache.size, 2);
  });

  it('replacing a key counts only its new size; resize and clear free bytes', () => {
    const cache = new ByteLru<string>({ maxBytes: 100 });
    cache.set('a', 'old', 60);
    cache.set('a', 'new', 30);
    assert.equal(cache.bytes, 30);
    cache.set('b', 'B', 50);
    cache.resize(60); // a (least recently used) goes
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.bytes, 50);
    cache.clear();
    assert.equal(cache.bytes, 0);
    assert.equal(cache.size, 0);
  });
});
