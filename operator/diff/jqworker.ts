/**
 * jq evaluation off the main event loop, with a deadline per evaluation, as Argo CD bounds
 * `ignoreDifferences[].jqPathExpressions` (`controller.ignore.normalizer.jq.timeout`, default 1 s,
 * error "JQ patch execution timed out").
 *
 * Why a worker thread: jqjs is synchronous and a jq expression can take exponential time (22 nested
 * `(.,.)` take seconds, each level doubles it) or run a catastrophically backtracking `test()` regular
 * expression; on the main thread either one freezes the whole process, lease renewal and health checks
 * included. A step budget would need hooks inside jqjs and would not stop a regular expression; a
 * worker can be terminated at any point, regular expressions included.
 *
 * The pool keeps up to `size` long-lived workers (started on first use, unreferenced while idle so they
 * never keep the process alive). One message carries a whole batch (every expression of one
 * comparison on both objects), so the fast path costs one round-trip (about 0.1 ms) however many
 * expressions there are. A worker that passes the deadline, exceeds its heap limit or dies is
 * terminated and replaced; only the batch it was running fails, queued batches run on the next worker.
 * The deadline counts the evaluation only, not the time a batch waits in the queue.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { JqPathError } from './jqpath';
import { Path } from './paths';

/** Argo CD's default jq timeout (`controller.ignore.normalizer.jq.timeout: 1s`), in ms. */
export const DEFAULT_JQ_TIMEOUT_MS = 1000;

/** Heap limit of one jq worker, in MiB: an expression that builds huge values fails, capstan does not. */
export const JQ_WORKER_HEAP_MB = 128;

/** One evaluation of a batch: an expression on `docs[doc]`. */
export interface JqJob {
  expression: string;
  /** Index into the batch's `docs`. */
  doc: number;
}

/** The message sent to a worker: documents once each, and the evaluations over them. */
export interface JqBatch {
  id: number;
  docs: unknown[];
  jobs: JqJob[];
}

/**
 * The outcome of one evaluation: the paths, or why the expression is unusable (a syntax error, not a
 * path expression, too many paths), as {@link JqPathError}'s `reason`.
 */
export type JqResult = { paths: Path[] } | { error: string };

/** A worker's answer to a {@link JqBatch}: one result per job, in order. */
export interface JqReply {
  id: number;
  results: JqResult[];
}

/**
 * An evaluation was stopped: it passed the deadline or the worker's heap limit. `jobIndex` is the job
 * of the batch that was running, so the caller can name the rule it belongs to.
 */
export class JqAbortError extends JqPathError {
  /**
   * @param expression - the expression that was running.
   * @param jobIndex - its index in the batch's jobs.
   * @param reason - why it was stopped, naming the limit and its flag.
   */
  constructor(
    expression: string,
    readonly jobIndex: number,
    reason: string,
  ) {
    super(expression, reason);
    this.name = 'JqAbortError';
  }
}

/** "1s", "1.5s" or "250ms", for messages. */
function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(3))}s` : `${ms}ms`;
}

/** The reason of a timed-out evaluation: the limit and the flag that raises it. */
export function timeoutReason(timeoutMs: number): string {
  return (
    `evaluation took longer than the jq timeout of ${formatMs(timeoutMs)} (--jq-timeout, as Argo CD's ` +
    `controller.ignore.normalizer.jq.timeout); simplify the expression`
  );
}

/**
 * The worker's entry, run through a tiny CommonJS bootstrap: in development the sources are
 * TypeScript run by tsx, whose loader a worker does not inherit for its main script, so the bootstrap
 * registers tsx's require hook first; the compiled operator (dist/) loads plain JavaScript.
 */
const THREAD_FILE = path.join(__dirname, `jqthread${path.extname(__filename)}`);
/** tsx's require hook, resolved here so that the worker finds it whatever the working directory. */
const TSX_HOOK = path.extname(__filename) === '.ts' ? require.resolve('tsx/cjs') : undefined;
const BOOTSTRAP = [
  "const { workerData } = require('node:worker_threads');",
  'if (workerData.hook) require(workerData.hook);',
  'require(workerData.file);',
].join('\n');

interface Pending {
  batch: JqBatch;
  timeoutMs: number;
  resolve: (results: JqResult[]) => void;
  reject: (err: Error) => void;
}

interface Running extends Pending {
  postedAt: number;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  /** See ./jqthread.ts: `[0]` 1-based number of the running job, `[1]` its start (ms since the epoch). */
  progress: BigInt64Array;
  ready: boolean;
  current?: Running;
}

/** A small pool of jq worker threads; see the module comment. */
export class JqPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;

  /** @param size - the most workers running at once (default 2, so one slow app does not hold all). */
  constructor(private readonly size = 2) {}

  /**
   * Evaluates every job in a worker.
   * @param docs - the documents (structured-cloned to the worker once each).
   * @param jobs - the evaluations.
   * @param timeoutMs - the deadline of each evaluation, in ms.
   * @returns one result per job, in order.
   * @throws JqAbortError when an evaluation passes `timeoutMs` or the heap limit; Error when a worker
   * cannot start or dies otherwise.
   */
  run(docs: unknown[], jobs: JqJob[], timeoutMs: number): Promise<JqResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ batch: { id: this.nextId++, docs, jobs }, timeoutMs, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates every worker; running and queued batches fail. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    for (const p of this.queue.splice(0)) p.reject(new Error('the jq worker pool was closed'));
    await Promise.all(
      slots.map((s) => {
        this.settle(s, new Error('the jq worker pool was closed'));
        return s.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (;;) {
      const slot = this.slots.find((s) => s.ready && !s.current);
      if (!slot || this.queue.length === 0) break;
      this.start(slot, this.queue.shift()!);
    }
    const booting = this.slots.some((s) => !s.ready);
    if (this.queue.length > 0 && !booting && this.slots.length < this.size) this.spawn();
    for (const s of this.slots) if (s.ready && !s.current) s.worker.unref();
  }

  private spawn(): void {
    const progress = new SharedArrayBuffer(16);
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { file: THREAD_FILE, hook: TSX_HOOK, progress },
      resourceLimits: { maxOldGenerationSizeMb: JQ_WORKER_HEAP_MB },
    });
    const slot: Slot = { worker, progress: new BigInt64Array(progress), ready: false };
    this.slots.push(slot);
    worker.on('message', (m: JqReply | { ready: true }) => this.onMessage(slot, m));
    worker.on('error', (err) => this.onFailure(slot, err));
    worker.on('exit', (code) => this.onFailure(slot, new Error(`the jq worker exited with code ${code}`)));
  }

  private start(slot: Slot, p: Pending): void {
    Atomics.store(slot.progress, 0, 0n);
    const running: Running = { ...p, postedAt: Date.now() };
    slot.current = running;
    slot.worker.ref();
    slot.worker.postMessage(p.batch);
    this.arm(slot, p.timeoutMs);
  }

  private arm(slot: Slot, ms: number): void {
    if (slot.current) slot.current.timer = setTimeout(() => this.check(slot), Math.max(1, ms));
  }

  /** The watchdog: stops the worker when the running evaluation has passed its deadline. */
  private check(slot: Slot): void {
    const cur = slot.current;
    if (!cur) return;
    const { index, startedAt } = readProgress(slot.progress, cur.postedAt);
    // Every job is done and the reply is on its way.
    if (index > cur.batch.jobs.length) return this.arm(slot, cur.timeoutMs);
    const elapsed = Date.now() - startedAt;
    if (elapsed < cur.timeoutMs) return this.arm(slot, cur.timeoutMs - elapsed);
    const job = Math.max(0, index - 1);
    this.abort(slot, new JqAbortError(cur.batch.jobs[job].expression, job, timeoutReason(cur.timeoutMs)));
  }

  private onMessage(slot: Slot, m: JqReply | { ready: true }): void {
    if ('ready' in m) {
      slot.ready = true;
    } else if (slot.current?.batch.id === m.id) {
      const cur = slot.current;
      clearTimeout(cur.timer);
      slot.current = undefined;
      cur.resolve(m.results);
    }
    this.dispatch();
  }

  private onFailure(slot: Slot, err: Error): void {
    if (!this.slots.includes(slot)) return; // already replaced (terminated by the watchdog, or closed)
    const wasReady = slot.ready;
    const cur = slot.current;
    let failure: Error = err;
    if (cur && (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const job = Math.max(0, Math.min(readProgress(slot.progress, 0).index, cur.batch.jobs.length) - 1);
      failure = new JqAbortError(
        cur.batch.jobs[job].expression,
        job,
        `evaluation needed more than the jq worker's ${JQ_WORKER_HEAP_MB} MiB of memory`,
      );
    }
    this.remove(slot, failure);
    void slot.worker.terminate().catch(() => undefined);
    if (!wasReady) {
      // A worker that cannot start would fail again: fail what waits instead of respawning forever.
      for (const p of this.queue.splice(0))
        p.reject(new Error(`the jq worker could not start: ${err.message}`));
    }
    this.dispatch();
  }

  private abort(slot: Slot, err: Error): void {
    this.remove(slot, err);
    void slot.worker.terminate().catch(() => undefined);
    this.dispatch();
  }

  private remove(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    this.settle(slot, err);
  }

  private settle(slot: Slot, err: Error): void {
    const cur = slot.current;
    if (!cur) return;
    clearTimeout(cur.timer);
    slot.current = undefined;
    cur.reject(err);
  }
}

/**
 * Reads the worker's progress consistently: the job number, then its start, then the number again
 * (the worker writes the start first), retrying while the worker moves on.
 * @param fallbackStart - the start to assume before the first job began (when the batch was posted).
 */
function readProgress(progress: BigInt64Array, fallbackStart: number): { index: number; startedAt: number } {
  for (;;) {
    const index = Number(Atomics.load(progress, 0));
    const startedAt = Number(Atomics.load(progress, 1));
    if (Number(Atomics.load(progress, 0)) === index) {
      return { index, startedAt: index === 0 ? fallbackStart : startedAt };
    }
  }
}

let defaultTimeoutMs = DEFAULT_JQ_TIMEOUT_MS;
let sharedPool: JqPool | undefined;

/**
 * Sets the process-wide jq deadline (`--jq-timeout`), used where a caller passes none.
 * @param timeoutMs - the deadline of one evaluation, in ms (> 0).
 */
export function setJqTimeout(timeoutMs: number): void {
  if (!(timeoutMs > 0)) throw new Error(`the jq timeout must be positive, got ${timeoutMs} ms`);
  defaultTimeoutMs = timeoutMs;
}

/** The process-wide jq deadline in ms (see {@link setJqTimeout}; default {@link DEFAULT_JQ_TIMEOUT_MS}). */
export function jqTimeout(): number {
  return defaultTimeoutMs;
}

/** The process-wide pool, created on first use. */
export function sharedJqPool(): JqPool {
  return (sharedPool ??= new JqPool());
}
