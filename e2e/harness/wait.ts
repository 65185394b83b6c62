/**
 * Polling with a deadline, for end-to-end tests and the harness itself. A real cluster converges
 * asynchronously (controllers, kwok, capstan), so tests wait for a condition instead of sleeping.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this many milliseconds (ms). */
  timeoutMs: number;
  /** Pause between two attempts, in milliseconds (ms); default 250. */
  intervalMs?: number;
  /** What is awaited, in words, for the timeout message ("Deployment web to be Available"). */
  what: string;
}

/**
 * An error that stops {@link waitFor} at once instead of being retried: for failures that waiting
 * cannot fix, such as a control plane process that exited.
 */
export class FatalWaitError extends Error {
  override name = 'FatalWaitError';
}

/**
 * Calls `fn` until it returns a value other than `undefined` or `false`, and returns that value.
 * An error thrown by `fn` counts as "not yet" (a 404 before an object exists is normal) and is
 * reported in the timeout message, except a {@link FatalWaitError}, which is rethrown at once.
 * An attempt that hangs is cut off at the deadline.
 * @param fn - one attempt; returns the awaited value, or `undefined`/`false` when not there yet.
 * @param opts - deadline (ms), pause between attempts (ms) and a description for the message.
 * @returns the first value `fn` produced.
 * @throws Error naming `what`, the timeout and the last error, when the deadline passes.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const intervalMs = opts.intervalMs ?? 250;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await withDeadline(fn(), deadline);
      if (value !== undefined && value !== false && value !== TIMED_OUT) return value as T;
    } catch (err) {
      if (err instanceof FatalWaitError) throw err;
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(timeoutMessage(opts, lastError));
    await sleep(Math.min(intervalMs, left));
  }
}

/** Marker for an attempt cut off by the deadline. */
const TIMED_OUT = Symbol('timed out');

/** Resolves with the attempt's value, or with {@link TIMED_OUT} when the deadline comes first. */
async function withDeadline<T>(attempt: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([attempt, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** The timeout message: what, how long, and why the last attempt failed (if it threw). */
function timeoutMessage(opts: WaitOptions, lastError: unknown): string {
  const seconds = (opts.timeoutMs / 1000).toFixed(1);
  const why = lastError === undefined ? '' : `; last error: ${errorText(lastError)}`;
  return `timed out after ${seconds} s waiting for ${opts.what}${why}`;
}

/** A short text for any thrown value (client-node 0.20 throws `{ response, body }` objects). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'body' in err) {
    const body = (err as { body: unknown }).body;
    return typeof body === 'string' ? body : JSON.stringify(body);
  }
  return String(err);
}
