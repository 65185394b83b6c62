/**
 * A list-then-watch loop of one resource type that survives every failure inside the process, as
 * client-go's reflector does:
 * - it lists (in pages) and reports every listed object, then watches from the list's
 *   resourceVersion with bookmarks, so a restarted watch resumes where it stopped and replays nothing;
 * - a failed list or watch (API server down, transport error, malformed stream, ERROR event) is
 *   retried with exponential backoff and jitter, capped at `maxDelayMs` (30 s), and reported once per
 *   attempt; the watch resumes from the last resourceVersion seen;
 * - `410 Gone` (the resourceVersion is older than the server's window, e.g. after an etcd restart or
 *   compaction) re-lists, and reports the objects that vanished meanwhile as DELETED;
 * - it keeps only keys (`namespace/name`) and the resourceVersion, never object bodies: handlers that
 *   need bodies (the informer) keep them.
 *
 * Why capstan has its own: `@dot-i/k8s-operator`'s `watchResource` calls `process.exit(1)` on any
 * watch error, which kills every in-flight sync of the process with it.
 */
import { KubeApiError, RequestOptions, WatchEvent } from './client';
import type { KubeObject } from './object';

/** The part of {@link KubeClient} the loop uses (tests pass a fake stream). */
export interface WatchLoopClient {
  request<T = unknown>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  watch<T>(
    path: string,
    query: RequestOptions['query'],
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/** Time and randomness of the loop, injectable for tests. */
export interface WatchLoopClock {
  /** Milliseconds since some epoch (only differences are used). */
  now(): number;
  /** Waits `ms` milliseconds, or until `signal` aborts (then resolves early). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** A number in [0, 1). */
  random(): number;
}

/**
 * The real clock: Date.now, setTimeout, Math.random. The retry timer is deliberately not unref'd:
 * while the API server is down, a waiting watch loop may be the only thing left on the event loop,
 * and the process must wait for the server, not exit quietly with code 0. stop() clears it.
 */
export const realClock: WatchLoopClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
  random: () => Math.random(),
};

/** One change the loop reports. */
export interface WatchLoopEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /**
   * The object, with apiVersion and kind set. For a DELETED found by a re-list (the object vanished
   * while the watch was down) only `metadata.name` and `metadata.namespace` are known.
   */
  object: KubeObject;
  /** True when the event comes from a (re-)list rather than from the watch stream. */
  listed: boolean;
}

/** Options of a {@link WatchLoop}. */
export interface WatchLoopOptions {
  /** Collection path, e.g. `/apis/argoproj.io/v1alpha1/applications`. */
  path: string;
  /** Stamped on objects that lack it (list items do). */
  apiVersion: string;
  /** Stamped on objects that lack it; default: the list's kind without its `List` suffix. */
  kind?: string;
  /** Label selector of the list and the watch; empty for every object. */
  labelSelector?: string;
  /** Receives each change; it must not block (enqueue and return). A throw is reported, not fatal. */
  onEvent: (e: WatchLoopEvent) => void;
  /** A failed list or watch that will be retried after `retryInMs` (failures counts consecutive ones). */
  onError?: (err: unknown, failures: number, retryInMs: number) => void;
  /** The loop works again after `failures` consecutive failures. */
  onRecovered?: (failures: number) => void;
  /** Called synchronously after each complete (re-)list, before its watch starts. */
  onListed?: () => void;
  /** `onEvent` threw (the event is dropped; the loop goes on). */
  onHandlerError?: (err: unknown) => void;
  /** Objects per list page (default 500). */
  pageSize?: number;
  /** First retry delay in ms (default 500). */
  baseDelayMs?: number;
  /** Largest retry delay in ms (default 30000). */
  maxDelayMs?: number;
  /** Server-side lifetime of one watch request, in s (default 300 plus up to 60 of jitter). */
  watchTimeoutSeconds?: number;
  clock?: WatchLoopClock;
}

/**
 * Delay before retry number `failures` (>= 1), in ms: exponential `base * 2^(failures-1)` capped at
 * `max`, with "equal jitter" (between half and all of it) so that replicas and resource types that
 * failed together do not retry together.
 */
export function watchRetryDelayMs(failures: number, baseMs: number, maxMs: number, random: number): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(d / 2 + (random * d) / 2);
}

/** True for `410 Gone` (the resourceVersion to resume from is too old): re-list. */
export function isGone(err: unknown): boolean {
  return (
    err instanceof KubeApiError && (err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone')
  );
}

/** A watch that ends this soon without any event counts as a failure (no tight reconnect loop), ms. */
const EARLY_CLOSE_MS = 1000;

interface ListPage {
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

interface Status {
  code?: number;
  reason?: string;
  message?: string;
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
const keyOf = (o: KubeObject): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');

/** A list-then-watch loop (see the module comment). */
export class WatchLoop {
  private keys = new Set<string>();
  private resourceVersion = '';
  private failures = 0;
  private readonly abort = new AbortController();
  private readonly clock: WatchLoopClock;
  private running?: Promise<void>;
  private kind: string;

  constructor(
    private readonly client: WatchLoopClient,
    private readonly opts: WatchLoopOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.kind = opts.kind ?? '';
  }

  /** Number of objects the loop knows of. */
  get size(): number {
    return this.keys.size;
  }

  /**
   * Starts the loop; resolves after the first successful list (its objects are reported as ADDED
   * before that). With `failFast`, a failed first list rejects (and stops the loop) instead of being
   * retried with backoff.
   * @throws the first list's error, with `failFast` only.
   */
  start(failFast = false): Promise<void> {
    if (this.running) throw new Error(`watch loop of ${this.opts.path} already started`);
    let listed!: () => void;
    let failed!: (err: unknown) => void;
    const first = new Promise<void>((resolve, reject) => {
      listed = resolve;
      failed = reject;
    });
    this.running = this.run(listed, failFast ? failed : undefined);
    // A stop() before the first list must not leave start() pending forever.
    this.abort.signal.addEventListener('abort', () => listed(), { once: true });
    return first;
  }

  /** Stops the loop and closes its watch. */
  stop(): void {
    this.abort.abort();
  }

  /** Resolves when the loop has ended (after stop(), or a failFast first list that failed). */
  async done(): Promise<void> {
    await this.running;
  }

  private async run(listed: () => void, failFirst?: (err: unknown) => void): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) {
          await this.list();
          this.opts.onListed?.();
          listed();
          failFirst = undefined;
          this.recovered();
        }
        await this.watchOnce();
      } catch (err) {
        if (signal.aborted) return;
        if (failFirst) {
          failFirst(err); // rejects start() before the abort below could resolve it
          this.abort.abort();
          return;
        }
        if (isGone(err)) {
          // Too old to resume: list again now (no backoff; the list gives a fresh resourceVersion).
          this.resourceVersion = '';
          continue;
        }
        this.failures++;
        const delay = watchRetryDelayMs(
          this.failures,
          this.opts.baseDelayMs ?? 500,
          this.opts.maxDelayMs ?? 30_000,
          this.clock.random(),
        );
        this.opts.onError?.(err, this.failures, delay);
        await this.clock.sleep(delay, signal);
      }
    }
  }

  private recovered(): void {
    if (this.failures === 0) return;
    const n = this.failures;
    this.failures = 0;
    this.opts.onRecovered?.(n);
  }

  private emit(e: WatchLoopEvent): void {
    e.object.apiVersion ||= this.opts.apiVersion;
    e.object.kind ||= this.kind;
    try {
      this.opts.onEvent(e);
    } catch (err) {
      this.opts.onHandlerError?.(err);
    }
  }

  /** Lists every object in pages; reports each as ADDED and the ones that vanished as DELETED. */
  private async list(): Promise<void> {
    const seen = new Set<string>();
    let rv = '';
    let cont: string | undefined;
    do {
      const page = await this.listPage(cont);
      // Every page of one list is served at the first page's resourceVersion.
      rv ||= page.metadata?.resourceVersion ?? '';
      for (const item of page.items ?? []) {
        seen.add(keyOf(item));
        this.emit({ type: 'ADDED', object: item, listed: true });
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
    this.reportVanished(seen);
    this.keys = seen;
    if (!rv) throw new KubeApiError(0, 'InvalidList', `list of ${this.opts.path} has no resourceVersion`);
    this.resourceVersion = rv;
  }

  private async listPage(cont: string | undefined): Promise<ListPage> {
    const page = await this.client.request<ListPage>('GET', this.opts.path, {
      query: {
        labelSelector: this.opts.labelSelector || undefined,
        limit: this.opts.pageSize ?? 500,
        continue: cont,
      },
      signal: this.abort.signal,
    });
    if (!this.kind && page.kind?.endsWith('List')) this.kind = page.kind.slice(0, -'List'.length);
    return page;
  }

  /** Reports as DELETED every known key a re-list did not return (deleted while the watch was down). */
  private reportVanished(seen: Set<string>): void {
    for (const key of this.keys) {
      if (seen.has(key)) continue;
      const [namespace, name] = key.includes('/') ? key.split('/', 2) : [undefined, key];
      const object = { apiVersion: '', kind: '', metadata: { name, namespace } };
      this.emit({ type: 'DELETED', object, listed: true });
    }
  }

  /**
   * Watches from the last resourceVersion until the stream ends.
   * @throws KubeApiError (410 Gone included) or the stream's error; an early close without events.
   */
  private async watchOnce(): Promise<void> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(this.clock.random() * 60);
    // A per-attempt abort: an ERROR event closes this stream; a server that stops answering without
    // closing the connection is cut off shortly after the watch's own timeout.
    const attempt = new AbortController();
    const signal = AbortSignal.any([
      this.abort.signal,
      attempt.signal,
      AbortSignal.timeout((timeoutSeconds + 30) * 1000),
    ]);
    const startedAt = this.clock.now();
    let events = 0;
    let error: KubeApiError | undefined;
    await this.client.watch<KubeObject | Status>(
      this.opts.path,
      {
        labelSelector: this.opts.labelSelector || undefined,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (e) => {
        if (error) return;
        events++;
        if (e.type === 'ERROR') {
          const s = e.object as Status;
          error = new KubeApiError(s.code ?? 500, s.reason ?? 'WatchError', s.message ?? 'watch ERROR event');
          attempt.abort();
          return;
        }
        const obj = e.object as KubeObject;
        this.resourceVersion = obj.metadata.resourceVersion || this.resourceVersion;
        if (e.type === 'BOOKMARK') return;
        if (e.type === 'DELETED') this.keys.delete(keyOf(obj));
        else this.keys.add(keyOf(obj));
        this.emit({ type: e.type, object: obj, listed: false });
      },
      signal,
    );
    if (error) throw error;
    if (this.abort.signal.aborted) return;
    if (events > 0) this.recovered();
    else if (this.clock.now() - startedAt < EARLY_CLOSE_MS)
      throw new KubeApiError(0, 'WatchClosed', `watch of ${this.opts.path} closed at once without an event`);
  }
}
