import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeObject } from '../kube/object';
import {
  IgnoreRule,
  IgnoreRuleError,
  mergeIgnoredFromLiveBounded,
  resolveJqPaths,
  validateIgnoreRules,
} from './ignore';
import { JqAbortError, JqPool, timeoutReason } from './jqworker';
import { inSyncWith } from './normalize';

/** 22 nested `(.,.)`: about 4 million evaluations and no output; seconds of CPU, doubling per level. */
const EXPONENTIAL = Array(22).fill('(.,.)').join(' | ') + ' | select(false)';
/**
 * Far slower (32x): for the test whose deadline is 3 s, where EXPONENTIAL (about 3 s here) sometimes
 * finished in time on an idle machine. It is killed at the deadline, so it costs no more than that.
 */
const VERY_SLOW = Array(27).fill('(.,.)').join(' | ') + ' | select(false)';
/** A catastrophically backtracking regular expression inside jq's `test()`. */
const BACKTRACKING = '.metadata.name | select(test("^(a+)+$"))';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data,
});

/**
 * Runs `work` while a 10 ms interval runs on the main thread, and reports the largest gap between two
 * ticks: the proof that the main event loop kept turning (the old code froze it for seconds).
 */
async function withTicker<T>(
  work: () => Promise<T>,
): Promise<{ result: PromiseSettledResult<T>; maxGapMs: number; ms: number }> {
  const started = Date.now();
  let last = started;
  let maxGapMs = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 10);
  try {
    const [result] = await Promise.allSettled([Promise.resolve().then(work)]);
    maxGapMs = Math.max(maxGapMs, Date.now() - last);
    return { result, maxGapMs, ms: Date.now() - started };
  } finally {
    clearInterval(ticker);
  }
}

function rejection(r: PromiseSettledResult<unknown>): Error {
  assert.equal(r.status, 'rejected', 'expected the evaluation to fail');
  return (r as PromiseRejectedResult).reason as Error;
}

describe('jq deadline (--jq-timeout): evaluation off the main thread', () => {
  const pool = new JqPool(2);
  after(() => pool.close());

  test('an exponential expression fails within ~1.5 s with a clear error; the event loop keeps turning', async () => {
    // Uses the process-wide pool and the default 1 s deadline, as compareApp does.
    const rule: IgnoreRule = { kind: 'ConfigMap', jqPathExpressions: [EXPONENTIAL] };
    await validateIgnoreRules([{ kind: 'ConfigMap', jqPathExpressions: ['.data.a'] }]); // starts the worker
    const run = await withTicker(() => validateIgnoreRules([rule]));
    const err = rejection(run.result);
    assert.ok(err instanceof IgnoreRuleError, `expected an IgnoreRuleError, got ${String(err)}`);
    assert.equal(err.rule, rule);
    assert.equal(
      err.message,
      `ignoreDifferences for ConfigMap: jqPathExpressions entry ${JSON.stringify(EXPONENTIAL)}: ` +
        timeoutReason(1000),
    );
    assert.match(err.message, /took longer than the jq timeout of 1s \(--jq-timeout/);
    assert.ok(run.ms < 1500, `took ${run.ms} ms`);
    assert.ok(run.maxGapMs < 250, `the main thread was blocked for ${run.maxGapMs} ms`);
  });

  test('normal expressions still work, in one batch for both objects, also after a timeout', async () => {
    const rules: IgnoreRule[] = [
      { kind: 'ConfigMap', jqPathExpressions: ['.data.generated', '.data | .["x.y"]'] },
      { kind: 'Secret', jqPathExpressions: [EXPONENTIAL] }, // matches neither object: never evaluated
    ];
    const desired = cm('a', { keep: '1' });
    const live = cm('a', { keep: '1', generated: 'x', 'x.y': 'z' });
    const jq = await resolveJqPaths([desired, live], rules, { pool, timeoutMs: 1000 });
    assert.equal(inSyncWith(desired, live, rules, jq), true);
    assert.deepEqual(jq('.data.generated', live), [['data', 'generated']]);

    await assert.rejects(
      resolveJqPaths([live], [{ kind: 'ConfigMap', jqPathExpressions: [EXPONENTIAL] }], {
        pool,
        timeoutMs: 200,
      }),
      IgnoreRuleError,
    );
    const again = await resolveJqPaths([desired, live], rules, { pool, timeoutMs: 1000 });
    assert.equal(inSyncWith(desired, live, rules, again), true);
  });

  test('a catastrophically backtracking test() is stopped too', async () => {
    const obj = cm('a'.repeat(32) + '!');
    const run = await withTicker(() =>
      resolveJqPaths([obj], [{ kind: 'ConfigMap', jqPathExpressions: [BACKTRACKING] }], {
        pool,
        timeoutMs: 300,
      }),
    );
    const err = rejection(run.result);
    assert.ok(err instanceof IgnoreRuleError);
    assert.match(err.message, /jq timeout of 300ms/);
    assert.ok(run.ms < 1000, `took ${run.ms} ms`);
    assert.ok(run.maxGapMs < 250, `the main thread was blocked for ${run.maxGapMs} ms`);
  });

  test('the error names the expression that was running, not the first of the batch', async () => {
    const rule: IgnoreRule = { kind: 'ConfigMap', jqPathExpressions: ['.data.a', EXPONENTIAL, '.data.b'] };
    const err = await resolveJqPaths([cm('x')], [rule], { pool, timeoutMs: 200 }).then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e as IgnoreRuleError,
    );
    assert.equal(err.entry, EXPONENTIAL);
    assert.ok(err.cause instanceof JqAbortError);
    assert.equal(err.cause.jobIndex, 1);
  });

  test('other batches keep running while one expression is slow', async () => {
    const slow = resolveJqPaths([cm('s')], [{ kind: 'ConfigMap', jqPathExpressions: [VERY_SLOW] }], {
      pool,
      timeoutMs: 3000,
    });
    const started = Date.now();
    const fastDoc = cm('f', { a: '1' });
    const fast = await resolveJqPaths([fastDoc], [{ kind: 'ConfigMap', jqPathExpressions: ['.data.a'] }], {
      pool,
      timeoutMs: 1000,
    });
    // Waiting for the slow batch would take 3 s; the margin covers starting a second worker on a busy machine.
    assert.ok(Date.now() - started < 2000, 'the fast batch waited for the slow one');
    assert.deepEqual(fast('.data.a', fastDoc), [['data', 'a']]);
    await assert.rejects(slow, IgnoreRuleError);
  });

  test('with one worker, a batch queued behind a timed-out one runs on its replacement', async () => {
    const single = new JqPool(1);
    try {
      const rules: IgnoreRule[] = [{ kind: 'ConfigMap', jqPathExpressions: ['.data.a'] }];
      const slow = resolveJqPaths([cm('s')], [{ kind: 'ConfigMap', jqPathExpressions: [EXPONENTIAL] }], {
        pool: single,
        timeoutMs: 300,
      });
      const queued = resolveJqPaths([cm('q', { a: '1' })], rules, { pool: single, timeoutMs: 300 });
      await assert.rejects(slow, /jq timeout of 300ms/);
      const jq = await queued;
      assert.ok(jq);
    } finally {
      await single.close();
    }
  });

  test('RespectIgnoreDifferences: mergeIgnoredFromLiveBounded restores ignored fields and is bounded', async () => {
    const rules: IgnoreRule[] = [{ kind: 'ConfigMap', jqPathExpressions: ['.data.generated'] }];
    const out = await mergeIgnoredFromLiveBounded(
      cm('a', { keep: '1' }),
      cm('a', { generated: 'live' }),
      rules,
      {
        pool,
      },
    );
    assert.deepEqual((out as { data?: unknown }).data, { keep: '1', generated: 'live' });
    await assert.rejects(
      mergeIgnoredFromLiveBounded(
        cm('a'),
        cm('a'),
        [{ kind: 'ConfigMap', jqPathExpressions: [EXPONENTIAL] }],
        {
          pool,
          timeoutMs: 200,
        },
      ),
      /jq timeout of 200ms/,
    );
  });

  test('an expression that builds a huge value hits the worker heap limit, not the process', async () => {
    const huge = '.data | select([range(100000000)] | length > 0)';
    await assert.rejects(
      resolveJqPaths([cm('h')], [{ kind: 'ConfigMap', jqPathExpressions: [huge] }], {
        pool,
        timeoutMs: 60_000,
      }),
      (err: unknown) =>
        err instanceof IgnoreRuleError &&
        err.entry === huge &&
        /more than the jq worker's 128 MiB/.test(err.message),
    );
    const doc = cm('after', { a: '1' });
    const jq = await resolveJqPaths([doc], [{ kind: 'ConfigMap', jqPathExpressions: ['.data.a'] }], { pool });
    assert.deepEqual(jq('.data.a', doc), [['data', 'a']]);
  });

  test('objects without a jq rule send no message', async () => {
    const closed = new JqPool(1);
    await closed.close();
    const jq = await resolveJqPaths([cm('a')], [{ kind: 'Secret', jqPathExpressions: ['.data'] }], {
      pool: closed,
    });
    assert.ok(jq);
  });
});
