/**
 * capstan's keyed work queue, the heart of every operator.
 *
 * Watch handlers (runtime/operator.ts) run on the event loop for every event, and a re-list reports
 * every object again. So they only `add(key)` and return; this queue does the work, as client-go's
 * rate-limited workqueue does:
 * - a key queued twice before it runs is run once (dedupe);
 * - one key never runs twice at once: an `add` while it runs marks it dirty and it runs again after;
 * - up to `concurrency` keys run at once;
 * - a reconcile that throws is retried with per-key exponential backoff (`baseDelayMs * 2^n`, capped);
 * - a reconcile may return `{ requeueAfterMs }` to be run again later (the periodic refresh).
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
  /** Called when a reconcile throws, for logging and metrics. */
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  /** The `name` label of the queue's metrics (the operator's name); no metrics without it. */
  name?: string;
}

/** Exponential backoff for the n-th consecutive failure (n >= 1), capped: base * 2^(n-1) ms. */
export function backoffDelay(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, failures - 1));
}

/** A deduplicating, per-key serialised, bounded-concurrency work queue with backoff and delayed requeue. */
export class KeyedWorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: Array<() => void> = [];
  /** When each waiting or dirty key was added (ms since the epoch), for the queue duration metric. */
  private readonly addedAt = new Map<string, number>();
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
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
  }

  /** Queues a key now. A pending timer for it is cancelled: the key runs now instead. */
  add(key: string): void {
    if (this.stopped) return;
    this.cancelTimer(key);
    if (this.running.has(key)) {
      this.counted(key);
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.counted(key);
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
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
    if (this.opts.name !== undefined) workqueueDepth.set({ name: this.opts.name }, this.pending.length);
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
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forgets a key: its timer and failure count (for example once the object is deleted). */
  forget(key: string): void {
    this.cancelTimer(key);
    this.failures.delete(key);
  }

  /** Number of keys waiting or running (timers not counted). */
  get length(): number {
    return this.pending.length + this.running.size;
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
    this.queued.clear();
    this.addedAt.clear();
    this.reportDepth();
  }

  private cancelTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t.timer);
    this.timers.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      this.queued.delete(key);
      this.running.add(key);
      this.started(key);
      void this.run(key);
    }
    this.reportDepth();
    if (this.length === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
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
    try {
      const result = await this.reconcile(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = backoffDelay(n, this.baseDelayMs, this.maxDelayMs);
      if (this.opts.name !== undefined) workqueueRetries.inc({ name: this.opts.name });
      this.opts.onError?.(key, err, delay);
      this.addAfter(key, delay);
    } finally {
      end?.();
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
