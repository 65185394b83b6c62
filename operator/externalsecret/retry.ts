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
  private readonly releasedAt = new Map<string, number>();

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
   * Records a failure and returns the delay before the next attempt: none when the key was released
   * while the failed attempt ran (its store became ready meanwhile), else `delay(failures)`.
   * @param delay - maps the consecutive failure count (1, 2, ...) to a delay in ms.
   * @param startedAt - when the failed attempt started (default `now`).
   */
  fail(
    key: string,
    version: string,
    now: number,
    delay: (failures: number) => number,
    startedAt = now,
  ): number {
    const failures = (this.state.get(key)?.failures ?? 0) + 1;
    const ms = (this.releasedAt.get(key) ?? -Infinity) >= startedAt ? 0 : delay(failures);
    this.releasedAt.delete(key);
    this.state.set(key, { failures, notBefore: now + ms, version });
    return ms;
  }

  /** Consecutive failures of the key (0 after a success). */
  failures(key: string): number {
    return this.state.get(key)?.failures ?? 0;
  }

  /**
   * Lets the key run now (its store changed) while keeping its failure count for the next backoff; an
   * attempt already running when this is called is not gated by its failure.
   * @param now - epoch ms.
   */
  release(key: string, now: number): void {
    const s = this.state.get(key);
    if (s) s.notBefore = 0;
    this.releasedAt.set(key, now);
    if (this.releasedAt.size > 10_000) this.releasedAt.delete(this.releasedAt.keys().next().value as string);
  }

  /** Forgets the key (success or deletion). */
  forget(key: string): void {
    this.state.delete(key);
    this.releasedAt.delete(key);
  }
}
