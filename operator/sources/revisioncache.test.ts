import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RevisionCache } from './revisioncache';

/** A resolver that counts its listings and answers `sha-<n>` (the n-th listing). */
function countingResolver() {
  let listings = 0;
  const resolve = async (): Promise<string> => {
    listings += 1;
    await new Promise((r) => setTimeout(r, 5));
    return `sha-${listings}`;
  };
  return { resolve, listings: () => listings };
}

test('apps resolving the same revision within the interval share one listing (concurrent and later)', async () => {
  let now = 1000;
  const cache = new RevisionCache(120_000, () => now);
  const r = countingResolver();
  const all = await Promise.all(
    Array.from({ length: 50 }, () => cache.resolve(r.resolve, 'git://h/repo', 'main')),
  );
  assert.equal(r.listings(), 1);
  assert.ok(all.every((s) => s === 'sha-1'));
  now += 60_000;
  assert.equal(await cache.resolve(r.resolve, 'git://h/repo', 'main'), 'sha-1');
  assert.equal(r.listings(), 1);
  now += 61_000; // past the interval: listed again
  assert.equal(await cache.resolve(r.resolve, 'git://h/repo', 'main'), 'sha-2');
  assert.equal(r.listings(), 2);
});

test('another repository, revision or credentials is another listing', async () => {
  const cache = new RevisionCache(120_000);
  const r = countingResolver();
  await cache.resolve(r.resolve, 'git://h/a', 'main');
  await cache.resolve(r.resolve, 'git://h/b', 'main');
  await cache.resolve(r.resolve, 'git://h/a', 'v1');
  await cache.resolve(r.resolve, 'git://h/a', 'main', { username: 'u', password: 'p' });
  assert.equal(r.listings(), 4);
});

test('forget (an explicit refresh) makes the next comparison list again; failures are not cached', async () => {
  const cache = new RevisionCache(120_000);
  const r = countingResolver();
  await cache.resolve(r.resolve, 'git://h/a', 'main');
  cache.forget(['git://h/a']);
  assert.equal(await cache.resolve(r.resolve, 'git://h/a', 'main'), 'sha-2');
  let fail = true;
  const flaky = async (): Promise<string> => {
    if (fail) throw new Error('unreachable');
    return 'ok';
  };
  await assert.rejects(cache.resolve(flaky, 'git://h/b', 'main'), /unreachable/);
  fail = false;
  assert.equal(await cache.resolve(flaky, 'git://h/b', 'main'), 'ok');
});

test('forget since a time keeps listings started after it: refreshes asked together share one', async () => {
  let now = 1000;
  const cache = new RevisionCache(120_000, () => now);
  const r = countingResolver();
  await cache.resolve(r.resolve, 'git://h/a', 'main'); // started at 1000
  now = 2000; // refresh requests of many apps are seen from here on
  cache.forget(['git://h/a'], 1500);
  assert.equal(await cache.resolve(r.resolve, 'git://h/a', 'main'), 'sha-2', 'started before: listed again');
  now = 2500;
  // Every other app refreshed since 1500: the listing started at 2000 sees what they asked for.
  for (let i = 0; i < 20; i++) cache.forget(['git://h/a'], 1500 + i);
  assert.equal(await cache.resolve(r.resolve, 'git://h/a', 'main'), 'sha-2');
  assert.equal(r.listings(), 2);
  // A request seen after that listing started needs a new one.
  cache.forget(['git://h/a'], 2100);
  assert.equal(await cache.resolve(r.resolve, 'git://h/a', 'main'), 'sha-3');
});
