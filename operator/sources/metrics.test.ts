/**
 * The git metrics (Argo CD's argocd_git_request_total / _duration_seconds) against a real repository made
 * with the git CLI and read through GitRepoCache over file://.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GitRepoCache } from './git';
import { gitRequestDuration, gitRequests, startGitRequest } from './metrics';

let tmp: string;
let url: string;

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: { ...gitEnv, HOME: tmp } })
    .toString()
    .trim();

async function count(repo: string, type: string): Promise<number> {
  const v = (await gitRequests.get()).values.find(
    (s) => s.labels.repo === repo && s.labels.request_type === type,
  );
  return v?.value ?? 0;
}

async function observations(repo: string, type: string): Promise<number> {
  const v = (await gitRequestDuration.get()).values.find(
    (s) =>
      s.metricName === 'capstan_git_request_duration_seconds_count' &&
      s.labels.repo === repo &&
      s.labels.request_type === type,
  );
  return v?.value ?? 0;
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'capstan-gitmetrics-'));
  const work = path.join(tmp, 'work');
  const bare = path.join(tmp, 'repo.git');
  await fs.mkdir(work);
  git(tmp, 'init', '-q', '--bare', '-b', 'main', bare);
  git(work, 'init', '-q', '-b', 'main');
  await fs.writeFile(path.join(work, 'a.yaml'), 'kind: ConfigMap\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'one');
  git(work, 'push', '-q', bare, 'main');
  url = `file://${bare}`;
});

after(async () => {
  execFileSync('chmod', ['-R', 'u+w', tmp]);
  await fs.rm(tmp, { recursive: true, force: true });
});

test('capstan_git_request_total counts one ls-remote per resolve and one fetch per new commit, with durations', async () => {
  const cache = new GitRepoCache({ cacheDir: path.join(tmp, 'cache') });
  const sha = await cache.resolveRevision(url, 'main');
  assert.equal(await count(url, 'ls-remote'), 1);
  assert.equal(await count(url, 'fetch'), 0);
  await cache.checkout(url, sha);
  assert.equal(await count(url, 'fetch'), 1);
  await cache.checkout(url, sha); // already in the clone: no network request
  await cache.resolveRevision(url, 'main');
  assert.equal(await count(url, 'ls-remote'), 2);
  assert.equal(await count(url, 'fetch'), 1);
  assert.equal(await observations(url, 'ls-remote'), 2);
  assert.equal(await observations(url, 'fetch'), 1);
});

test('a failed request is counted too', async () => {
  const cache = new GitRepoCache({ cacheDir: path.join(tmp, 'cache-missing') });
  const missing = `file://${path.join(tmp, 'missing.git')}`;
  await assert.rejects(cache.resolveRevision(missing, 'main'));
  assert.equal(await count(missing, 'ls-remote'), 1);
});

test('the repo label never carries credentials', async () => {
  startGitRequest('https://alice:s3cret@git.example.com/r.git', 'fetch')();
  const labels = (await gitRequests.get()).values.map((s) => String(s.labels.repo));
  assert.ok(labels.includes('https://git.example.com/r.git'));
  assert.ok(!labels.some((l) => l.includes('s3cret')));
});
