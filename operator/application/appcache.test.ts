import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppCache, refreshSince, refreshTaken } from './appcache';
import { App, REFRESH_ANNOTATION } from './api';

const app = (rv: string, refresh?: string): App =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: 'a',
      namespace: 'ns',
      uid: 'u1',
      resourceVersion: rv,
      ...(refresh ? { annotations: { [REFRESH_ANNOTATION]: refresh } } : {}),
    },
    spec: {},
  }) as unknown as App;

test('a pending refresh request is dated when first seen, kept while pending, forgotten once taken', () => {
  let now = 100;
  const cache = new AppCache(() => now);
  cache.observe(app('1'));
  assert.equal(cache.refreshSeenAt('ns', 'a'), undefined);
  now = 200;
  cache.observe(app('2', 'normal'));
  now = 300;
  cache.observe(app('3', 'normal')); // a status write while the request is pending
  assert.equal(cache.refreshSeenAt('ns', 'a'), 200);
  cache.observe(app('4')); // the annotation removed by the reconcile that took it
  assert.equal(cache.refreshSeenAt('ns', 'a'), undefined);
  cache.observe(app('5', 'hard'));
  assert.equal(cache.refreshSeenAt('ns', 'a'), 300);
  cache.delete('ns', 'a');
  assert.equal(cache.refreshSeenAt('ns', 'a'), undefined);
});

test('an in-process refresh request is kept until taken, dated anew by a later one, hard if any was', () => {
  let now = 100;
  const cache = new AppCache(() => now);
  assert.equal(cache.requestRefresh('ns', 'a'), false, 'an app not in the cache is not refreshed');
  cache.observe(app('1'));
  assert.equal(cache.requestRefresh('ns', 'a'), true);
  now = 200;
  assert.equal(cache.requestRefresh('ns', 'a', 'hard'), true);
  now = 300;
  cache.requestRefresh('ns', 'a'); // a later normal request keeps it hard
  cache.observe(app('2')); // a watch event (a status write) does not drop it, unlike an annotation's date
  assert.deepEqual(cache.takeRefreshRequest('ns', 'a'), { at: 300, type: 'hard' });
  assert.equal(cache.takeRefreshRequest('ns', 'a'), undefined, 'taken once');
  cache.requestRefresh('ns', 'a');
  cache.delete('ns', 'a');
  assert.equal(cache.takeRefreshRequest('ns', 'a'), undefined, 'forgotten with the app');
});

test('values() lists the held apps', () => {
  const cache = new AppCache();
  cache.observe(app('1'));
  assert.deepEqual(
    [...cache.values()].map((a) => a.metadata.name),
    ['a'],
  );
});

test('refreshSince: a listing must follow both the annotation first seen and the in-process request', () => {
  assert.equal(refreshSince(undefined, undefined), undefined);
  assert.equal(refreshSince(undefined, { at: 5, type: 'normal' }), 5);
  assert.equal(refreshSince(7, undefined), 7);
  assert.equal(refreshSince(7, { at: 5, type: 'normal' }), 7);
  assert.equal(refreshSince(3, { at: 5, type: 'normal' }), 5);
  assert.equal(refreshSince(null, { at: 5, type: 'normal' }), undefined, 'an undated annotation: now');
});

test('refreshTaken: hard wins, else the annotation or the request', () => {
  assert.equal(refreshTaken(undefined, undefined), undefined);
  assert.equal(refreshTaken('normal', undefined), 'normal');
  assert.equal(refreshTaken(undefined, { at: 1, type: 'normal' }), 'normal');
  assert.equal(refreshTaken('normal', { at: 1, type: 'hard' }), 'hard');
  assert.equal(refreshTaken('hard', { at: 1, type: 'normal' }), 'hard');
});
