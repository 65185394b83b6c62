import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from '../kube/client';
import type { ApplicationContext } from './context';
import { kustomizeRemotePolicy, localRepoScope, repoURLProblems } from './remotes';

const app = (spec: Record<string, unknown>) => ({
  metadata: { namespace: 'team' },
  spec: { project: 'team', ...spec },
});

/** A context whose client answers the AppProject GET with `project` (undefined: 404), counting calls. */
function ctxWith(project: unknown, flags: { allowRemote?: boolean } = {}) {
  const calls: string[] = [];
  const client = {
    request: (method: string, path: string) => {
      calls.push(`${method} ${path}`);
      if (project === undefined) return Promise.reject(new KubeApiError(404, 'NotFound', 'not found'));
      return Promise.resolve(project);
    },
  };
  const ctx = {
    client,
    settings: { controllerNamespace: 'argocd', kustomizeAllowRemote: flags.allowRemote ?? true },
  } as unknown as ApplicationContext;
  return { ctx, calls };
}

describe('repoURLProblems', () => {
  it('names spec.source.repoURL or the spec.sources index of each local repository', () => {
    assert.deepEqual(repoURLProblems(app({ source: { repoURL: 'https://h/r' } }), {}), []);
    const single = repoURLProblems(app({ source: { repoURL: 'file:///srv/r' } }), {});
    assert.equal(single.length, 1);
    assert.match(single[0], /^spec\.source\.repoURL "file:\/\/\/srv\/r" is a local repository/);
    const multi = repoURLProblems(
      app({ sources: [{ repoURL: 'git://h/r' }, { repoURL: '/srv/other' }, { repoURL: 'ext::sh' }] }),
      {},
    );
    assert.deepEqual(
      multi.map((m) => m.split(' ')[0]),
      ['spec.sources[1].repoURL', 'spec.sources[2].repoURL'],
    );
    assert.deepEqual(repoURLProblems(app({ source: { repoURL: '/srv/r' } }), { allowLocalRepos: true }), []);
  });
});

describe('kustomizeRemotePolicy', () => {
  it("permits the repositories of the app's project sourceRepos, reading the project once", async () => {
    const { ctx, calls } = ctxWith({ spec: { sourceRepos: ['https://github.com/org/*'] } });
    const policy = kustomizeRemotePolicy(ctx, app({}));
    assert.equal(policy.allowRemote, true);
    assert.equal(policy.enableHelm, false);
    assert.equal(await policy.permitsRepo?.('https://github.com/org/base.git'), true);
    assert.equal(await policy.permitsRepo?.('https://github.com/other/base'), false);
    assert.deepEqual(calls, ['GET /apis/argoproj.io/v1alpha1/namespaces/argocd/appprojects/team']);
  });

  it('permits nothing for a missing project, everything for a missing default project', async () => {
    assert.equal(
      await kustomizeRemotePolicy(ctxWith(undefined).ctx, app({})).permitsRepo?.('https://h/r'),
      false,
    );
    const dflt = { metadata: { namespace: 'team' }, spec: { project: 'default' } };
    assert.equal(
      await kustomizeRemotePolicy(ctxWith(undefined).ctx, dflt).permitsRepo?.('https://h/r'),
      true,
    );
  });

  it('does not read the project until a remote reference is checked', () => {
    const { ctx, calls } = ctxWith({ spec: {} }, { allowRemote: false });
    assert.equal(kustomizeRemotePolicy(ctx, app({})).allowRemote, false);
    assert.deepEqual(calls, []);
  });
});

describe('localRepoScope (file:// only where the project lists it)', () => {
  const withProject = (sourceRepos?: string[]) =>
    ({
      projects: {
        get: (n: string) =>
          sourceRepos && n === 'team' ? { metadata: { name: n }, spec: { sourceRepos } } : undefined,
      },
    }) as unknown as Pick<ApplicationContext, 'projects'>;
  const problems = (sourceRepos: string[] | undefined, repoURL: string) =>
    repoURLProblems(
      app({ source: { repoURL } }),
      { allowLocalRepos: true },
      localRepoScope(withProject(sourceRepos), app({})),
    );

  it("refuses a local repository under '*' or a remote glob, and when the project is missing", () => {
    for (const repos of [['*'], ['**'], ['https://github.com/*'], [], undefined])
      assert.match(
        problems(repos, 'file:///srv/git/r.git')[0] ?? '',
        /project 'team' does not list it in sourceRepos/,
      );
  });

  it('allows one the project lists explicitly, by URL, prefix glob or path; a ! entry still wins', () => {
    assert.deepEqual(problems(['*', 'file:///srv/git/r.git'], 'file:///srv/git/r.git'), []);
    assert.deepEqual(problems(['file:///srv/git/*'], 'file:///srv/git/r.git'), []);
    assert.deepEqual(problems(['/srv/git/*'], '/srv/git/r'), []);
    assert.equal(
      problems(['file:///srv/git/*', '!file:///srv/git/secret.git'], 'file:///srv/git/secret.git').length,
      1,
    );
    assert.equal(problems(['file:///srv/git/*'], 'file:///var/cache/capstan/x').length, 1);
  });
});
