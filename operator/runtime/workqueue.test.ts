import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedWorkQueue, backoffDelay } from './workqueue';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('backoffDelay doubles from the base and caps', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => backoffDelay(n, 100, 1000)),
    [100, 200, 400, 800, 1000],
  );
});

test('a key queued many times before it runs is reconciled once', async () => {
  const runs: string[] = [];
  const q = new KeyedWorkQueue(
    async (k) => {
      runs.push(k);
    },
    { concurrency: 1 },
  );
  q.add('blocker');
  for (let i = 0; i < 5; i++) q.add('a');
  await q.idle();
  assert.deepEqual(runs, ['blocker', 'a']);
});

test('one key never runs twice at once; an add while running reruns it after', async () => {
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  const q = new KeyedWorkQueue(async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs++;
    await sleep(20);
    active--;
  });
  q.add('k');
  await sleep(5);
  q.add('k');
  q.add('k');
  await q.idle();
  assert.equal(maxActive, 1);
  assert.equal(runs, 2);
});

test('concurrency bounds the keys running at once', async () => {
  let active = 0;
  let maxActive = 0;
  const q = new KeyedWorkQueue(
    async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(10);
      active--;
    },
    { concurrency: 3 },
  );
  for (let i = 0; i < 10; i++) q.add(`k${i}`);
  await q.idle();
  assert.equal(maxActive, 3);
});

test('a failing reconcile is retried with backoff until it succeeds', async () => {
  const times: number[] = [];
  const errors: number[] = [];
  const q = new KeyedWorkQueue(
    async () => {
      times.push(Date.now());
      if (times.length < 3) throw new Error('boom');
    },
    { baseDelayMs: 20, onError: (_k, _e, delay) => errors.push(delay) },
  );
  q.add('k');
  while (times.length < 3) await sleep(5);
  await q.idle();
  assert.deepEqual(errors, [20, 40]);
  assert.ok(times[2] - times[1] >= 35, 'second retry waits longer than the first');
});

test('requeueAfterMs runs the key again later; an add runs it now instead', async () => {
  let runs = 0;
  const q = new KeyedWorkQueue(async () => {
    runs++;
    return { requeueAfterMs: runs === 1 ? 10_000 : undefined };
  });
  q.add('k');
  await q.idle();
  assert.equal(runs, 1);
  q.add('k');
  await q.idle();
  assert.equal(runs, 2);
  q.stop();
});

test('addAfter keeps the earlier of two timers', async () => {
  let runs = 0;
  const q = new KeyedWorkQueue(async () => {
    runs++;
  });
  q.addAfter('k', 20);
  q.addAfter('k', 10_000);
  await sleep(60);
  assert.equal(runs, 1);
  q.stop();
});
