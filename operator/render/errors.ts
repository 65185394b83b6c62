/**
 * The one error type of rendering. A render error is almost always a property of the commit and the
 * source parameters (bad YAML, a template that fails, a missing value file), so it is terminal for that
 * input: callers report it on the Application (`ComparisonError`, as Argo CD) and do not retry until the
 * commit or the spec changes. The exceptions (a tool that timed out or could not be started) carry
 * `retryable: true`.
 */

/** Rendering failed; the message names the file (and line or document) or carries the tool's stderr. */
export class RenderError extends Error {
  override name = 'RenderError';
  /** True when the same input may render on a later attempt (timeouts, a tool that failed to start). */
  readonly retryable: boolean;

  /**
   * @param message - a sentence a person can act on: `deploy.yaml: document 2 has no kind`.
   * @param options - `retryable` (default false) and the underlying `cause`.
   */
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/**
 * Rendering hit a resource ceiling (`--max-manifest-bytes`, `--max-objects`): terminal for the input, and
 * never mistaken for a file that merely is not a manifest. The message names the ceiling and its flag.
 */
export class CeilingError extends RenderError {
  override name = 'CeilingError';
}
