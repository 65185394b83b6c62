/**
 * capstan's keyed work queue, the heart of every operator.
 *
 * Watch handlers (runtime/operator.ts) run on the event loop for every event, and a re-list reports
 * every object again. So they only `add(key)` and return; this queue does the work, as client-go's
 * rate-limited workqueue does:
 * - a key queued twice before it runs is run once (dedupe);
 * - one key never runs twice at once: an `add` while it runs marks it dirty and it runs again after;
 * - up to `concurrency` keys run at once;
 * - a reconcile that throws is retried with per-key exponential backoff (`baseDelayMs * 2^n`, capped,
 *   minus up to `jitter` of it at random so that keys failing together spread out), reset by a success,
 *   as client-go's `ItemExponentialFailureRateLimiter`;
 * - a reconcile that handled its failure itself (wrote a condition) returns `{ failed }` for the same
 *   backoff, optionally capped lower for that key (an ExternalSecret never waits longer than its refresh
 *   interval) or at its cap at once (`permanent`);
 * - a reconcile may return `{ requeueAfterMs }` to be run again later (the periodic refresh);
 * - keys queued by an event run before keys queued by their timer (the periodic refresh, a retry), which
 *   still get one start in {@link LATER_SHARE}: a drift is not queued behind a wave of periodic refreshes
 *   (Argo CD keeps apart the queues of refreshes and operations for the same reason);
 * - a reconcile may return a `tail`, writes that report what it did: its worker takes the next key while
 *   the tail runs (at most `concurrency` tails at once), the key still counting as running.
 *
 * This queue is the one place that owns per-key retry pacing: operators return or throw, they keep no
 * failure counts of their own. Two ways to queue a key now:
 * - {@link KeyedWorkQueue.add} for events that change what the reconcile would do (the object's spec or
 *   annotations, a store becoming ready): it runs now, even while the key backs off (its failure count is
 *   kept for the next backoff);
 * - {@link KeyedWorkQueue.addUnlessBackingOff} for secondary events (a written Secret changed, a status
 *   write of something it reads): a key backing off after a failure waits for its retry, so that a failing
 *   key never hammers what it failed on.
 * Keys are `kind/namespace/name` by convention.
 *
 * A queue with a `name` reports controller-runtime's work queue metrics under capstan's prefix
 * (`capstan_workqueue_depth`, `_adds_total`, `_retries_total`, `_queue_duration_seconds`,
 * `_work_duration_seconds`; see metrics.ts).
 */
import {
  workqueueAdds,
  workqueueDepth,
  workqueueQueueDuration,
  workqueueRetries,
  workqueueWorkDuration,
} from './metrics';

/** What a reconcile returns: nothing, or when to run the same key again. */
export interface ReconcileResult {
  /** Run the key again after this many milliseconds (unless an event queues it sooner). */
  requeueAfterMs?: number;
  /**
   * The reconcile failed and recorded the failure itself (a status condition, a log line): the key is
   * run again after its per-key backoff, as after a throw, and its failure count grows. With
   * `requeueAfterMs` as well, the earlier of the two wins.
   */
  failed?: FailureBackoff;
  /**
   * The rest of this reconcile, which needs no worker: writes that report what it did (an Application's
   * status write and events after its sync applied). The worker takes the next key at once, while the key
   * counts as running until the tail settles (an add marks it dirty, it never runs twice at once); a
   * rejected tail is a failed reconcile (retried with backoff), and `requeueAfterMs` and the dirty rerun
   * wait for it. At most `concurrency` tails run at once; past that the worker waits for its own.
   */
  tail?: Promise<unknown>;
}

/** How a handled failure backs off (see {@link ReconcileResult.failed}). */
export interface FailureBackoff {
  /**
   * This key's longest delay, in ms (e.g. an ExternalSecret's refresh interval); never below the queue's
   * `baseDelayMs` nor above its `maxDelayMs`. Default: the queue's `maxDelayMs`.
   */
  maxDelayMs?: number;
  /** A failure that retrying soon will not mend (a terminal error): wait the longest delay at once. */
  permanent?: boolean;
}

/** The function a queue runs per key. Throw to retry with backoff. */
export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

/** Options of a {@link KeyedWorkQueue}. */
export interface WorkQueueOptions {
  /** Keys reconciled at once (default 10). */
  concurrency?: number;
  /** First retry delay after a failure, in ms (default 1000). */
  baseDelayMs?: number;
  /** Largest retry delay, in ms (default 300000, i.e. 5 min). */
  maxDelayMs?: number;
  /**
   * Share of a retry delay taken off at random (default 0.1: a delay `d` becomes one in `(0.9 d, d]`,
   * never below `baseDelayMs`); 0 for exact delays (tests).
   */
  jitter?: number;
  /** Uniform [0, 1) source of the jitter (tests). */
  random?: () => number;
  /** Called when a reconcile throws, for logging and metrics. */
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  /** The `name` label of the queue's metrics (the operator's name); no metrics without it. */
  name?: string;
}

/** Exponential backoff for the n-th consecutive failure (n >= 1), capped: base * 2^(n-1) ms. */
export function backoffDelay(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(0, failures - 1), 40));
}

/**
 * The delay before retry number `failures` of one key, as the queue computes it: exponential from
 * `baseDelayMs`, capped at the key's cap (its `maxDelayMs`, clamped to the queue's base and max), or
 * the cap at once for a permanent failure; then up to `jitter` of it taken off at random, never below
 * the base (a failing key must not hammer what it failed on).
 * @param random - a uniform [0, 1) source.
 */
export function retryDelay(
  failures: number,
  backoff: FailureBackoff,
  q: { baseDelayMs: number; maxDelayMs: number; jitter: number },
  random: () => number = Math.random,
): number {
  const cap = Math.max(q.baseDelayMs, Math.min(q.maxDelayMs, backoff.maxDelayMs ?? q.maxDelayMs));
  const delay = backoff.permanent ? cap : backoffDelay(failures, q.baseDelayMs, cap);
  const jittered = delay - Math.floor(delay * q.jitter * random());
  return Math.max(Math.min(q.baseDelayMs, cap), jittered);
}

/** A key queued by its timer runs at least once in this many starts while event keys wait. */
export const LATER_SHARE = 4;

/** A deduplicating, per-key serialised, bounded-concurrency work queue with backoff and delayed requeue. */
export class KeyedWorkQueue {
  /** Keys waiting, queued by an event (an add), in order. */
  private readonly pending: string[] = [];
  /** Keys waiting, queued by their timer (the periodic refresh, a retry), in order. */
  private readonly later: string[] = [];
  /** Every key waiting, and whether it waits in `later`. */
  private readonly queued = new Map<string, boolean>();
  /** Keys started since the last one taken from `later` (see {@link LATER_SHARE}). */
  private sinceLater = 0;
  private readonly running = new Set<string>();
  /** Keys holding a worker (running keys whose tail, if any, has not released it). */
  private workers = 0;
  /** Tails running without a worker. */
  private tails = 0;
  private readonly failures = new Map<string, number>();
  /** Keys backing off after a failure -> when their retry is due (ms since the epoch). */
  private readonly backoffUntil = new Map<string, number>();
  /** Keys added while running: `now` reruns right after, `gated` only if the run did not fail. */
  private readonly dirtyHow = new Map<string, 'now' | 'gated'>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: Array<() => void> = [];
  /** When each waiting or dirty key was added (ms since the epoch), for the queue duration metric. */
  private readonly addedAt = new Map<string, number>();
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private stopped = false;

  /**
   * @param reconcile - the per-key work; it throws to be retried with backoff.
   * @param opts - concurrency and backoff settings.
   */
  constructor(
    private readonly reconcile: Reconciler,
    private readonly opts: WorkQueueOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 10;
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.1));
  }

  /**
   * Queues a key now, also while it backs off after a failure (its failure count is kept). A pending
   * timer for it is cancelled: the key runs now instead. Added while it runs, it runs again right after.
   */
  add(key: string): void {
    this.enqueue(key, false);
  }

  /**
   * Queues a key, in `later` when its timer queued it: an event's key waiting there moves to `pending`.
   */
  private enqueue(key: string, timed: boolean): void {
    if (this.stopped) return;
    this.cancelTimer(key);
    if (this.running.has(key)) {
      this.counted(key);
      this.dirtyHow.set(key, 'now');
      return;
    }
    const waiting = this.queued.get(key);
    if (waiting === false || (waiting === true && timed)) return;
    if (waiting === true) this.later.splice(this.later.indexOf(key), 1);
    else this.counted(key);
    this.queued.set(key, timed);
    (timed ? this.later : this.pending).push(key);
    this.pump();
  }

  /**
   * Queues a key now unless it backs off after a failure: then it runs when its retry is due (its timer
   * is already set). Added while it runs, it runs again right after unless that run fails.
   * For secondary events (see the module comment).
   */
  addUnlessBackingOff(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      if (!this.dirtyHow.has(key)) {
        this.counted(key);
        this.dirtyHow.set(key, 'gated');
      }
      return;
    }
    if (this.backingOff(key)) return;
    this.add(key);
  }

  /** True while `key` waits for its retry after a failure. */
  backingOff(key: string): boolean {
    const until = this.backoffUntil.get(key);
    if (until === undefined) return false;
    if (until > Date.now() && this.timers.has(key)) return true;
    this.backoffUntil.delete(key);
    return false;
  }

  /** Consecutive failures of `key` (0 after a success). */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Counts an add once per wait, as client-go does: a key marked dirty while it runs is counted then,
   * not again when it is queued after the run.
   */
  private counted(key: string): void {
    if (this.addedAt.has(key)) return;
    this.addedAt.set(key, Date.now());
    if (this.opts.name !== undefined) workqueueAdds.inc({ name: this.opts.name });
  }

  /** Sets the depth gauge (keys waiting, not running). */
  private reportDepth(): void {
    if (this.opts.name !== undefined) workqueueDepth.set({ name: this.opts.name }, this.queued.size);
  }

  /**
   * Queues a key after `delayMs` milliseconds. If a timer is already set for the key, the earlier of
   * the two wins (so a long periodic refresh never postpones a short retry).
   */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    this.cancelTimer(key);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.enqueue(key, true);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forgets a key: its timer, failure count and backoff (for example once the object is deleted). */
  forget(key: string): void {
    this.cancelTimer(key);
    this.failures.delete(key);
    this.backoffUntil.delete(key);
  }

  /** Number of keys waiting or running (timers not counted). */
  get length(): number {
    return this.pending.length + this.later.length + this.running.size;
  }

  /** Resolves when nothing is queued or running (timers may still be set). */
  async idle(): Promise<void> {
    if (this.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and cancels timers; running reconciles finish on their own. */
  stop(): void {
    this.stopped = true;
    for (const key of [...this.timers.keys()]) this.cancelTimer(key);
    this.pending.length = 0;
    this.later.length = 0;
    this.queued.clear();
    this.addedAt.clear();
    this.backoffUntil.clear();
    this.reportDepth();
  }

  private cancelTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t.timer);
    this.timers.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.workers < this.concurrency && this.queued.size > 0) {
      const key = this.next();
      this.queued.delete(key);
      this.running.add(key);
      this.workers++;
      this.started(key);
      void this.run(key);
    }
    this.reportDepth();
    if (this.length === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  /**
   * The next key to run: an event's before a timer's, but a timer's at least every {@link LATER_SHARE}
   * starts, so that periodic refreshes and retries are never starved by a stream of events.
   */
  private next(): string {
    const fromLater = this.later.length > 0 && (!this.pending.length || this.sinceLater >= LATER_SHARE - 1);
    this.sinceLater = fromLater ? 0 : this.sinceLater + 1;
    return (fromLater ? this.later : this.pending).shift() as string;
  }

  /** Observes how long a key waited, from its add to the start of its reconcile. */
  private started(key: string): void {
    const at = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (this.opts.name === undefined || at === undefined) return;
    workqueueQueueDuration.observe({ name: this.opts.name }, (Date.now() - at) / 1000);
  }

  private async run(key: string): Promise<void> {
    const end =
      this.opts.name === undefined ? undefined : workqueueWorkDuration.startTimer({ name: this.opts.name });
    let failed = false;
    let worker = true;
    try {
      const result = await this.reconcile(key);
      worker = await this.finishTail(result?.tail);
      if (result?.failed) {
        failed = true;
        this.backOff(key, result.failed);
      } else {
        this.failures.delete(key);
        this.backoffUntil.delete(key);
      }
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      failed = true;
      const delay = this.backOff(key, {});
      this.opts.onError?.(key, err, delay);
    } finally {
      end?.();
      this.running.delete(key);
      if (worker) this.workers--;
      const how = this.dirtyHow.get(key);
      this.dirtyHow.delete(key);
      if (how === 'now' || (how === 'gated' && !failed)) this.add(key);
      else if (how === 'gated') this.addedAt.delete(key); // waits for its retry, counted again then
      this.pump();
    }
  }

  /**
   * Waits for a reconcile's tail, handing its worker to the next key meanwhile unless `concurrency` tails
   * already run that way. Rejects as the tail does.
   * @returns whether the key still holds its worker.
   */
  private async finishTail(tail: Promise<unknown> | undefined): Promise<boolean> {
    if (!tail) return true;
    if (this.tails >= this.concurrency) {
      await tail;
      return true;
    }
    this.workers--;
    this.tails++;
    this.pump();
    try {
      await tail;
    } finally {
      this.tails--;
    }
    return false;
  }

  /** Records a failure of `key` and sets its retry timer; returns the delay in ms. */
  private backOff(key: string, backoff: FailureBackoff): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const q = { baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs, jitter: this.jitter };
    const delay = retryDelay(n, backoff, q, this.opts.random);
    if (this.opts.name !== undefined) workqueueRetries.inc({ name: this.opts.name });
    this.backoffUntil.set(key, Date.now() + delay);
    this.cancelTimer(key); // the retry replaces a periodic timer that may be earlier
    this.addAfter(key, delay);
    return delay;
  }
}
