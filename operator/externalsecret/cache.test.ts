import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache, olderVersion, WrittenVersions } from './cache';
import type { KubeObject } from '../kube/object';

const obj = (name: string, resourceVersion?: string, namespace = 'app'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace, resourceVersion },
});

describe('ExternalSecret read cache (cache.ts)', () => {
  test('olderVersion compares etcd revisions numerically and never calls opaque versions older', () => {
    assert.equal(olderVersion('9', '10'), true);
    assert.equal(olderVersion('10', '9'), false);
    assert.equal(olderVersion('12', '12'), false);
    assert.equal(olderVersion('a', '10'), false);
    assert.equal(olderVersion(undefined, '10'), false);
  });

  test("a watch event older than capstan's own write does not replace it", () => {
    const c = new ObjectCache<KubeObject>();
    c.put(obj('es', '20'));
    c.put(obj('es', '15')); // late watch event of an earlier version
    assert.equal(c.get('app', 'es')?.metadata.resourceVersion, '20');
    c.put(obj('es', '21'));
    assert.equal(c.get('app', 'es')?.metadata.resourceVersion, '21');
    assert.equal(c.get('other', 'es'), undefined);
    c.delete('app', 'es');
    assert.equal(c.get('app', 'es'), undefined);
  });

  test('cluster-scoped objects are keyed without a namespace', () => {
    const c = new ObjectCache<KubeObject>();
    c.put({ apiVersion: 'v1', kind: 'X', metadata: { name: 'css', resourceVersion: '1' } });
    assert.ok(c.get(undefined, 'css'));
  });

  test("WrittenVersions tells capstan's own write from a later change", () => {
    const w = new WrittenVersions();
    w.set('app', 's', '7');
    assert.equal(w.isOwnWrite(obj('s', '7')), true);
    assert.equal(w.isOwnWrite(obj('s', '8')), false, 'a hand edit moved the version');
    assert.equal(w.isOwnWrite(obj('t', '7')), false);
    assert.equal(w.isOwnWrite(obj('s', undefined)), false);
    w.delete('app', 's');
    assert.equal(w.isOwnWrite(obj('s', '7')), false);
  });

  test('events held while a write is in flight: its own version is dropped, another one is reported', () => {
    const w = new WrittenVersions();
    w.begin('app', 's');
    assert.equal(w.hold(obj('s', '30')), true, 'the watch saw the apply before its answer');
    assert.equal(w.end('app', 's', ['30']), false, 'it was our own write: no reconcile');
    assert.equal(w.isOwnWrite(obj('s', '30')), true);
    assert.equal(w.hold(obj('s', '31')), false, 'no write in flight: not held');
    w.begin('app', 's');
    w.hold(obj('s', '40'));
    assert.equal(w.end('app', 's', ['41']), true, 'a hand edit during the write is reported');
    w.begin('app', 's');
    w.hold(obj('s', '50'));
    assert.equal(w.end('app', 's', []), true, 'a failed write reports what it held');
  });
});
