import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../log';
import type { AppRef } from './match';
import type { PushEvent } from './payload';
import { PushRefresher, localRefreshTarget, type LocalApps, type RefreshTarget } from './refresh';

const push: PushEvent = {
  provider: 'github',
  repoURLs: ['https://github.com/org/repo'],
  revision: 'main',
  touchedHead: true,
  changedFiles: [],
};

const apps: AppRef[] = [
  {
    metadata: { namespace: 'argocd', name: 'web' },
    spec: { source: { repoURL: 'https://github.com/org/repo.git', targetRevision: 'main' } },
  },
  {
    metadata: { namespace: 'argocd', name: 'gone' },
    spec: { source: { repoURL: 'https://github.com/org/repo.git', targetRevision: 'main' } },
  },
  {
    metadata: { namespace: 'argocd', name: 'other' },
    spec: { source: { repoURL: 'https://github.com/org/other', targetRevision: 'main' } },
  },
];

describe('the webhook on the leader (localRefreshTarget)', () => {
  it('refreshes through the operator in-process once retargeted: no annotation PATCH, no LIST', async () => {
    const patched: string[] = [];
    const kube: RefreshTarget = {
      listApps: () => Promise.resolve(apps),
      refreshApp: (ns, name) => (patched.push(`${ns}/${name}`), Promise.resolve()),
      forgetRevisions: () => undefined,
    };
    const asked: string[] = [];
    const forgotten: string[][] = [];
    const local: LocalApps = {
      apps: () => apps.values(),
      // `gone` was deleted between the match and the request
      refresh: (ns, name) => name !== 'gone' && (asked.push(`${ns}/${name}`), true),
    };
    const outcomes: string[][] = [];
    const r = new PushRefresher(kube, createLogger('error', 'text'), (o) => outcomes.push(o.refreshed));

    r.add(push); // a standby (or before the operator runs): the annotation through the API
    await r.idle();
    assert.deepEqual(patched, ['argocd/web', 'argocd/gone']);

    r.retarget(localRefreshTarget(local, (urls) => forgotten.push(urls)));
    r.add(push);
    await r.idle();
    assert.deepEqual(patched, ['argocd/web', 'argocd/gone'], 'no PATCH once in-process');
    assert.deepEqual(asked, ['argocd/web']);
    assert.deepEqual(outcomes[1], ['argocd/web'], 'an app the operator does not hold is not reported');
    assert.deepEqual(forgotten, [['https://github.com/org/repo.git']]);
  });
});
