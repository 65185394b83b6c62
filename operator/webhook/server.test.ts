import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../log';
import type { PushEvent } from './payload';
import { PushRefresher, type RefreshTarget } from './refresh';
import { startWebhookServer } from './server';
import type { AppRef } from './match';

const SECRET = 'webhook-test-secret';
const pushes: PushEvent[] = [];
let secretsFail = false;
let full = false;
let server: http.Server;
let base: string;

const payload = JSON.stringify({
  ref: 'refs/heads/main',
  after: 'b'.repeat(40),
  repository: { html_url: 'https://github.com/org/repo', default_branch: 'main' },
  commits: [],
});
const sign = (body: string, secret = SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

function post(headers: Record<string, string>, body = payload, path = '/api/webhook'): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

before(async () => {
  server = await startWebhookServer({
    port: 0,
    maxPayloadBytes: 4096,
    secrets: () =>
      secretsFail ? Promise.reject(new Error('forbidden')) : Promise.resolve({ github: SECRET }),
    refresher: { add: (p) => (full ? false : (pushes.push(p), true)) },
    log: silentLogger(),
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
});

describe('webhook server', () => {
  it('queues a signed GitHub push', async () => {
    pushes.length = 0;
    const res = await post({ 'x-github-event': 'push', 'x-hub-signature-256': sign(payload) });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim(), 'queued');
    assert.equal(pushes.length, 1);
    assert.equal(pushes[0].revision, 'main');
  });

  it('refuses a bad or missing signature with 401 and queues nothing', async () => {
    pushes.length = 0;
    const bad = await post({ 'x-github-event': 'push', 'x-hub-signature-256': sign(payload, 'wrong') });
    assert.equal(bad.status, 401);
    const text = await bad.text();
    assert.ok(!text.includes(SECRET));
    const none = await post({ 'x-github-event': 'push' });
    assert.equal(none.status, 401);
    // the signature of another body
    const other = await post(
      { 'x-github-event': 'push', 'x-hub-signature-256': sign(payload) },
      payload.replace('main', 'dev'),
    );
    assert.equal(other.status, 401);
    assert.equal(pushes.length, 0);
  });

  it('ignores a ping, refuses unknown providers, other paths and methods', async () => {
    pushes.length = 0;
    const ping = JSON.stringify({ zen: 'hi' });
    const res = await post({ 'x-github-event': 'ping', 'x-hub-signature-256': sign(ping) }, ping);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /ignored/);
    assert.equal((await post({})).status, 400);
    assert.equal((await post({ 'x-github-event': 'push' }, payload, '/metrics')).status, 404);
    assert.equal((await fetch(`${base}/api/webhook`)).status, 405);
    assert.equal(pushes.length, 0);
  });

  it('refuses a body over the limit with 413, and a push that is not JSON with 400', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(5000) });
    assert.equal(
      (await post({ 'x-github-event': 'push', 'x-hub-signature-256': sign(big) }, big)).status,
      413,
    );
    // GitLab without a configured secret is accepted unverified, but must parse.
    assert.equal((await post({ 'x-gitlab-event': 'Push Hook' }, '{nope')).status, 400);
  });

  it('answers 503 when the secrets cannot be read or the queue is full', async () => {
    secretsFail = true;
    try {
      assert.equal(
        (await post({ 'x-github-event': 'push', 'x-hub-signature-256': sign(payload) })).status,
        503,
      );
    } finally {
      secretsFail = false;
    }
    full = true;
    try {
      assert.equal(
        (await post({ 'x-github-event': 'push', 'x-hub-signature-256': sign(payload) })).status,
        503,
      );
    } finally {
      full = false;
    }
  });
});

describe('PushRefresher', () => {
  const apps = (): AppRef[] => [
    {
      metadata: { namespace: 'argocd', name: 'web' },
      spec: { source: { repoURL: 'git@github.com:org/repo.git', targetRevision: 'HEAD', path: 'web' } },
    },
    {
      metadata: { namespace: 'argocd', name: 'dev' },
      spec: { source: { repoURL: 'https://github.com/org/repo', targetRevision: 'dev', path: 'web' } },
    },
    {
      metadata: { namespace: 'argocd', name: 'asked', annotations: { 'argocd.argoproj.io/refresh': 'hard' } },
      spec: { source: { repoURL: 'https://github.com/org/repo', targetRevision: 'main' } },
    },
    {
      metadata: { namespace: 'team', name: 'other' },
      spec: { source: { repoURL: 'https://github.com/org/other', targetRevision: 'main' } },
    },
  ];
  const push: PushEvent = {
    provider: 'github',
    repoURLs: ['https://github.com/org/repo'],
    revision: 'main',
    touchedHead: true,
    changedFiles: [],
  };

  it('refreshes the matching apps once, keeps a pending hard refresh, forgets the pushed repository', async () => {
    const patched: string[] = [];
    const forgotten: string[][] = [];
    let lists = 0;
    const target: RefreshTarget = {
      listApps: () => {
        lists++;
        return Promise.resolve(apps());
      },
      refreshApp: (ns, name) => {
        patched.push(`${ns}/${name}`);
        return Promise.resolve();
      },
      forgetRevisions: (urls) => forgotten.push(urls),
    };
    const outcomes: string[][] = [];
    const r = new PushRefresher(target, silentLogger(), (o) => outcomes.push(o.refreshed));
    assert.ok(r.add(push));
    assert.ok(r.add(push));
    await r.idle();
    assert.deepEqual(patched, ['argocd/web'], 'patched once for two pushes; the hard refresh is kept');
    assert.deepEqual(outcomes, [
      ['argocd/web', 'argocd/asked'],
      ['argocd/web', 'argocd/asked'],
    ]);
    assert.ok(lists <= 2);
    assert.deepEqual(forgotten[0], ['git@github.com:org/repo.git', 'https://github.com/org/repo']);
  });

  it('refreshes the apps of a monorepo push at most 10 at a time, and reports a failed PATCH', async () => {
    const many: AppRef[] = Array.from({ length: 25 }, (_, i) => ({
      metadata: { namespace: 'argocd', name: `app-${i}` },
      spec: { source: { repoURL: 'https://github.com/org/repo', targetRevision: 'main' } },
    }));
    let inFlight = 0;
    let peak = 0;
    const patched: string[] = [];
    const outcomes: string[][] = [];
    const r = new PushRefresher(
      {
        listApps: () => Promise.resolve(many),
        refreshApp: async (_ns, name) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((res) => setTimeout(res, 5));
          inFlight--;
          if (name === 'app-3') throw new Error('conflict');
          patched.push(name);
        },
        forgetRevisions: () => undefined,
      },
      silentLogger(),
      (o) => outcomes.push(o.refreshed),
    );
    r.add(push);
    await r.idle();
    assert.equal(patched.length, 24);
    assert.ok(peak <= 10 && peak > 1, `peak ${peak}`);
    assert.equal(outcomes[0].length, 24);
    assert.ok(!outcomes[0].includes('argocd/app-3'));
  });

  it('a failed LIST is logged, not thrown, and the next push is handled', async () => {
    let fail = true;
    const patched: string[] = [];
    const r = new PushRefresher(
      {
        listApps: () => (fail ? Promise.reject(new Error('503')) : Promise.resolve(apps())),
        refreshApp: (ns, name) => (patched.push(`${ns}/${name}`), Promise.resolve()),
        forgetRevisions: () => undefined,
      },
      silentLogger(),
    );
    r.add(push);
    await r.idle();
    assert.deepEqual(patched, []);
    fail = false;
    r.add(push);
    await r.idle();
    assert.deepEqual(patched, ['argocd/web']);
  });
});
