import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFilter } from './eventfilter';

const ev = (type: string, metadata: Record<string, unknown>, status?: unknown) => ({
  type,
  meta: { name: 'a', namespace: 'ns' },
  object: { metadata: { name: 'a', namespace: 'ns', ...metadata }, status },
});

test('first sight, a watched change and a deletion call for a reconcile; a status write does not', () => {
  const f = new EventFilter();
  assert.equal(f.classify(ev('ADDED', { generation: 1 })), 'added');
  assert.equal(
    f.classify(ev('MODIFIED', { generation: 1, resourceVersion: '2' }, { ok: true })),
    'unchanged',
  );
  assert.equal(f.classify(ev('MODIFIED', { generation: 2 })), 'changed');
  assert.equal(f.classify(ev('MODIFIED', { generation: 2, labels: { x: '1' } })), 'changed');
  assert.equal(
    f.classify(ev('MODIFIED', { generation: 2, labels: { x: '1' }, annotations: { r: 'n' } })),
    'changed',
  );
  assert.equal(
    f.changed(
      ev('MODIFIED', { generation: 2, labels: { x: '1' }, annotations: { r: 'n' }, deletionTimestamp: 't' }),
    ),
    true,
  );
  assert.equal(f.classify(ev('DELETED', { generation: 2 })), 'deleted');
  assert.equal(f.size, 0, 'a deletion forgets the object');
  assert.equal(f.classify(ev('ADDED', { generation: 2 })), 'added', 'recreated: first sight again');
});

test('the order of labels and annotations does not matter; unwatched parts are ignored', () => {
  const f = new EventFilter();
  f.classify(ev('ADDED', { labels: { a: '1', b: '2' }, finalizers: ['x'] }));
  assert.equal(f.classify(ev('MODIFIED', { labels: { b: '2', a: '1' }, finalizers: [] })), 'unchanged');
  const withFinalizers = new EventFilter(['generation', 'finalizers']);
  withFinalizers.classify(ev('ADDED', { generation: 1, finalizers: ['x'] }));
  assert.equal(withFinalizers.classify(ev('MODIFIED', { generation: 1, finalizers: [] })), 'changed');
  assert.equal(withFinalizers.classify(ev('MODIFIED', { generation: 1, labels: { a: '1' } })), 'unchanged');
});

test('observe classifies objects from a cache (undefined: gone) by uid and generation', () => {
  const f = new EventFilter(['uid', 'generation']);
  assert.equal(f.observe('p', { metadata: { uid: 'u1', generation: 1 } }), 'added');
  assert.equal(f.observe('p', { metadata: { uid: 'u1', generation: 1, finalizers: ['f'] } }), 'unchanged');
  assert.equal(
    f.observe('p', { metadata: { uid: 'u2', generation: 1 } }),
    'changed',
    'recreated under the same name',
  );
  assert.equal(f.observe('p', undefined), 'deleted');
  assert.equal(f.observe('p', undefined), 'deleted');
});

test("'ready' follows the Ready condition's status, reason and message, not other status", () => {
  const f = new EventFilter(['generation', 'ready']);
  const ready = (status: string, message: string, other = 0) => ({
    metadata: { generation: 1 },
    status: { conditions: [{ type: 'Ready', status, reason: 'Valid', message }], other },
  });
  assert.equal(f.observe('s', ready('False', 'not validated')), 'added');
  assert.equal(f.observe('s', ready('False', 'not validated', 1)), 'unchanged');
  assert.equal(f.observe('s', ready('True', 'ok')), 'changed');
  assert.equal(f.observe('s', ready('True', 'ok (again)')), 'changed');
});
