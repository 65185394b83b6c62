/**
 * The body of a jq worker thread (started by {@link JqPool} in ./jqworker.ts, never imported by other
 * code). It evaluates batches of jq path expressions with jqjs and answers one message per batch.
 *
 * Before each evaluation it publishes, in the SharedArrayBuffer the pool gave it, the evaluation's
 * number (1-based) and its start time (ms since the epoch), so that the pool can tell how long the
 * current evaluation has been running without a message round-trip and terminate the thread when one
 * passes the deadline. Slots: `[0]` the number (0 before the first, `jobs.length + 1` when done),
 * `[1]` the start time. The start is written before the number, so that a reader that sees a number
 * never pairs it with an older start.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JqPathError, compileJqPath } from './jqpath';
import type { JqBatch, JqReply, JqResult } from './jqworker';

const progress = new BigInt64Array((workerData as { progress: SharedArrayBuffer }).progress);

function evaluate(expression: string, doc: unknown): JqResult {
  try {
    return { paths: compileJqPath(expression)(doc) };
  } catch (err) {
    if (err instanceof JqPathError) return { error: err.reason };
    return { error: `evaluation failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function run(batch: JqBatch): JqReply {
  const results = batch.jobs.map((job, i) => {
    Atomics.store(progress, 1, BigInt(Date.now()));
    Atomics.store(progress, 0, BigInt(i + 1));
    return evaluate(job.expression, batch.docs[job.doc]);
  });
  Atomics.store(progress, 0, BigInt(batch.jobs.length + 1));
  return { id: batch.id, results };
}

parentPort?.on('message', (batch: JqBatch) => parentPort?.postMessage(run(batch)));
parentPort?.postMessage({ ready: true });
