/**
 * Runs a rendering tool (`helm`, `kubectl kustomize`) as a child process, as Argo CD does: the real
 * binary, never a re-implementation, with a timeout, and its stderr carried into the error.
 */
import { spawn } from 'node:child_process';
import { CEILINGS, DEFAULT_MAX_MANIFEST_BYTES, ceilingMessage } from '../common/limits';
import { CeilingError, RenderError } from './errors';

/** Default time one tool invocation may take (Argo CD's repo-server default exec timeout is 90 s). */
export const DEFAULT_TOOL_TIMEOUT_MS = 90_000;

/** Longest stderr excerpt put into an error message, in characters. */
const MAX_STDERR_CHARS = 4000;

/** Stderr bytes kept from a tool (the head: helm and kustomize print the error first). */
const MAX_STDERR_BYTES = 64 * 1024;

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
  /**
   * Largest stdout accepted, in bytes (default 32 MiB, `--max-manifest-bytes`). The tool is killed as soon
   * as its output passes this, so capstan never holds more than this much of it.
   */
  maxOutputBytes?: number;
}

/** How a run ended, before it is turned into a result or an error. */
interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `spawn` failed (ENOENT, EACCES). */
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
  tooLarge: boolean;
}

/**
 * Runs a tool and returns its stdout.
 * @param run - binary, arguments, cwd, environment, timeout, output ceiling.
 * @returns stdout (UTF-8).
 * @throws RenderError `<what> failed: <stderr>` when the tool exits non-zero (terminal); `<what> produced
 *   more than 32 MiB of manifests (the limit set by --max-manifest-bytes ...)` when stdout passes
 *   `maxOutputBytes` (terminal: the tool is killed at that point); `<what> timed out after 90s` or
 *   `<what>: cannot run "<binary>"` with `retryable: true`.
 */
export function runTool(run: ToolRun): Promise<string> {
  const maxOutputBytes = run.maxOutputBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    const outcome: Outcome = { code: null, signal: null, timedOut: false, tooLarge: false };
    const child = spawn(run.binary, run.args, {
      cwd: run.cwd,
      env: run.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      outcome.timedOut = true;
      child.kill('SIGKILL');
    }, run.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (outcome.tooLarge) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutputBytes) {
        // Stop here: drop what was read and kill the tool rather than buffer the rest of its output.
        outcome.tooLarge = true;
        stdout.length = 0;
        child.kill('SIGKILL');
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes >= MAX_STDERR_BYTES) return;
      stderr.push(chunk.subarray(0, MAX_STDERR_BYTES - stderrBytes));
      stderrBytes += chunk.length;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      outcome.spawnError = err;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      outcome.code = code;
      outcome.signal = signal;
      const err = toolError(run, outcome, Buffer.concat(stderr).toString('utf8'), maxOutputBytes);
      if (err) reject(err);
      else resolve(Buffer.concat(stdout).toString('utf8'));
    });
  });
}

/** The error of a finished run, or undefined when it succeeded. */
function toolError(
  run: ToolRun,
  o: Outcome,
  stderr: string,
  maxOutputBytes: number,
): RenderError | undefined {
  if (o.tooLarge) {
    return new CeilingError(ceilingMessage(`${run.what} produced`, CEILINGS.manifestBytes, maxOutputBytes));
  }
  if (o.timedOut) {
    const after = run.timeoutMs < 1000 ? `${run.timeoutMs}ms` : `${Math.round(run.timeoutMs / 100) / 10}s`;
    return new RenderError(`${run.what} timed out after ${after}`, { retryable: true });
  }
  if (o.spawnError && typeof o.spawnError.code === 'string') {
    // ENOENT / EACCES: the binary is missing or not executable; an installation problem, not the input's.
    return new RenderError(`${run.what}: cannot run "${run.binary}" (${o.spawnError.code})`, {
      retryable: true,
      cause: o.spawnError,
    });
  }
  if (o.signal) return new RenderError(`${run.what} was killed by ${o.signal}`, { retryable: true });
  if (o.code === 0 && !o.spawnError) return undefined;
  const detail = trimStderr(stderr) || o.spawnError?.message || `exit code ${o.code}`;
  return new RenderError(`${run.what} failed: ${detail}`, { cause: o.spawnError });
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
