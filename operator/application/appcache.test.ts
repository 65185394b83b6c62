import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppCache } from './appcache';
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
