import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PayloadError, decodeBody, parsePush, refName } from './payload';

/** A GitHub push as github.com sends it (fields capstan reads, plus some it ignores). */
const githubPush = {
  ref: 'refs/heads/main',
  before: 'a'.repeat(40),
  after: 'b'.repeat(40),
  repository: {
    name: 'repo',
    full_name: 'org/repo',
    html_url: 'https://github.com/org/repo',
    clone_url: 'https://github.com/org/repo.git',
    ssh_url: 'git@github.com:org/repo.git',
    default_branch: 'main',
  },
  commits: [
    { id: '1', added: ['apps/a/new.yaml'], modified: ['apps/a/cm.yaml'], removed: [] },
    { id: '2', added: [], modified: [], removed: ['apps/b/old.yaml'] },
  ],
  head_commit: { id: '2' },
};

describe('refName', () => {
  it('strips refs/heads/ and refs/tags/ and keeps slashes in branch names', () => {
    assert.equal(refName('refs/heads/main'), 'main');
    assert.equal(refName('refs/heads/release/v1'), 'release/v1');
    assert.equal(refName('refs/tags/v1.2.0'), 'v1.2.0');
    assert.equal(refName('main'), 'main');
    assert.equal(refName('HEAD'), 'HEAD');
  });
});

describe('parsePush', () => {
  it('reads a GitHub push: URLs, branch, default branch, changed files of every commit', () => {
    assert.deepEqual(parsePush('github', 'push', githubPush), {
      provider: 'github',
      repoURLs: [
        'https://github.com/org/repo',
        'https://github.com/org/repo.git',
        'git@github.com:org/repo.git',
      ],
      revision: 'main',
      touchedHead: true,
      changedFiles: ['apps/a/new.yaml', 'apps/a/cm.yaml', 'apps/b/old.yaml'],
      after: 'b'.repeat(40),
    });
  });

  it('a GitHub push to another branch or a tag does not touch HEAD', () => {
    const feature = parsePush('github', 'push', { ...githubPush, ref: 'refs/heads/feature/x' });
    assert.equal(feature?.revision, 'feature/x');
    assert.equal(feature?.touchedHead, false);
    const tag = parsePush('github', 'push', { ...githubPush, ref: 'refs/tags/v1', commits: [] });
    assert.equal(tag?.revision, 'v1');
    assert.equal(tag?.touchedHead, false);
    assert.deepEqual(tag?.changedFiles, []);
  });

  it('GitHub ping and other events are not pushes', () => {
    assert.equal(parsePush('github', 'ping', { zen: 'x', hook_id: 1 }), undefined);
    assert.equal(parsePush('github', 'pull_request', githubPush), undefined);
  });

  it('reads GitLab push, tag push and system hook events', () => {
    const body = {
      object_kind: 'push',
      ref: 'refs/heads/main',
      after: 'c'.repeat(40),
      project: {
        web_url: 'https://gitlab.com/group/sub/repo',
        git_http_url: 'https://gitlab.com/group/sub/repo.git',
        git_ssh_url: 'git@gitlab.com:group/sub/repo.git',
        default_branch: 'main',
      },
      commits: [{ added: ['x.yaml'], modified: [], removed: [] }],
    };
    const push = parsePush('gitlab', 'Push Hook', body);
    assert.deepEqual(push?.repoURLs, [
      'https://gitlab.com/group/sub/repo',
      'https://gitlab.com/group/sub/repo.git',
      'git@gitlab.com:group/sub/repo.git',
    ]);
    assert.equal(push?.touchedHead, true);
    assert.deepEqual(push?.changedFiles, ['x.yaml']);
    // Argo CD: a tag push never touches the default branch, even a tag named like it.
    const tag = parsePush('gitlab', 'Tag Push Hook', {
      ...body,
      object_kind: 'tag_push',
      ref: 'refs/tags/main',
    });
    assert.equal(tag?.revision, 'main');
    assert.equal(tag?.touchedHead, false);
    assert.equal(parsePush('gitlab', 'System Hook', body)?.revision, 'main');
    assert.equal(parsePush('gitlab', 'System Hook', { ...body, object_kind: 'merge_request' }), undefined);
    assert.equal(parsePush('gitlab', 'Merge Request Hook', body), undefined);
  });

  it('reads a Bitbucket Cloud push: the first change, HEAD counted as touched, no files', () => {
    const push = parsePush('bitbucket', 'repo:push', {
      repository: {
        full_name: 'team/repo',
        links: { html: { href: 'https://bitbucket.org/team/repo' } },
      },
      push: {
        changes: [
          {
            new: { name: 'develop', type: 'branch', target: { hash: 'd'.repeat(40) } },
            old: { name: 'develop' },
          },
          { new: { name: 'other' } },
        ],
      },
    });
    assert.deepEqual(push, {
      provider: 'bitbucket',
      repoURLs: ['https://bitbucket.org/team/repo'],
      revision: 'develop',
      touchedHead: true,
      changedFiles: [],
      after: 'd'.repeat(40),
    });
  });

  it('reads a Bitbucket Server refs_changed: the http and ssh clone links, the first ref', () => {
    const push = parsePush('bitbucketserver', 'repo:refs_changed', {
      eventKey: 'repo:refs_changed',
      repository: {
        slug: 'repo',
        links: {
          clone: [
            { href: 'ssh://git@bitbucket.example.com:7999/proj/repo.git', name: 'ssh' },
            { href: 'https://bitbucket.example.com/scm/proj/repo.git', name: 'http' },
          ],
          self: [{ href: 'https://bitbucket.example.com/projects/PROJ/repos/repo/browse' }],
        },
      },
      changes: [
        { ref: { id: 'refs/heads/main', displayId: 'main' }, fromHash: 'e', toHash: 'f', type: 'UPDATE' },
      ],
    });
    assert.deepEqual(push?.repoURLs, [
      'ssh://git@bitbucket.example.com:7999/proj/repo.git',
      'https://bitbucket.example.com/scm/proj/repo.git',
    ]);
    assert.equal(push?.revision, 'main');
    assert.equal(push?.touchedHead, true);
    assert.equal(push?.after, 'f');
    assert.equal(parsePush('bitbucketserver', 'diagnostics:ping', {}), undefined);
  });

  it('reads a Gogs or Gitea push', () => {
    const push = parsePush('gogs', 'push', {
      ref: 'refs/heads/main',
      repository: {
        html_url: 'https://gitea.example.com/org/repo',
        clone_url: 'https://gitea.example.com/org/repo.git',
        ssh_url: 'git@gitea.example.com:org/repo.git',
        default_branch: 'main',
      },
      commits: [{ added: [], modified: ['a.yaml'], removed: [] }],
    });
    assert.equal(push?.provider, 'gogs');
    assert.equal(push?.touchedHead, true);
    assert.deepEqual(push?.changedFiles, ['a.yaml']);
  });

  it('reads an Azure DevOps git.push: remoteUrl, the first ref update, the default branch', () => {
    const body = {
      eventType: 'git.push',
      resource: {
        refUpdates: [{ name: 'refs/heads/main', oldObjectId: 'a', newObjectId: 'b' }],
        repository: {
          remoteUrl: 'https://dev.azure.com/org/project/_git/repo',
          defaultBranch: 'refs/heads/main',
        },
      },
    };
    assert.deepEqual(parsePush('azuredevops', '', body), {
      provider: 'azuredevops',
      repoURLs: ['https://dev.azure.com/org/project/_git/repo'],
      revision: 'main',
      touchedHead: true,
      changedFiles: [],
      after: 'b',
    });
    assert.equal(parsePush('azuredevops', '', { ...body, eventType: 'git.pullrequest.created' }), undefined);
  });

  it('refuses a push without repository URL or ref', () => {
    assert.throws(() => parsePush('github', 'push', { ref: 'refs/heads/main' }), PayloadError);
    assert.throws(() => parsePush('github', 'push', { repository: githubPush.repository }), PayloadError);
    assert.throws(() => parsePush('github', 'push', 'not an object'), PayloadError);
  });
});

describe('decodeBody', () => {
  it('reads JSON and GitHub form-encoded payloads', () => {
    assert.deepEqual(decodeBody(Buffer.from('{"a":1}'), 'application/json'), { a: 1 });
    const form = `payload=${encodeURIComponent('{"ref":"refs/heads/main"}')}`;
    assert.deepEqual(decodeBody(Buffer.from(form), 'application/x-www-form-urlencoded'), {
      ref: 'refs/heads/main',
    });
  });

  it('refuses what is not JSON', () => {
    assert.throws(() => decodeBody(Buffer.from('{'), 'application/json'), PayloadError);
    assert.throws(() => decodeBody(Buffer.from('x=1'), 'application/x-www-form-urlencoded'), PayloadError);
  });
});
