import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedWorkQueue, LATER_SHARE, backoffDelay, retryDelay } from './workqueue';

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
    { baseDelayMs: 20, jitter: 0, onError: (_k, _e, delay) => errors.push(delay) },
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

test('retryDelay: exponential to the key cap (clamped to base and max), permanent waits the cap, jitter only shortens', () => {
  const q = { baseDelayMs: 1000, maxDelayMs: 300_000, jitter: 0 };
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => retryDelay(n, {}, q)),
    [1000, 2000, 4000, 8000, 16000],
  );
  assert.equal(retryDelay(20, {}, q), 300_000);
  assert.equal(retryDelay(20, { maxDelayMs: 10_000 }, q), 10_000, 'never longer than the key cap');
  assert.equal(retryDelay(20, { maxDelayMs: 100 }, q), 1000, 'but never shorter than the base');
  assert.equal(retryDelay(20, { maxDelayMs: 10_000_000 }, q), 300_000, 'nor longer than the max');
  assert.equal(retryDelay(1, { maxDelayMs: 2000, permanent: true }, q), 2000);
  const jq = { ...q, jitter: 0.1 };
  assert.equal(
    retryDelay(3, {}, jq, () => 0),
    4000,
  );
  assert.equal(
    retryDelay(3, {}, jq, () => 0.999),
    3601,
  );
  assert.equal(
    retryDelay(1, {}, jq, () => 0.999),
    1000,
    'the base delay is never jittered below the base',
  );
});

test('a handled failure ({ failed }) backs off as a throw does and a success resets the count', async () => {
  const results: Array<{ failed?: { maxDelayMs?: number } }> = [
    { failed: { maxDelayMs: 25 } },
    { failed: { maxDelayMs: 25 } },
    { failed: { maxDelayMs: 25 } },
    {},
  ];
  const times: number[] = [];
  const q = new KeyedWorkQueue(
    async () => {
      times.push(Date.now());
      return results[times.length - 1] ?? {};
    },
    { baseDelayMs: 10, jitter: 0 },
  );
  q.add('k');
  while (times.length < 4) await sleep(5);
  await q.idle();
  assert.equal(q.failureCount('k'), 0, 'reset by the success');
  assert.ok(times[1] - times[0] >= 9, 'first retry after the base delay');
  assert.ok(times[3] - times[2] >= 24, 'third retry at the key cap (25 ms, not 40)');
  assert.ok(times[3] - times[2] < 200);
  q.stop();
});

test('addUnlessBackingOff waits for the retry of a failing key; add runs it at once and keeps its count', async () => {
  let runs = 0;
  const q = new KeyedWorkQueue(
    async () => {
      runs++;
      return { failed: {} };
    },
    { baseDelayMs: 10_000, jitter: 0 },
  );
  q.add('k');
  await q.idle();
  assert.equal(runs, 1);
  assert.ok(q.backingOff('k'));
  q.addUnlessBackingOff('k');
  await q.idle();
  assert.equal(runs, 1, 'a secondary event does not cut the backoff short');
  q.add('k');
  await q.idle();
  assert.equal(runs, 2, 'a primary event runs the key now');
  assert.equal(q.failureCount('k'), 2, 'the failure count is kept for the next backoff');
  q.addUnlessBackingOff('other');
  await q.idle();
  assert.equal(runs, 3, 'a key not backing off runs now');
  q.stop();
});

test('added while running: add reruns right after a failed run, addUnlessBackingOff only after a success', async () => {
  let runs = 0;
  let fail = true;
  let release!: () => void;
  const q = new KeyedWorkQueue(
    async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
      return fail ? { failed: {} } : {};
    },
    { baseDelayMs: 10_000, jitter: 0 },
  );
  q.add('k');
  await sleep(1);
  q.addUnlessBackingOff('k');
  release();
  await sleep(5);
  assert.equal(runs, 1, 'the failed run is not followed by the secondary rerun');
  q.add('k'); // a store became ready: runs now
  await sleep(1);
  assert.equal(runs, 2);
  q.add('k'); // ... and again while running: right after, although this run fails too
  release();
  await sleep(5);
  assert.equal(runs, 3);
  fail = false;
  q.addUnlessBackingOff('k');
  release();
  await sleep(5);
  assert.equal(runs, 4, 'after a successful run the secondary event reruns it');
  release();
  await q.idle();
  q.stop();
});

/** A promise and its resolve/reject, to settle a tail by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('a tail frees the worker for the next key, and its key stays running until it settles', async () => {
  const tail = deferred();
  const runs: string[] = [];
  const q = new KeyedWorkQueue(
    async (k) => {
      runs.push(k);
      return k === 'a' && runs.filter((r) => r === 'a').length === 1 ? { tail: tail.promise } : {};
    },
    { concurrency: 1 },
  );
  q.add('a');
  q.add('b');
  await sleep(10);
  assert.deepEqual(runs, ['a', 'b'], 'b ran on the only worker while the tail of a was pending');
  q.add('a'); // while its tail runs: marked dirty, not run twice at once
  await sleep(10);
  assert.deepEqual(runs, ['a', 'b']);
  assert.equal(q.length, 1, 'a still counts as running');
  tail.resolve();
  await q.idle();
  assert.deepEqual(runs, ['a', 'b', 'a'], 'the dirty key ran again after its tail');
});

test('a rejected tail is a failed reconcile: retried with backoff', async () => {
  let runs = 0;
  const errors: number[] = [];
  const q = new KeyedWorkQueue(
    async () => {
      runs++;
      return runs === 1 ? { tail: Promise.reject(new Error('status write failed')) } : {};
    },
    { baseDelayMs: 30, jitter: 0, onError: (_k, _e, ms) => errors.push(ms) },
  );
  q.add('k');
  await sleep(10);
  assert.deepEqual(errors, [30]);
  assert.equal(q.failureCount('k'), 1);
  await sleep(50);
  await q.idle();
  assert.equal(runs, 2, 'retried after its backoff');
  assert.equal(q.failureCount('k'), 0);
});

test('at most `concurrency` tails run without a worker; past that the worker waits for its own', async () => {
  const tails = [deferred(), deferred(), deferred()];
  const started: string[] = [];
  const q = new KeyedWorkQueue(
    async (k) => {
      started.push(k);
      const i = Number(k.slice(1));
      return i < tails.length ? { tail: tails[i].promise } : {};
    },
    { concurrency: 1 },
  );
  for (let i = 0; i < 4; i++) q.add(`k${i}`);
  await sleep(10);
  // k0's tail runs without the worker; k1's cannot (one tail at most): k1 holds the worker.
  assert.deepEqual(started, ['k0', 'k1']);
  tails[1].resolve();
  await sleep(10);
  assert.deepEqual(started, ['k0', 'k1', 'k2']);
  tails[0].resolve();
  tails[2].resolve();
  await q.idle();
  assert.deepEqual(started, ['k0', 'k1', 'k2', 'k3']);
});

test("an event's key runs before keys its timers queued, which still get one start in LATER_SHARE", async () => {
  const runs: string[] = [];
  const gate = deferred();
  const q = new KeyedWorkQueue(
    async (k) => {
      if (k === 'blocker') await gate.promise;
      runs.push(k);
    },
    { concurrency: 1 },
  );
  q.add('blocker');
  for (let i = 0; i < 3; i++) q.addAfter(`refresh${i}`, 1);
  await sleep(20); // the three timers fired while the blocker runs
  for (let i = 0; i < 2; i++) q.add(`drift${i}`);
  q.add('refresh2'); // an event for a key its timer queued: it moves up with the events
  gate.resolve();
  await q.idle();
  assert.deepEqual(runs, [
    'blocker',
    'drift0',
    'drift1',
    'refresh0', // the fourth start goes to a timer's key although events wait
    'refresh2', // moved up by its event
    'refresh1',
  ]);
  assert.equal(LATER_SHARE, 4);
});
