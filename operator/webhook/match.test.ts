import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MANIFEST_GENERATE_PATHS_ANNOTATION,
  filesChanged,
  pushRefreshesApp,
  pushedRepoURLs,
  refreshPaths,
  repoLocation,
  revisionMatches,
  sameRepository,
  type AppRef,
} from './match';
import type { PushEvent } from './payload';

const push = (over: Partial<PushEvent> = {}): PushEvent => ({
  provider: 'github',
  repoURLs: ['https://github.com/Org/Repo'],
  revision: 'main',
  touchedHead: true,
  changedFiles: [],
  ...over,
});

const app = (source: AppRef['spec'], annotations?: Record<string, string>): AppRef => ({
  metadata: { name: 'a', namespace: 'argocd', annotations },
  spec: source,
});

describe('sameRepository (Argo CD GetWebURLRegex)', () => {
  it('matches every form of the same repository', () => {
    const web = 'https://github.com/org/repo';
    for (const url of [
      'https://github.com/org/repo',
      'https://github.com/org/repo.git',
      'https://github.com/org/repo/',
      'http://github.com/org/repo.git',
      'HTTPS://GitHub.com/Org/Repo.git',
      'https://user:token@github.com/org/repo.git',
      'https://github.com:443/org/repo',
      'ssh://git@github.com/org/repo.git',
      'ssh://git@ssh.github.com:443/org/repo.git',
      'git@github.com:org/repo.git',
      'git@altssh.github.com:org/repo',
      'git://github.com/org/repo.git',
    ])
      assert.ok(sameRepository(web, url), url);
  });

  it('does not match another repository, owner, host or a path prefix', () => {
    const web = 'https://github.com/org/repo';
    for (const url of [
      'https://github.com/org/repo2',
      'https://github.com/other/repo',
      'https://github.com/org/repo/sub',
      'https://gitlab.com/org/repo',
      'https://evilgithub.com/org/repo',
      'https://charts.example.com/',
      './repo',
      '',
    ])
      assert.ok(!sameRepository(web, url), url);
  });

  it('reads GitLab subgroups and Bitbucket Server clone links', () => {
    assert.ok(sameRepository('https://gitlab.com/g/sub/repo', 'git@gitlab.com:g/sub/repo.git'));
    assert.ok(
      sameRepository(
        'ssh://git@bitbucket.example.com:7999/proj/repo.git',
        'ssh://git@bitbucket.example.com:7999/proj/repo',
      ),
    );
    assert.deepEqual(repoLocation('git://127.0.0.1:9418/app.git'), { host: '127.0.0.1', path: 'app' });
  });
});

describe('revisionMatches (Argo CD sourceRevisionHasChanged)', () => {
  it('HEAD or empty follow the default branch', () => {
    assert.ok(revisionMatches('HEAD', push()));
    assert.ok(revisionMatches(undefined, push()));
    assert.ok(revisionMatches('', push()));
    assert.ok(!revisionMatches('HEAD', push({ revision: 'dev', touchedHead: false })));
  });

  it('a branch or tag, with or without its refs/ prefix; a SHA never', () => {
    assert.ok(revisionMatches('main', push()));
    assert.ok(revisionMatches('refs/heads/main', push()));
    assert.ok(revisionMatches('release/v1', push({ revision: 'release/v1', touchedHead: false })));
    assert.ok(revisionMatches('refs/tags/v1', push({ revision: 'v1', touchedHead: false })));
    assert.ok(!revisionMatches('dev', push()));
    assert.ok(!revisionMatches('a'.repeat(40), push()));
  });
});

describe('refreshPaths and filesChanged (Argo CD GetAppRefreshPaths, AppFilesHaveChanged)', () => {
  it('joins relative paths to each source path, keeps absolute ones from the root', () => {
    const a = app(
      { sources: [{ path: 'apps/web' }, { path: 'apps/api' }] },
      {
        [MANIFEST_GENERATE_PATHS_ANNOTATION]: '.;../shared;/global/values.yaml;',
      },
    );
    assert.deepEqual(refreshPaths(a), [
      'apps/web',
      'apps/api',
      'apps/shared',
      'apps/shared',
      'global/values.yaml',
    ]);
    assert.deepEqual(refreshPaths(app({ source: { path: 'x' } })), []);
  });

  it('a file under, equal to or matching a glob of a path counts; others do not', () => {
    const paths = ['apps/web', 'global/values.yaml', 'charts/*/Chart.yaml'];
    assert.ok(filesChanged(paths, ['apps/web/deploy.yaml']));
    assert.ok(filesChanged(paths, ['README.md', 'apps/web/sub/dir/x.yaml']));
    assert.ok(filesChanged(paths, ['global/values.yaml']));
    assert.ok(filesChanged(paths, ['charts/db/Chart.yaml']));
    assert.ok(!filesChanged(paths, ['apps/webapp/x.yaml', 'apps/api/x.yaml', 'README.md']));
    assert.ok(!filesChanged(paths, ['charts/db/sub/Chart.yaml']));
  });

  it('no changed files listed, or no paths named: refresh', () => {
    assert.ok(filesChanged(['apps/web'], []));
    assert.ok(filesChanged([], ['anything']));
    assert.ok(filesChanged(['/'], ['anything/at/all']));
  });
});

describe('pushRefreshesApp', () => {
  const src = { repoURL: 'git@github.com:org/repo.git', targetRevision: 'main', path: 'apps/web' };

  it('needs one source with the repository and the revision', () => {
    assert.ok(pushRefreshesApp(push(), app({ source: src })));
    assert.ok(!pushRefreshesApp(push(), app({ source: { ...src, targetRevision: 'dev' } })));
    assert.ok(
      !pushRefreshesApp(push(), app({ source: { ...src, repoURL: 'https://github.com/org/other' } })),
    );
    // multi-source: the second source tracks the pushed repository
    assert.ok(
      pushRefreshesApp(
        push(),
        app({ sources: [{ repoURL: 'https://charts.example.com', targetRevision: '1.0.0', path: '' }, src] }),
      ),
    );
    assert.ok(!pushRefreshesApp(push(), app({})));
  });

  it('honours manifest-generate-paths when the payload lists files', () => {
    const annotated = app({ source: src }, { [MANIFEST_GENERATE_PATHS_ANNOTATION]: '.' });
    assert.ok(pushRefreshesApp(push({ changedFiles: ['apps/web/cm.yaml'] }), annotated));
    assert.ok(!pushRefreshesApp(push({ changedFiles: ['apps/api/cm.yaml'] }), annotated));
    assert.ok(pushRefreshesApp(push({ changedFiles: [] }), annotated), 'no file list: refresh');
  });
});

describe('pushedRepoURLs', () => {
  it('lists every source URL of the pushed repository as written, whatever its revision', () => {
    const apps = [
      app({ source: { repoURL: 'git@github.com:org/repo.git', targetRevision: 'dev' } }),
      app({ source: { repoURL: 'https://github.com/org/repo', targetRevision: 'main' } }),
      app({ source: { repoURL: 'https://github.com/org/other', targetRevision: 'main' } }),
    ];
    assert.deepEqual(pushedRepoURLs(push(), apps), [
      'git@github.com:org/repo.git',
      'https://github.com/org/repo',
    ]);
  });
});
