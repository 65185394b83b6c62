/**
 * Child processes of the test harness (etcd, kube-apiserver, git daemon, ...): each is started with
 * its output in a log file, remembered by PID and stopped by that PID, never by name, so that two
 * test runs on one machine never kill each other's processes. If the test runner itself exits or is
 * interrupted, an exit hook kills every process still running, so nothing leaks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { FatalWaitError } from './wait';

/** How long a process gets between SIGTERM and SIGKILL, in milliseconds (ms). */
const DEFAULT_GRACE_MS = 5000;

/** Thrown when a harness process exits while it should be running; carries its log tail. */
export class ProcessExitedError extends FatalWaitError {
  override name = 'ProcessExitedError';
}

/** How to start a {@link ManagedProcess}. */
export interface StartOptions {
  /** Short name for messages ("kube-apiserver"). */
  name: string;
  /** Executable path. */
  command: string;
  /** Arguments. */
  args: string[];
  /** File that receives stdout and stderr. */
  logPath: string;
  /** Working directory. */
  cwd?: string;
  /** Environment; default: the test runner's. */
  env?: NodeJS.ProcessEnv;
}

/** A child process owned by the harness, stopped by its PID. */
export class ManagedProcess {
  /** Exit code, or `null` while running or when killed by a signal. */
  exitCode: number | null = null;
  /** The signal that ended the process, if any. */
  exitSignal: NodeJS.Signals | null = null;
  /** True once the process has exited (and been reaped). */
  exited = false;
  /** Operating-system process id. */
  readonly pid: number;
  /** Short name for messages. */
  readonly name: string;
  /** File that receives stdout and stderr. */
  readonly logPath: string;
  private readonly exitPromise: Promise<void>;

  private constructor(opts: StartOptions, child: ChildProcess, pid: number) {
    this.name = opts.name;
    this.logPath = opts.logPath;
    this.pid = pid;
    this.exitPromise = new Promise<void>((resolve) => {
      const markExited = (code: number | null, sig: NodeJS.Signals | null): void => {
        this.exitCode = code;
        this.exitSignal = sig;
        this.exited = true;
        live.delete(this);
        updateExitHooks();
        resolve();
      };
      child.once('exit', markExited);
      child.once('error', () => markExited(null, null));
    });
    live.add(this);
    updateExitHooks();
  }

  /**
   * Spawns a process with stdout and stderr appended to `opts.logPath`.
   * @param opts - name, command, arguments, log file.
   * @returns the running process.
   * @throws Error when the executable is missing or cannot be spawned.
   */
  static start(opts: StartOptions): ManagedProcess {
    if (!isExecutable(opts.command))
      throw new Error(`cannot start ${opts.name}: ${opts.command} is not executable`);
    const fd = fs.openSync(opts.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd); // the child holds its own copy of the descriptor
    }
    if (child.pid === undefined) {
      child.once('error', () => undefined); // reported by the throw below, not as an unhandled event
      throw new Error(`cannot start ${opts.name} (${opts.command})`);
    }
    // Unreferenced: a forgotten process must not keep the test runner alive; the runner's exit hook
    // then kills it (see killEverything).
    child.unref();
    return new ManagedProcess(opts, child, child.pid);
  }

  /**
   * The last lines of the process's log.
   * @param lines - how many lines; default 40.
   * @returns the tail, or a note when the log cannot be read.
   */
  tail(lines = 40): string {
    return tailFile(this.logPath, lines);
  }

  /**
   * Throws when the process has exited; called while waiting for readiness so that a crash fails
   * the start at once, with the reason, instead of after a timeout.
   * @throws ProcessExitedError with the exit status and the log tail.
   */
  assertRunning(): void {
    if (!this.exited) return;
    const how = this.exitSignal ? `signal ${this.exitSignal}` : `code ${String(this.exitCode)}`;
    throw new ProcessExitedError(
      `${this.name} (pid ${this.pid}) exited early with ${how}; last log lines (${this.logPath}):\n${this.tail()}`,
    );
  }

  /**
   * Stops the process: SIGTERM, then SIGKILL when it is still alive after `graceMs`.
   * @param graceMs - time between SIGTERM and SIGKILL, in ms; default 5000.
   * @returns once the process has exited and been reaped.
   */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    if (this.exited) return;
    signal(this.pid, 'SIGTERM');
    // A process frozen by a fault test (SIGSTOP) only handles SIGTERM once it runs again.
    signal(this.pid, 'SIGCONT');
    // The grace timer is cancelled once the process exits, so it does not hold the runner open.
    const grace = new AbortController();
    const timer = sleep(graceMs, 'timeout' as const, { signal: grace.signal }).catch(() => 'exited' as const);
    const first = await Promise.race([this.exitPromise.then(() => 'exited' as const), timer]);
    grace.abort();
    if (first === 'timeout') {
      signal(this.pid, 'SIGKILL');
      // Poll instead of awaiting exitPromise alone: the child is unreferenced, and a pending
      // timer keeps the event loop alive until its exit is seen.
      while (!this.exited) await sleep(20);
    }
  }

  /**
   * Sends one signal to the process by its PID, for fault injection: `SIGKILL` (a crash),
   * `SIGSTOP`/`SIGCONT` (a freeze and a thaw), `SIGTERM` (a graceful stop without the SIGKILL
   * fallback of {@link stop}). Does nothing once the process has exited.
   * @param sig - the signal.
   * @returns for SIGKILL, once the process has exited and been reaped; for other signals, at once
   *   (use {@link waitForExit} to wait for an exit after SIGTERM).
   */
  async kill(sig: NodeJS.Signals): Promise<void> {
    if (this.exited) return;
    signal(this.pid, sig);
    if (sig === 'SIGKILL') await this.waitForExit();
  }

  /**
   * Waits until the process has exited and been reaped.
   * @param timeoutMs - give up after this many ms; default: wait as long as it takes.
   * @throws Error naming the process when it still runs after `timeoutMs`.
   */
  async waitForExit(timeoutMs = Infinity): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Polls instead of awaiting exitPromise alone: the child is unreferenced (see start()).
    while (!this.exited) {
      if (Date.now() >= deadline)
        throw new Error(`${this.name} (pid ${this.pid}) still runs after ${timeoutMs} ms`);
      await sleep(20);
    }
  }
}

/** True for an absolute path to an executable file, or a bare name (resolved through PATH). */
function isExecutable(command: string): boolean {
  if (!command.includes('/')) return true;
  try {
    fs.accessSync(command, fs.constants.X_OK);
    return fs.statSync(command).isFile();
  } catch {
    return false;
  }
}

/** Sends a signal to one PID, ignoring "no such process" (it already exited). */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * True when a process with this PID runs. A zombie (killed, not yet reaped by its new parent after
 * the runner died) counts as gone.
 * @param pid - process id.
 * @returns whether the PID is alive.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** Reads the state field of /proc/<pid>/stat (Linux); false where /proc is unavailable. */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/**
 * The last lines of a text file, reading only its end (control plane logs grow to megabytes).
 * @param file - path.
 * @param lines - how many lines.
 * @returns the tail, or a note when the file cannot be read.
 */
export function tailFile(file: string, lines: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      return buf
        .toString('utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
}

/**
 * Free TCP ports on 127.0.0.1, asked from the kernel (`listen(0)`). All listeners are held open
 * until every port is known, so one call never returns the same port twice.
 * @param count - how many ports.
 * @returns the port numbers.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenAnyPort()));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A server listening on a kernel-chosen port of 127.0.0.1. */
function listenAnyPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Resolves true when a TCP connection to 127.0.0.1:port succeeds, false otherwise.
 * @param port - TCP port.
 * @returns whether something accepts connections there.
 */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// ---- exit hooks: nothing leaks when the test runner dies ----

/** Processes started and not yet exited. */
const live = new Set<ManagedProcess>();
/** Synchronous clean-ups (for example removing a temp dir) to run when the runner exits. */
const exitCleanups = new Set<() => void>();
let hooksInstalled = false;

/**
 * Registers a synchronous clean-up to run if the test runner exits before the owner stops.
 * @param fn - the clean-up; must be synchronous (it may run in an 'exit' handler).
 * @returns a function that unregisters it.
 */
export function onRunnerExit(fn: () => void): () => void {
  exitCleanups.add(fn);
  updateExitHooks();
  return () => {
    exitCleanups.delete(fn);
    updateExitHooks();
  };
}

/** Kills every live process (SIGKILL: an 'exit' handler cannot wait) and runs clean-ups. */
function killEverything(): void {
  for (const proc of live) signal(proc.pid, 'SIGKILL');
  for (const fn of exitCleanups) {
    try {
      fn();
    } catch {
      // best effort while exiting
    }
  }
}

/** On SIGINT/SIGTERM: clean up, then exit with the conventional 128 + signal number. */
function onSignal(sig: NodeJS.Signals): void {
  killEverything();
  process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
}

/**
 * Installs the hooks while there is something to clean up and removes them afterwards, so that
 * a test process without live children keeps Node's default signal behaviour.
 */
function updateExitHooks(): void {
  const needed = live.size > 0 || exitCleanups.size > 0;
  if (needed === hooksInstalled) return;
  hooksInstalled = needed;
  if (needed) {
    process.on('exit', killEverything);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  } else {
    process.off('exit', killEverything);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
