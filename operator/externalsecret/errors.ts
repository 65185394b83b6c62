/**
 * The one error type of an ExternalSecret sync: a summary (ESO's condition message, e.g. "could not get
 * secret data from provider") and a detail naming the field, key, store or object, never a value.
 * `retryable` chooses the retry pace: exponential backoff for transient failures (provider outage,
 * API errors), the longest bound (the refresh interval) for failures only a change fixes.
 */
import { KubeApiError } from '../kube/client';
import { InvalidStoreError, NoSecretError, ProviderError } from '../providers';
import { TemplateError } from '../templates';
import { RewriteError } from './rewrite';

/** Longest detail kept from a foreign error message (API server and provider messages can be long). */
const MAX_DETAIL = 400;

/** A failed sync step; its message is `<summary>: <detail>`. */
export class SyncError extends Error {
  override name = 'SyncError';
  /**
   * @param summary - ESO's condition message for the step.
   * @param detail - what failed, naming fields/keys/objects.
   * @param retryable - whether backing off and retrying can help without a change.
   */
  constructor(
    readonly summary: string,
    readonly detail: string,
    readonly retryable = false,
  ) {
    super(`${summary}: ${detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}...` : detail}`);
  }
}

/** Whether an error from a provider, a template or the API server is worth retrying with backoff. */
export function isTransient(err: unknown): boolean {
  if (err instanceof SyncError) return err.retryable;
  if (err instanceof ProviderError) return err.retryable;
  if (err instanceof NoSecretError) return true; // the key may come back; retried with backoff
  if (err instanceof InvalidStoreError || err instanceof TemplateError || err instanceof RewriteError)
    return false;
  if (err instanceof KubeApiError)
    return err.status === 0 || err.status === 409 || err.status === 429 || err.status >= 500;
  return true;
}

/**
 * Wraps anything thrown by a step in a SyncError (a SyncError passes through).
 * @param summary - the step's condition message.
 * @param prefix - names the field or object the step worked on, e.g. `spec.data[0]`.
 */
export function asSyncError(err: unknown, summary: string, prefix?: string): SyncError {
  if (err instanceof SyncError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new SyncError(summary, prefix ? `${prefix}: ${text}` : text, isTransient(err));
}
