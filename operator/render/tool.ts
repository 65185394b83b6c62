/**
 * Runs a rendering tool (`helm`, `kubectl kustomize`) as a child process, as Argo CD does: the real
 * binary, never a re-implementation, with a timeout, and its stderr carried into the error.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { RenderError } from './errors';

/** Default time one tool invocation may take (Argo CD's repo-server default exec timeout is 90 s). */
export const DEFAULT_TOOL_TIMEOUT_MS = 90_000;

/** Largest stdout a tool may produce (big charts render tens of MB; Node's default of 1 MB is too small). */
const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

/** Longest stderr excerpt put into an error message, in characters. */
const MAX_STDERR_CHARS = 4000;

/** One tool invocation. */
export interface ToolRun {
  /** Executable path or name looked up on PATH. */
  binary: string;
  args: string[];
  /** Working directory. */
  cwd: string;
  /** The complete environment of the child (nothing else is inherited). */
  env: NodeJS.ProcessEnv;
  /** Kill the tool after this many milliseconds. */
  timeoutMs: number;
  /** What is being done, for messages: `helm template`. */
  what: string;
}

/**
 * Runs a tool and returns its stdout.
 * @param run - binary, arguments, cwd, environment, timeout.
 * @returns stdout (UTF-8).
 * @throws RenderError `<what> failed: <stderr>` when the tool exits non-zero (terminal); `<what> timed out
 *   after 90s` or `<what>: cannot run "<binary>"` with `retryable: true`.
 */
export function runTool(run: ToolRun): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      run.binary,
      run.args,
      { cwd: run.cwd, env: run.env, timeout: run.timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(toolError(run, err, stderr));
        else resolve(stdout);
      },
    );
  });
}

function toolError(run: ToolRun, err: ExecFileException, stderr: string): RenderError {
  if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
    return new RenderError(`${run.what} produced more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MB`, {
      cause: err,
    });
  }
  if (err.killed) {
    const after = run.timeoutMs < 1000 ? `${run.timeoutMs}ms` : `${Math.round(run.timeoutMs / 100) / 10}s`;
    return new RenderError(`${run.what} timed out after ${after}`, { retryable: true, cause: err });
  }
  if (err.signal) {
    return new RenderError(`${run.what} was killed by ${err.signal}`, { retryable: true, cause: err });
  }
  if (typeof err.code === 'string') {
    // ENOENT / EACCES: the binary is missing or not executable; an installation problem, not the input's.
    return new RenderError(`${run.what}: cannot run "${run.binary}" (${err.code})`, {
      retryable: true,
      cause: err,
    });
  }
  const detail = trimStderr(stderr) || err.message.trim();
  return new RenderError(`${run.what} failed: ${detail}`, { cause: err });
}

/** The useful part of a tool's stderr: trimmed, `Error: ` prefixes dropped, bounded in length. */
export function trimStderr(stderr: string): string {
  const text = stderr
    .split('\n')
    .map((line) => line.replace(/^Error: /, '').trimEnd())
    .filter((line) => line !== '')
    .join('\n')
    .trim();
  return text.length > MAX_STDERR_CHARS ? `${text.slice(0, MAX_STDERR_CHARS)}…` : text;
}
