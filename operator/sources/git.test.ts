/**
 * GitRepoCache against real repositories made with the git CLI: file:// URLs for speed, and a `git daemon`
 * on 127.0.0.1 to exercise the remote listing and fetch over a real protocol.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fs, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CheckoutCeilingError, GitError, GitRepoCache, resolveFromRefs } from './git';
import { HttpGitServer, startHttpGit } from '../../e2e/harness/httpgit';

let tmp: string;
let work: string; // working repository where commits are made
let served: string; // directory holding bare repositories (daemon base path)
let bare: string; // the bare repository the cache reads
let fileURL: string;
let daemon: ChildProcess | undefined;
let daemonURL: string;
let closedPort: number;
let httpServer: HttpGitServer | undefined;
let httpBase: string; // http://127.0.0.1:<port>: smart HTTP over git http-backend, Basic auth alice:correct-horse

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...gitEnv, HOME: tmp }, encoding: 'utf8' }).trim();
}

/** Commits a file in the working repository and pushes main to the bare repository. */
async function commitFile(name: string, content: string): Promise<string> {
  await fs.mkdir(path.dirname(path.join(work, name)), { recursive: true });
  await fs.writeFile(path.join(work, name), content);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `update ${name}`);
  git(work, 'push', '-q', 'origin', 'main', '--tags');
  return git(work, 'rev-parse', 'HEAD');
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.end();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`git daemon did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let shaC1: string; // first commit (tagged v1 lightweight, v2 annotated)
let shaC2: string; // second commit, main's tip at the start

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'capstan-git-'));
  work = path.join(tmp, 'work');
  served = path.join(tmp, 'served');
  bare = path.join(served, 'repo.git');
  await fs.mkdir(work);
  await fs.mkdir(served);
  git(served, 'init', '-q', '--bare', '-b', 'main', bare);
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'remote', 'add', 'origin', bare);
  await fs.mkdir(path.join(work, 'dir'));
  await fs.writeFile(path.join(work, 'dir', 'b.yaml'), 'kind: ConfigMap\n');
  await fs.writeFile(path.join(work, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await fs.symlink('dir/b.yaml', path.join(work, 'link.yaml'));
  shaC1 = await commitFile('a.txt', 'one\n');
  git(work, 'tag', 'v1');
  git(work, 'tag', '-a', 'v2', '-m', 'annotated');
  git(work, 'push', '-q', 'origin', '--tags');
  shaC2 = await commitFile('a.txt', 'two\n');
  fileURL = `file://${bare}`;

  const port = await freePort();
  closedPort = await freePort();
  daemon = spawn(
    'git',
    [
      'daemon',
      '--export-all',
      '--reuseaddr',
      `--base-path=${served}`,
      `--port=${port}`,
      '--listen=127.0.0.1',
      served,
    ],
    { env: { ...gitEnv, HOME: tmp }, stdio: 'ignore' },
  );
  daemonURL = `git://127.0.0.1:${port}/repo.git`;
  await waitForPort(port, 10_000);
  httpServer = await startHttpGit({ root: served, home: tmp, username: 'alice', password: 'correct-horse' });
  httpBase = httpServer.baseUrl;
});

after(async () => {
  if (daemon?.pid) process.kill(daemon.pid, 'SIGTERM');
  await httpServer?.stop();
  // Snapshots are read-only: make them writable so the temp dir can be removed.
  execFileSync('chmod', ['-R', 'u+w', tmp]);
  await fs.rm(tmp, { recursive: true, force: true });
});

const newCache = (
  name: string,
  extra: Partial<ConstructorParameters<typeof GitRepoCache>[0]> = {},
): GitRepoCache => new GitRepoCache({ cacheDir: path.join(tmp, 'cache-' + name), ...extra });

describe('resolveRevision', () => {
  test('HEAD, empty and undefined resolve to the default branch', async () => {
    const cache = newCache('head');
    assert.equal(await cache.resolveRevision(fileURL, 'HEAD'), shaC2);
    assert.equal(await cache.resolveRevision(fileURL, ''), shaC2);
    assert.equal(await cache.resolveRevision(fileURL, undefined), shaC2);
    assert.equal(cache.stats.fetches, 0, 'names resolve by listing only');
    assert.equal(cache.stats.listings, 3);
  });

  test('with revisionCacheMs, one listing per repository and revision per interval; forget lists again', async () => {
    const cache = newCache('revcache', { revisionCacheMs: 60_000 });
    const both = await Promise.all([
      cache.resolveRevision(fileURL, 'main'),
      cache.resolveRevision(fileURL, 'main'),
    ]);
    assert.deepEqual(both, [shaC2, shaC2]);
    assert.equal(await cache.resolveRevision(fileURL, 'main'), shaC2);
    assert.equal(
      cache.stats.listings,
      1,
      'concurrent and later callers within the interval share one listing',
    );
    assert.equal(await cache.resolveRevision(fileURL, 'v1'), shaC1);
    assert.equal(cache.stats.listings, 2, 'another revision is another listing');
    cache.revisions.forget([fileURL]);
    assert.equal(await cache.resolveRevision(fileURL, 'main'), shaC2);
    assert.equal(cache.stats.listings, 3, 'an explicit refresh (forget) lists again');
  });

  test('branch, tags (annotated peeled to its commit) and full ref names', async () => {
    const cache = newCache('names');
    assert.equal(await cache.resolveRevision(fileURL, 'main'), shaC2);
    assert.equal(await cache.resolveRevision(fileURL, 'refs/heads/main'), shaC2);
    assert.equal(await cache.resolveRevision(fileURL, 'v1'), shaC1);
    assert.equal(await cache.resolveRevision(fileURL, 'v2'), shaC1);
    assert.equal(await cache.resolveRevision(fileURL, 'refs/tags/v2'), shaC1);
    assert.notEqual(git(work, 'rev-parse', 'v2'), shaC1, 'v2 really is an annotated tag object');
  });

  test('full SHA is checked and returned lower-cased; short SHA is expanded', async () => {
    const cache = newCache('sha');
    assert.equal(await cache.resolveRevision(fileURL, shaC1.toUpperCase()), shaC1);
    assert.equal(cache.stats.fetches, 1, 'an unknown SHA is fetched once');
    assert.equal(await cache.resolveRevision(fileURL, shaC2), shaC2);
    assert.equal(cache.stats.fetches, 1, 'a known SHA needs no fetch');
    assert.equal(await cache.resolveRevision(fileURL, shaC1.slice(0, 8)), shaC1);
  });

  test('unknown revisions are GitErrors naming the revision and the repository', async () => {
    const cache = newCache('unknown');
    await assert.rejects(cache.resolveRevision(fileURL, 'nope'), (err: unknown) => {
      assert.ok(err instanceof GitError);
      assert.equal(err.name, 'GitError');
      assert.equal(err.message, `revision "nope" not found in ${fileURL}`);
      return true;
    });
    await assert.rejects(cache.resolveRevision(fileURL, 'f'.repeat(40)), /commit f{40} not found in file:/);
    await assert.rejects(cache.resolveRevision(fileURL, 'abcdef1'), /revision "abcdef1" not found/);
  });

  test('over git://, the listing works and a missing repository is a GitError', async () => {
    const cache = newCache('daemon');
    assert.equal(await cache.resolveRevision(daemonURL, 'v2'), shaC1);
    await assert.rejects(
      cache.resolveRevision(daemonURL.replace('repo.git', 'missing.git'), 'HEAD'),
      (err: unknown) =>
        err instanceof GitError && err.message.startsWith('failed to list refs of git://127.0.0.1:'),
    );
  });

  test('an unreachable URL fails fast with a GitError without credentials', async () => {
    const cache = newCache('unreachable', { listTimeoutMs: 5_000 });
    const started = Date.now();
    await assert.rejects(
      cache.resolveRevision(`git://127.0.0.1:${closedPort}/missing.git`, 'HEAD'),
      (err: unknown) => {
        assert.ok(err instanceof GitError);
        assert.match(
          err.message,
          new RegExp(`^failed to list refs of git://127\\.0\\.0\\.1:${closedPort}/missing\\.git: .+`),
        );
        return true;
      },
    );
    await assert.rejects(
      cache.resolveRevision(`http://bob:s3cret@127.0.0.1:${closedPort}/x.git`, 'main'),
      (err: unknown) => {
        assert.ok(err instanceof GitError);
        assert.doesNotMatch(err.message, /s3cret|bob/);
        assert.match(err.message, new RegExp(`http://127\\.0\\.0\\.1:${closedPort}/x\\.git`));
        return true;
      },
    );
    assert.ok(Date.now() - started < 5_000, 'no hang');
  });

  test('a server that never answers times out, and the URL is not retried while the call hangs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `git://127.0.0.1:${(silent.address() as net.AddressInfo).port}/repo.git`;
    const cache = newCache('silent', { listTimeoutMs: 300 });
    try {
      await assert.rejects(
        cache.resolveRevision(url, 'main'),
        /^GitError: failed to list refs of git:.*: timed out after 300ms$/,
      );
      await assert.rejects(
        cache.resolveRevision(url, 'main'),
        /timed out and is still waiting for the server/,
      );
      assert.equal(sockets.length, 1, 'no second connection while the first one hangs');
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
    // Once the server hangs up, the hung call settles and the URL can be tried again.
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(
      cache.resolveRevision(url, 'main'),
      /^GitError: failed to list refs of git:.*: (?!.*still waiting)/,
    );
  });

  test('over smart HTTP with Basic auth: right credentials work, wrong ones fail after a few attempts', async () => {
    const cache = newCache('http');
    const url = `${httpBase}/repo.git`;
    const creds = { username: 'alice', password: 'correct-horse' };
    assert.equal(await cache.resolveRevision(url, 'v1', creds), shaC1);
    const dir = await cache.checkout(url, shaC1, creds);
    assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), 'one\n');

    await assert.rejects(cache.resolveRevision(url, 'main'), (err: unknown) => {
      assert.ok(err instanceof GitError);
      assert.equal(
        err.message,
        `failed to list refs of ${url}: the server requires credentials that are not configured (accepts: username/password)`,
      );
      return true;
    });
    const before = httpServer!.requests();
    await assert.rejects(
      cache.resolveRevision(url, 'main', { username: 'alice', password: 'wrong-password' }),
      (err: unknown) => {
        assert.ok(err instanceof GitError);
        assert.match(err.message, /authentication failed after 3 attempts/);
        assert.doesNotMatch(err.message, /wrong-password/);
        return true;
      },
    );
    const asked = httpServer!.requests() - before;
    assert.ok(asked <= 5, `libgit2 stopped asking (${asked} requests)`);
  });

  test('resolveFromRefs prefers a branch over a tag and peels annotated tags', () => {
    const refs = [
      { name: 'HEAD', oid: 'a'.repeat(40), symrefTarget: 'refs/heads/main' },
      { name: 'refs/heads/main', oid: 'a'.repeat(40), symrefTarget: '' },
      { name: 'refs/heads/x', oid: 'b'.repeat(40), symrefTarget: '' },
      { name: 'refs/tags/x', oid: 'c'.repeat(40), symrefTarget: '' },
      { name: 'refs/tags/t', oid: 'd'.repeat(40), symrefTarget: '' },
      { name: 'refs/tags/t^{}', oid: 'e'.repeat(40), symrefTarget: '' },
    ];
    assert.deepEqual(resolveFromRefs(refs, 'HEAD'), { ref: 'refs/heads/main', sha: 'a'.repeat(40) });
    assert.equal(resolveFromRefs(refs, 'x')?.sha, 'b'.repeat(40));
    assert.equal(resolveFromRefs(refs, 'refs/tags/x')?.sha, 'c'.repeat(40));
    assert.equal(resolveFromRefs(refs, 't')?.sha, 'e'.repeat(40));
    assert.equal(resolveFromRefs(refs, 't^{}'), undefined);
    assert.equal(resolveFromRefs(refs, 'y'), undefined);
  });
});

describe('checkout', () => {
  test('writes the tree: content, executable bit, symlink, read-only files', async () => {
    const cache = newCache('content');
    const dir = await cache.checkout(fileURL, shaC2);
    assert.ok(path.isAbsolute(dir));
    assert.equal(path.basename(dir), shaC2);
    assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), 'two\n');
    assert.equal(await fs.readFile(path.join(dir, 'dir', 'b.yaml'), 'utf8'), 'kind: ConfigMap\n');
    const link = await fs.lstat(path.join(dir, 'link.yaml'));
    assert.ok(link.isSymbolicLink());
    assert.equal(await fs.readlink(path.join(dir, 'link.yaml')), 'dir/b.yaml');
    assert.equal((await fs.stat(path.join(dir, 'run.sh'))).mode & 0o111, 0o111);
    assert.equal((await fs.stat(path.join(dir, 'a.txt'))).mode & 0o777, 0o444);
    assert.equal((await fs.stat(path.join(dir, 'dir'))).mode & 0o777, 0o555);
    await assert.rejects(
      fs.access(path.join(dir, '.git'), fsConstants.F_OK),
      'no repository metadata in a snapshot',
    );
    const old = await cache.checkout(fileURL, shaC1);
    assert.equal(await fs.readFile(path.join(old, 'a.txt'), 'utf8'), 'one\n');
    assert.equal(cache.stats.fetches, 1);
  });

  test('a new commit is seen by resolveRevision and fetched once; unchanged SHAs cause no fetch', async () => {
    const cache = newCache('update');
    const first = await cache.resolveRevision(daemonURL, 'main');
    await cache.checkout(daemonURL, first);
    assert.deepEqual(cache.stats, { fetches: 1, listings: 1 });

    assert.equal(await cache.resolveRevision(daemonURL, 'main'), first);
    await cache.checkout(daemonURL, first);
    assert.deepEqual(cache.stats, { fetches: 1, listings: 2 }, 'same SHA: listing only');

    const next = await commitFile('a.txt', 'three\n');
    assert.equal(await cache.resolveRevision(daemonURL, 'main'), next);
    const dir = await cache.checkout(daemonURL, next);
    assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), 'three\n');
    assert.deepEqual(cache.stats, { fetches: 2, listings: 3 });

    await cache.checkout(daemonURL, first);
    await cache.checkout(daemonURL, next);
    assert.equal(cache.stats.fetches, 2, 'known commits are not fetched again');
  });

  test('concurrent checkouts of one URL do not corrupt and fetch once', async () => {
    const cache = newCache('concurrent');
    const shas = [shaC1, shaC2, shaC1, shaC2, shaC1, shaC2];
    const dirs = await Promise.all(shas.map((sha) => cache.checkout(fileURL, sha)));
    for (const [i, dir] of dirs.entries()) {
      assert.equal(path.basename(dir), shas[i]);
      assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), shas[i] === shaC1 ? 'one\n' : 'two\n');
    }
    assert.equal(cache.stats.fetches, 1);
    const leftovers = await fs.readdir(path.join(path.dirname(dirs[0]), '..', 'tmp')).catch(() => []);
    assert.deepEqual(leftovers, [], 'no temporary snapshot left behind');
  });

  test('snapshots are reused by a new cache on the same directory and evicted beyond maxTrees', async () => {
    const first = newCache('evict');
    const c1 = await first.checkout(fileURL, shaC1);
    const second = newCache('evict', { maxTrees: 1, evictGraceMs: 0 });
    assert.equal(await second.checkout(fileURL, shaC1), c1);
    assert.equal(second.stats.fetches, 0, 'the clone and the snapshot survive a restart');
    const c2 = await second.checkout(fileURL, shaC2);
    await assert.rejects(fs.access(c1), 'least recently used snapshot evicted');
    await fs.access(c2);
  });

  test('a snapshot in its grace period is not evicted', async () => {
    const cache = newCache('grace', { maxTrees: 1 });
    const c1 = await cache.checkout(fileURL, shaC1);
    await cache.checkout(fileURL, shaC2);
    await fs.access(c1);
  });

  test('a ref outside branches and tags (refs/pull/N/head) resolves and its commit is fetched', async () => {
    const tree = git(work, 'rev-parse', `${shaC1}^{tree}`);
    const orphan = execFileSync('git', ['commit-tree', tree, '-m', 'pull request'], {
      cwd: work,
      env: { ...gitEnv, HOME: tmp },
      encoding: 'utf8',
    }).trim();
    git(work, 'push', '-q', 'origin', `${orphan}:refs/pull/1/head`);
    const cache = newCache('pull');
    assert.equal(await cache.resolveRevision(daemonURL, 'refs/pull/1/head'), orphan);
    const dir = await cache.checkout(daemonURL, orphan);
    assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), 'one\n');
  });

  test('a tree entry named .. or .git is refused', async () => {
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], {
      cwd: work,
      input: 'x',
      encoding: 'utf8',
    }).trim();
    const cache = newCache('unsafe');
    for (const [i, name] of ['..', '.GIT'].entries()) {
      const tree = execFileSync('git', ['mktree'], {
        cwd: work,
        input: `100644 blob ${blob}\t${name}\n`,
        encoding: 'utf8',
      }).trim();
      const commit = git(work, 'commit-tree', tree, '-m', 'evil');
      git(work, 'push', '-q', 'origin', `${commit}:refs/heads/evil-${i}`);
      const sha = await cache.resolveRevision(fileURL, `evil-${i}`);
      await assert.rejects(
        cache.checkout(fileURL, sha),
        new RegExp(`unsafe path in repository tree: "${name.replace('.', '\\.')}`),
      );
    }
    const trees = await fs
      .readdir(path.join(tmp, 'cache-unsafe'))
      .then((d) => fs.readdir(path.join(tmp, 'cache-unsafe', d[0], 'trees')));
    assert.deepEqual(trees, [], 'nothing half-written is left in trees/');
  });

  test('bad input and missing commits are GitErrors', async () => {
    const cache = newCache('bad');
    await assert.rejects(cache.checkout(fileURL, 'main'), /needs a full commit SHA, got "main"/);
    await assert.rejects(cache.checkout(fileURL, '0'.repeat(40)), GitError);
    await assert.rejects(
      cache.checkout(`file://${path.join(tmp, 'nothing.git')}`, shaC1),
      /failed to fetch file:/,
    );
  });
});

describe('checkout ceilings (--max-repo-files, --max-repo-bytes)', () => {
  // shaC2's tree: a.txt, dir/, dir/b.yaml, link.yaml, run.sh: 5 entries, 4 + 16 + 10 + 18 = 48 bytes.
  const trees = async (cacheName: string): Promise<string[]> => {
    const root = path.join(tmp, `cache-${cacheName}`);
    const [repoDir] = await fs.readdir(root);
    const list = async (sub: string) => fs.readdir(path.join(root, repoDir, sub)).catch(() => [] as string[]);
    return [...(await list('trees')), ...(await list('tmp'))];
  };

  test('a tree with more entries than maxFiles is refused before any blob is written', async () => {
    const cache = newCache('max-files', { checkoutLimits: { maxFiles: 4 } });
    await assert.rejects(cache.checkout(fileURL, shaC2), (err: unknown) => {
      assert.ok(err instanceof CheckoutCeilingError, String(err));
      assert.ok(err instanceof GitError);
      assert.equal(
        err.message,
        `the checkout of ${fileURL} at ${shaC2} has more than 4 files (the limit set by --max-repo-files; ` +
          'an operator can raise it)',
      );
      return true;
    });
    assert.deepEqual(await trees('max-files'), [], 'nothing left on disk');
    // The refusal is remembered: the same commit fails the same way without fetching again.
    await assert.rejects(cache.checkout(fileURL, shaC2), /more than 4 files/);
    assert.equal(cache.stats.fetches, 1);
    const ok = newCache('max-files-ok', { checkoutLimits: { maxFiles: 5 } });
    await ok.checkout(fileURL, shaC2);
  });

  test('a tree with more bytes than maxBytes is refused and nothing half-written stays', async () => {
    const cache = newCache('max-bytes', { checkoutLimits: { maxBytes: 40 } });
    await assert.rejects(
      cache.checkout(fileURL, shaC2),
      new RegExp(
        `^CheckoutCeilingError: the checkout of .* at ${shaC2} has more than 40 B of files ` +
          '\\(the limit set by --max-repo-bytes',
      ),
    );
    assert.deepEqual(await trees('max-bytes'), [], 'nothing left on disk');
    const ok = newCache('max-bytes-ok', { checkoutLimits: { maxBytes: 48 } });
    await ok.checkout(fileURL, shaC2);
  });
});

describe('idle repository eviction (--repo-cache-idle)', () => {
  const opts = { idleRepoMs: 1000, evictGraceMs: 0 };

  test('a repository unused for idleRepoMs is removed from disk and cloned again on the next use', async () => {
    const cache = newCache('idle', opts);
    const dir = await cache.checkout(fileURL, shaC1);
    const repoDir = path.dirname(path.dirname(dir));
    assert.deepEqual(await cache.evictIdle(Date.now()), [], 'just used: kept');
    assert.deepEqual(await cache.evictIdle(Date.now() + 1500), [fileURL]);
    await assert.rejects(fs.access(repoDir), 'bare clone and snapshots removed');
    const again = await cache.checkout(fileURL, shaC1);
    assert.equal(await fs.readFile(path.join(again, 'a.txt'), 'utf8'), 'one\n');
    assert.equal(cache.stats.fetches, 2, 'cloned again');
  });

  test('a repository with an operation in flight is never removed', async () => {
    const cache = newCache('idle-busy', opts);
    await cache.checkout(fileURL, shaC1);
    const pending = cache.checkout(fileURL, shaC2); // in flight while eviction runs
    assert.deepEqual(await cache.evictIdle(Date.now() + 60_000), []);
    const dir = await pending;
    assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), 'two\n');
  });

  test('repositories left on disk by an earlier process are adopted and removed one idle period later', async () => {
    await newCache('idle-adopt').checkout(fileURL, shaC1);
    await fs.mkdir(path.join(tmp, 'cache-idle-adopt', 'not-capstan'));
    const cache = newCache('idle-adopt', opts);
    const now = Date.now();
    assert.deepEqual(await cache.evictIdle(now), [], 'adopted as used now');
    assert.deepEqual(await cache.evictIdle(now + 1500), [fileURL]);
    assert.deepEqual(
      await fs.readdir(path.join(tmp, 'cache-idle-adopt')),
      ['not-capstan'],
      'others left alone',
    );
  });

  test('idleRepoMs 0 keeps every repository', async () => {
    const cache = newCache('idle-never', { idleRepoMs: 0, evictGraceMs: 0 });
    const dir = await cache.checkout(fileURL, shaC1);
    assert.deepEqual(await cache.evictIdle(Date.now() + 1e12), []);
    await fs.access(dir);
  });
});
