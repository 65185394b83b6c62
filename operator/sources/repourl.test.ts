import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertRepoURLAllowed,
  isLocalRepoPattern,
  RepoURLError,
  repoURLKind,
  repoURLProblem,
} from './repourl';

const FIELD = 'spec.source.repoURL';

describe('repoURLKind', () => {
  it('reads network transports as remote', () => {
    for (const url of [
      'https://github.com/org/repo.git',
      'HTTP://127.0.0.1:8080/repo.git',
      'ssh://git@github.com/org/repo.git',
      'git://127.0.0.1:9418/repo.git',
      'git+ssh://host/repo',
      'git@github.com:org/repo.git',
      'github.com:org/repo',
      ' https://example.com/r ',
    ]) {
      assert.equal(repoURLKind(url), 'remote', url);
    }
  });

  it('reads file:// URLs and file-system paths as local', () => {
    for (const url of [
      'file:///tmp/capstan-cache/other-app',
      'FILE:///x',
      '/var/cache/capstan/repo.git',
      './repo',
      '../other',
      'repo',
      '~/repo',
      'C:\\repos\\app',
      'c:/repos/app',
      '\\\\server\\share\\repo',
      'dir/with:colon',
    ]) {
      assert.equal(repoURLKind(url), 'local', url);
    }
  });

  it('reads other schemes and remote helpers as unsupported', () => {
    for (const url of ['ext::sh -c touch% /tmp/pwned', 'fd::17', 'ftp://host/repo', 'oci://registry/chart']) {
      assert.equal(repoURLKind(url), 'unsupported', url);
    }
  });
});

describe('repoURLProblem / assertRepoURLAllowed', () => {
  it('allows remote URLs', () => {
    assert.equal(
      repoURLProblem('git://127.0.0.1:4000/apps.git', FIELD, { allowLocalRepos: false }),
      undefined,
    );
    assert.doesNotThrow(() => assertRepoURLAllowed('https://h/r', FIELD, { allowLocalRepos: false }));
  });

  it('refuses local repositories with a message naming the field and the flag', () => {
    const message = repoURLProblem('file:///tmp/other', 'spec.sources[1].repoURL', {
      allowLocalRepos: false,
    });
    assert.match(message ?? '', /^spec\.sources\[1\]\.repoURL "file:\/\/\/tmp\/other" is a local repository/);
    assert.match(message ?? '', /--allow-local-repos/);
    assert.throws(
      () => assertRepoURLAllowed('/srv/git/repo', FIELD, { allowLocalRepos: false }),
      (err: unknown) => err instanceof RepoURLError && /spec\.source\.repoURL/.test(err.message),
    );
  });

  it('allows local repositories with --allow-local-repos', () => {
    assert.equal(repoURLProblem('file:///tmp/r.git', FIELD, { allowLocalRepos: true }), undefined);
    assert.equal(repoURLProblem('/tmp/r.git', FIELD, { allowLocalRepos: true }), undefined);
  });

  it('refuses unsupported transports even with --allow-local-repos', () => {
    assert.match(
      repoURLProblem('ext::sh -c id', FIELD, { allowLocalRepos: true }) ?? '',
      /unsupported transport/,
    );
    assert.match(repoURLProblem('https://h/r\0', FIELD, { allowLocalRepos: true }) ?? '', /NUL/);
  });
});

describe('isLocalRepoPattern', () => {
  it('is true only for entries that name a file:// URL or a path themselves', () => {
    for (const p of [
      'file:///srv/git/*',
      'FILE:///x',
      '/srv/git/repo.git',
      './repo',
      '../r',
      '~/r',
      'C:\\repos\\x',
      'C:/r',
    ])
      assert.equal(isLocalRepoPattern(p), true, p);
    for (const p of ['*', '**', '*/*', 'https://github.com/*', 'git@host:org/*', '!file:///srv/x', '?'])
      assert.equal(isLocalRepoPattern(p), false, p);
  });
});

describe('repoURLProblem with the app project', () => {
  const scope = (permits: boolean) => ({ project: 'team-a', permits: () => permits });
  it("needs the flag AND the project's explicit entry for a local repository", () => {
    assert.equal(
      repoURLProblem('file:///srv/r', FIELD, { allowLocalRepos: true, scope: scope(true) }),
      undefined,
    );
    assert.match(
      repoURLProblem('file:///srv/r', FIELD, { allowLocalRepos: true, scope: scope(false) }) ?? '',
      /^spec\.source\.repoURL "file:\/\/\/srv\/r" is a local repository and project 'team-a' does not list it in sourceRepos/,
    );
    assert.match(
      repoURLProblem('file:///srv/r', FIELD, { allowLocalRepos: false, scope: scope(true) }) ?? '',
      /--allow-local-repos/,
    );
    assert.equal(
      repoURLProblem('https://h/r', FIELD, { allowLocalRepos: false, scope: scope(false) }),
      undefined,
    );
  });
});
