/**
 * Per-ExternalSecret retry pacing. A failed fetch (provider outage, deleted remote key, store not
 * ready) is retried with exponential backoff bounded by the refresh interval (`retryDelay`); until the
 * delay has passed, events that would otherwise re-run the fetch (a Secret event, a status write of
 * the store) only re-queue the key for later, so a failing secret never hammers its provider. A change
 * of the ExternalSecret itself (a new `syncedResourceVersion`) lifts the gate at once, and so does a
 * store becoming ready (`release`). Process memory only: a restart retries once at once.
 */

interface RetryState {
  failures: number;
  notBefore: number;
  version: string;
}

/** Failure counts and the earliest next attempt, per ExternalSecret key. */
export class RetryGate {
  private readonly state = new Map<string, RetryState>();

  /**
   * How long the key must still wait, or undefined when it may run now.
   * @param version - the ExternalSecret's current `syncedResourceVersion`; a different one than at the failure lifts the gate.
   * @param now - epoch ms.
   */
  blockedFor(key: string, version: string, now: number): number | undefined {
    const s = this.state.get(key);
    if (!s || s.version !== version || now >= s.notBefore) return undefined;
    return s.notBefore - now;
  }

  /**
   * Records a failure and returns the delay before the next attempt.
   * @param delay - maps the consecutive failure count (1, 2, ...) to a delay in ms.
   */
  fail(key: string, version: string, now: number, delay: (failures: number) => number): number {
    const failures = (this.state.get(key)?.failures ?? 0) + 1;
    const ms = delay(failures);
    this.state.set(key, { failures, notBefore: now + ms, version });
    return ms;
  }

  /** Consecutive failures of the key (0 after a success). */
  failures(key: string): number {
    return this.state.get(key)?.failures ?? 0;
  }

  /** Lets the key run now (its store changed) while keeping its failure count for the next backoff. */
  release(key: string): void {
    const s = this.state.get(key);
    if (s) s.notBefore = 0;
  }

  /** Forgets the key (success or deletion). */
  forget(key: string): void {
    this.state.delete(key);
  }
}
