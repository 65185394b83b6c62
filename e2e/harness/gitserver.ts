/**
 * A real git server for end-to-end tests: `git daemon` serving bare repositories over `git://` on
 * 127.0.0.1, plus a working clone per repository through which tests commit, tag and branch. The
 * clone pushes to the bare repository by file path, so the daemon never needs write access; capstan
 * reads through the daemon URL exactly as it would read a remote.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { freePorts, ManagedProcess, onRunnerExit, portAccepts, ProcessExitedError } from './process';
import { waitFor } from './wait';

const execFileAsync = promisify(execFile);

/** Options of {@link startGitServer}. */
export interface GitServerOptions {
  /** Parent of the fresh temp dir of this server; default: the OS temp dir. */
  workDir?: string;
  /** Keep the temp dir after stop(); default: env `CAPSTAN_KEEP_TMP=1`. */
  keepDir?: boolean;
}

/** A running git daemon. */
export interface GitServer {
  /** `git://127.0.0.1:<port>`; a repository's URL is `<baseUrl>/<name>.git`. */
  baseUrl: string;
  /** Temp dir: `repos/` (bare, served), `work/` (clones), `git-daemon.log`. */
  dir: string;
  /** PID of the current git daemon (a new one after {@link GitServer.start}). */
  readonly pid: number;
  /**
   * Creates a bare repository served by the daemon, with the files of `fixtureDir` as its first
   * commit on branch `main`.
   * @param name - repository name (letters, digits, `-`, `_`, `.`, `/`); `.git` is appended.
   * @param fixtureDir - folder copied recursively into the first commit.
   */
  createRepo(name: string, fixtureDir: string): Promise<GitRepo>;
  /**
   * Stops the daemon by PID (SIGTERM, SIGKILL after 5 s); idempotent. The repositories stay, so
   * that {@link GitServer.start} can serve them again (a git outage in a fault test); the temp dir
   * is removed when the test process exits (unless kept).
   */
  stop(): Promise<void>;
  /**
   * Serves again after {@link GitServer.stop}: a new daemon on the same port with the same
   * repositories, so repository URLs stay valid. Does nothing while the daemon runs.
   * @throws Error with the daemon's log tail when it does not listen within 15 s.
   */
  start(): Promise<void>;
}

/** A repository on a {@link GitServer} and the working clone tests change it through. */
export interface GitRepo {
  /** Daemon URL, `git://127.0.0.1:<port>/<name>.git`. */
  url: string;
  /** `file://` URL of the bare repository, for the fastest tests. */
  fileUrl: string;
  /** The working clone. */
  workDir: string;
  /**
   * Lets `mutate` change the working clone, commits everything (also when nothing changed) and
   * pushes the current branch.
   * @param message - commit message.
   * @param mutate - edits files under the given working dir.
   * @returns the new commit's SHA.
   */
  commit(message: string, mutate?: (workDir: string) => void | Promise<void>): Promise<string>;
  /** SHA of the working clone's HEAD. */
  headSha(): Promise<string>;
  /** Creates (or moves) the lightweight tag `name` to HEAD and pushes it. */
  tag(name: string): Promise<void>;
  /** Creates (or moves) branch `name` to HEAD and pushes it; the clone stays on its branch. */
  branch(name: string): Promise<void>;
  /** Switches the clone to branch `name` (created at HEAD if missing), so later commits go there. */
  checkout(name: string): Promise<void>;
}

/**
 * Git's environment for the harness: no system or user configuration (a developer's signing or
 * hook settings must not leak into tests) and never a prompt.
 */
const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
};

/**
 * Runs git and returns its trimmed stdout.
 * @param cwd - working directory.
 * @param args - git arguments.
 * @returns stdout without the trailing newline.
 * @throws Error with git's stderr when git fails.
 */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', args, { cwd, env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * Starts `git daemon` on a free loopback port and waits until it accepts connections.
 * @param opts - parent dir, keep-dir flag.
 * @returns the running server; call `stop()` when done.
 * @throws Error with the daemon's log tail when it exits early or does not listen within 15 s.
 */
export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const parent = opts.workDir ?? os.tmpdir();
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, 'capstan-git-'));
  const reposDir = path.join(dir, 'repos');
  fs.mkdirSync(reposDir);
  fs.mkdirSync(path.join(dir, 'work'));
  const keepDir = opts.keepDir ?? process.env.CAPSTAN_KEEP_TMP === '1';
  const removeDir = (): void => {
    if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
  };
  const forget = onRunnerExit(removeDir);
  const [port] = await freePorts(1);
  const execPath = await git(dir, '--exec-path');
  let daemon = startDaemon(dir, reposDir, port, execPath);
  await waitUntilListening(daemon, port).catch(async (err: unknown) => {
    await daemon.stop();
    forget();
    removeDir();
    throw err;
  });
  const baseUrl = `git://127.0.0.1:${port}`;
  return {
    baseUrl,
    dir,
    get pid() {
      return daemon.pid;
    },
    createRepo: (name, fixtureDir) => createRepo({ baseUrl, dir, reposDir }, name, fixtureDir),
    // The dir outlives stop() for start(); onRunnerExit (above) removes it when the process ends.
    stop: () => daemon.stop(),
    async start() {
      if (!daemon.exited) return;
      daemon = startDaemon(dir, reposDir, port, execPath);
      await waitUntilListening(daemon, port);
    },
  };
}

/**
 * Spawns the daemon: every repository under `reposDir` readable, and pushable (receive-pack). It
 * runs `git-daemon` from git's exec path directly: `git daemon` forks it as a child, which a
 * SIGKILL of the wrapper (the runner's exit hook) would orphan, still holding the port.
 */
function startDaemon(dir: string, reposDir: string, port: number, execPath: string): ManagedProcess {
  return ManagedProcess.start({
    name: 'git-daemon',
    command: path.join(execPath, 'git-daemon'),
    args: [
      '--export-all',
      `--base-path=${reposDir}`,
      `--port=${port}`,
      '--listen=127.0.0.1',
      '--reuseaddr',
      '--enable=receive-pack',
      '--informative-errors',
      '--verbose',
      reposDir,
    ],
    logPath: path.join(dir, 'git-daemon.log'),
    cwd: dir,
    env: GIT_ENV,
  });
}

/** Waits until the daemon's port accepts TCP connections. */
async function waitUntilListening(daemon: ManagedProcess, port: number): Promise<void> {
  try {
    await waitFor(
      async () => {
        daemon.assertRunning();
        return portAccepts(port);
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `git daemon on port ${port}` },
    );
  } catch (err) {
    if (err instanceof ProcessExitedError) throw err;
    throw new Error(`${(err as Error).message}\nlast log lines (${daemon.logPath}):\n${daemon.tail()}`);
  }
}

/** Where a server keeps things. */
interface ServerDirs {
  baseUrl: string;
  dir: string;
  reposDir: string;
}

/** Repository names stay inside the base path: no `..`, no absolute paths. */
const REPO_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** Creates the bare repository and its working clone, and commits the fixture. */
async function createRepo(server: ServerDirs, name: string, fixtureDir: string): Promise<GitRepo> {
  const base = name.replace(/\.git$/, '');
  if (!REPO_NAME.test(base) || base.split('/').includes('..'))
    throw new Error(`invalid repository name ${name}`);
  const bare = path.join(server.reposDir, `${base}.git`);
  const workDir = path.join(server.dir, 'work', base);
  if (fs.existsSync(bare)) throw new Error(`repository ${name} already exists`);
  fs.mkdirSync(bare, { recursive: true });
  fs.mkdirSync(workDir, { recursive: true });
  await git(bare, 'init', '--bare', '-b', 'main');
  await git(workDir, 'init', '-b', 'main');
  await configureClone(workDir, bare);
  const repo = gitRepo(`${server.baseUrl}/${base}.git`, `file://${bare}`, workDir);
  await repo.commit('Add fixture', (dir) => fs.cpSync(fixtureDir, dir, { recursive: true }));
  return repo;
}

/** Local identity and the bare repository (by path) as `origin`. */
async function configureClone(workDir: string, bare: string): Promise<void> {
  await git(workDir, 'config', 'user.name', 'capstan e2e');
  await git(workDir, 'config', 'user.email', 'e2e@capstan.invalid');
  await git(workDir, 'config', 'commit.gpgsign', 'false');
  await git(workDir, 'remote', 'add', 'origin', bare);
}

/** The {@link GitRepo} operations on a working clone. */
function gitRepo(url: string, fileUrl: string, workDir: string): GitRepo {
  const headSha = (): Promise<string> => git(workDir, 'rev-parse', 'HEAD');
  return {
    url,
    fileUrl,
    workDir,
    headSha,
    async commit(message, mutate) {
      if (mutate) await mutate(workDir);
      await git(workDir, 'add', '-A');
      await git(workDir, 'commit', '--allow-empty', '--no-verify', '-q', '-m', message);
      const current = await git(workDir, 'symbolic-ref', '--short', 'HEAD');
      await git(workDir, 'push', '-q', '--force', 'origin', `HEAD:refs/heads/${current}`);
      return headSha();
    },
    async tag(name) {
      await git(workDir, 'tag', '-f', name);
      await git(workDir, 'push', '-q', '--force', 'origin', `refs/tags/${name}`);
    },
    async branch(name) {
      // git refuses to force-move the checked-out branch; it is at HEAD already.
      const current = await git(workDir, 'symbolic-ref', '--short', 'HEAD');
      if (current !== name) await git(workDir, 'branch', '-f', name);
      await git(workDir, 'push', '-q', '--force', 'origin', `refs/heads/${name}`);
    },
    async checkout(name) {
      const exists = await git(workDir, 'branch', '--list', name);
      await git(workDir, 'checkout', '-q', ...(exists ? [name] : ['-b', name]));
    },
  };
}
