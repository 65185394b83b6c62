/**
 * The git webhook (issue 10 P4, Argo CD's `/api/webhook`) against the run's capstan, which serves it on
 * `--git-webhook-port` (e2e/run.ts passes the URL as CAPSTAN_E2E_GIT_WEBHOOK_URL), with a real git
 * daemon: a commit is pushed, a GitHub-style push payload signed with `webhook.github.secret` from
 * `argocd-secret` is posted, and the automated app applies the new commit. Without the webhook the
 * commit would be seen only after the shared ls-remote answer expires (the run's refresh interval,
 * 120 s), far beyond these waits. A payload with a bad or missing signature is refused (401) and changes
 * nothing; a path-filtered app (`manifest-generate-paths`) is refreshed only by pushes that touch it;
 * a GitLab tag push with `webhook.gitlab.secret` as its token moves an app that tracks the tag. The
 * run's capstan leads (it runs the Application operator), so its webhook refreshes in-process: no app
 * ever carries the refresh annotation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isNotFound } from '../../operator/kube/client';
import { startGitServer, type GitRepo, type GitServer } from '../harness/gitserver';
import {
  FIXTURES,
  appFromFixture,
  controllerNamespace,
  core,
  createApp,
  createNamespace,
  getApp,
  getObject,
  kube,
  syncedAt,
  uniqueName,
  waitForApp,
  type AppObject,
  type FixtureApp,
} from './lib';

const SECRET = randomBytes(16).toString('hex');
const GITLAB_TOKEN = randomBytes(16).toString('hex');
const AUTOMATED = { syncPolicy: { automated: { prune: true } } };

const webhookURL = (): string => {
  const url = process.env.CAPSTAN_E2E_GIT_WEBHOOK_URL;
  if (!url) throw new Error('CAPSTAN_E2E_GIT_WEBHOOK_URL is not set: run the suites through e2e/run.ts');
  return url;
};

/** A GitHub push payload for a commit to `main` of `repo`, as github.com sends it. */
function githubPush(repo: GitRepo, after: string, files: string[] = ['configmap.yaml']): string {
  // The web URL of the repository, as GitHub's html_url: https, no port, no .git.
  const name = new URL(repo.url).pathname.replace(/^\//, '').replace(/\.git$/, '');
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after,
    repository: { name, html_url: `https://127.0.0.1/${name}`, default_branch: 'main' },
    commits: [{ id: after, added: [], modified: files, removed: [] }],
    head_commit: { id: after },
  });
}

/** POSTs a payload as GitHub does; `secret` signs it (undefined: no signature header). */
async function postPush(body: string, secret: string | undefined): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': randomBytes(8).toString('hex'),
  };
  if (secret !== undefined)
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return fetch(webhookURL(), { method: 'POST', headers, body });
}

/** Commits a new greeting to the repository's ConfigMap; returns the new commit. */
function commitGreeting(repo: GitRepo, greeting: string): Promise<string> {
  return repo.commit(`greeting ${greeting}`, (dir) =>
    fs.writeFileSync(
      path.join(dir, 'configmap.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-config\ndata:\n  greeting: ${greeting}\n`,
    ),
  );
}

const greeting = async (ns: string): Promise<string | undefined> =>
  ((await getObject(core(ns, 'configmaps', 'plain-config'))) as { data?: { greeting?: string } } | undefined)
    ?.data?.greeting;

/** Creates or replaces `argocd-secret` with the GitHub webhook secret. */
async function writeArgocdSecret(): Promise<void> {
  const ns = controllerNamespace();
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'argocd-secret', namespace: ns },
    stringData: { 'webhook.github.secret': SECRET, 'webhook.gitlab.secret': GITLAB_TOKEN },
  };
  try {
    await kube().request('DELETE', `/api/v1/namespaces/${ns}/secrets/argocd-secret`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await kube().request('POST', `/api/v1/namespaces/${ns}/secrets`, { body });
}

describe('git webhook', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
    await writeArgocdSecret();
  });
  after(async () => {
    await git?.stop();
  });

  /** A synced automated app of the `plain` fixture. */
  async function syncedApp(prefix: string, metadata?: Record<string, unknown>): Promise<FixtureApp> {
    const app = await appFromFixture(git, { prefix, fixture: 'plain', spec: AUTOMATED, metadata });
    await waitForApp(app.ns, 'app', syncedAt(app.sha), `Synced at ${app.sha}`);
    return app;
  }

  test('a signed GitHub push applies the new commit at once, refreshed in-process (no annotation)', async () => {
    const { ns, repo } = await syncedApp('webhook');
    // Every version of the app from now on: the leader's webhook refreshes it in-process, so none
    // carries the refresh annotation (the standby's way, git-webhook-standby.e2e.ts).
    const annotated: string[] = [];
    const ac = new AbortController();
    void kube()
      .watch<AppObject>(
        `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications`,
        {
          fieldSelector: 'metadata.name=app',
          resourceVersion: (await getApp(ns, 'app')).metadata.resourceVersion,
        },
        (ev) => {
          const refresh = ev.object.metadata.annotations?.['argocd.argoproj.io/refresh'];
          if (refresh) annotated.push(refresh);
        },
        ac.signal,
      )
      .catch(() => undefined);
    try {
      const sha = await commitGreeting(repo, 'from-webhook');
      const res = await postPush(githubPush(repo, sha), SECRET);
      assert.equal(res.status, 200, await res.text());
      await waitForApp(ns, 'app', syncedAt(sha), `Synced at the pushed ${sha}`, 30_000);
      assert.equal(await greeting(ns), 'from-webhook');
    } finally {
      ac.abort();
    }
    assert.deepEqual(annotated, [], 'no refresh annotation written on the leader');
  });

  test('a bad or missing signature is refused and changes nothing; a path-filtered app waits for its paths', async () => {
    const bad = await syncedApp('webhook-bad');
    const filtered = await syncedApp('webhook-paths', {
      annotations: { 'argocd.argoproj.io/manifest-generate-paths': 'nested' },
    });
    const badSha = await commitGreeting(bad.repo, 'forged');
    const filteredSha = await commitGreeting(filtered.repo, 'filtered');

    for (const secret of ['not-the-secret', undefined]) {
      const res = await postPush(githubPush(bad.repo, badSha), secret);
      assert.equal(res.status, 401, `signature ${secret ?? '(none)'}`);
      assert.doesNotMatch(await res.text(), new RegExp(SECRET));
    }
    // A valid push listing only a file outside the app's manifest-generate-paths: no refresh.
    assert.equal((await postPush(githubPush(filtered.repo, filteredSha), SECRET)).status, 200);

    // A barrier: a valid push of a third app is handled after the requests above (one worker, in order).
    const barrier = await syncedApp('webhook-barrier');
    const barrierSha = await commitGreeting(barrier.repo, 'barrier');
    assert.equal((await postPush(githubPush(barrier.repo, barrierSha), SECRET)).status, 200);
    await waitForApp(barrier.ns, 'app', syncedAt(barrierSha), `Synced at the pushed ${barrierSha}`, 30_000);

    for (const app of [bad, filtered]) {
      const now = await getApp(app.ns, 'app');
      assert.equal(now.status?.sync?.revision, app.sha, `${app.ns} still at its first commit`);
      assert.equal(now.metadata.annotations?.['argocd.argoproj.io/refresh'], undefined);
      assert.equal(await greeting(app.ns), 'hello');
    }

    // The same commits do apply once a valid push reaches them (the waits above could have failed).
    assert.equal((await postPush(githubPush(bad.repo, badSha), SECRET)).status, 200);
    const touching = githubPush(filtered.repo, filteredSha, ['nested/configmap.yaml']);
    assert.equal((await postPush(touching, SECRET)).status, 200);
    await waitForApp(bad.ns, 'app', syncedAt(badSha), `Synced at ${badSha}`, 30_000);
    await waitForApp(filtered.ns, 'app', syncedAt(filteredSha), `Synced at ${filteredSha}`, 30_000);
  });

  test('a GitLab tag push with its token moves an app that tracks the tag', async () => {
    const ns = uniqueName('webhook-tag');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'plain'));
    await repo.tag('v1');
    const first = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'v1', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      ...AUTOMATED,
    });
    await waitForApp(ns, 'app', syncedAt(first), `Synced at ${first}`);
    const sha = await commitGreeting(repo, 'tagged');
    await repo.tag('v1');
    const name = new URL(repo.url).pathname.replace(/^\//, '').replace(/\.git$/, '');
    const body = JSON.stringify({
      object_kind: 'tag_push',
      ref: 'refs/tags/v1',
      after: sha,
      project: { web_url: `https://127.0.0.1/${name}`, default_branch: 'main' },
      commits: [],
    });
    const post = (token: string): Promise<Response> =>
      fetch(webhookURL(), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Tag Push Hook',
          'x-gitlab-token': token,
        },
        body,
      });
    assert.equal((await post('wrong-token')).status, 401);
    const res = await post(GITLAB_TOKEN);
    assert.equal(res.status, 200, await res.text());
    await waitForApp(ns, 'app', syncedAt(sha), `Synced at the tagged ${sha}`, 30_000);
    assert.equal(await greeting(ns), 'tagged');
  });
});
