import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PathEscapeError, assertNoEscapingSymlinks, resolveInside } from './paths';

/**
 * A real temporary tree:
 *   <tmp>/secret.txt                   outside the repository
 *   <tmp>/repo/apps/web/deploy.yaml
 *   <tmp>/repo/charts/app/values.yaml
 *   <tmp>/repo/shared/values.yaml
 */
let tmp: string;
let repo: string;

function write(rel: string, text = 'x: 1\n'): void {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

before(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-paths-')));
  repo = path.join(tmp, 'repo');
  write('secret.txt', 'token');
  write('repo/apps/web/deploy.yaml');
  write('repo/charts/app/values.yaml');
  write('repo/shared/values.yaml');
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('resolveInside', () => {
  it('resolves relative paths from the root', () => {
    assert.equal(resolveInside(repo, 'apps/web', 'app path'), path.join(repo, 'apps/web'));
    assert.equal(resolveInside(repo, '.', 'app path'), repo);
    assert.equal(resolveInside(repo, '', 'app path'), repo);
  });

  it('resolves relative paths from `from`, allowing .. that stays inside', () => {
    const chart = path.join(repo, 'charts/app');
    assert.equal(resolveInside(repo, 'values.yaml', 'value file', chart), path.join(chart, 'values.yaml'));
    assert.equal(
      resolveInside(repo, '../../shared/values.yaml', 'value file', chart),
      path.join(repo, 'shared/values.yaml'),
    );
  });

  it('treats absolute paths as repository-relative (as Argo CD)', () => {
    const chart = path.join(repo, 'charts/app');
    assert.equal(
      resolveInside(repo, '/shared/values.yaml', 'value file', chart),
      path.join(repo, 'shared/values.yaml'),
    );
    // /etc/passwd names <repo>/etc/passwd, which does not exist: never the host file.
    assert.equal(resolveInside(repo, '/etc/passwd', 'value file'), path.join(repo, 'etc/passwd'));
  });

  it('accepts a missing path whose directory is inside', () => {
    assert.equal(resolveInside(repo, 'apps/new/x.yaml', 'value file'), path.join(repo, 'apps/new/x.yaml'));
  });

  it('refuses .. that leaves the repository, naming the path', () => {
    const chart = path.join(repo, 'charts/app');
    assert.throws(
      () => resolveInside(repo, '../../../etc/passwd', 'value file', chart),
      (err: unknown) =>
        err instanceof PathEscapeError &&
        err.name === 'PathEscapeError' &&
        err.message === 'value file "../../../etc/passwd" resolves outside the repository' &&
        err.relPath === '../../../etc/passwd',
    );
    assert.throws(() => resolveInside(repo, '..', 'app path'), PathEscapeError);
    assert.throws(() => resolveInside(repo, 'apps/../../secret.txt', 'app path'), PathEscapeError);
  });

  it('refuses a sibling directory that shares the prefix', () => {
    fs.mkdirSync(path.join(tmp, 'repo-evil'), { recursive: true });
    assert.throws(() => resolveInside(repo, '../repo-evil', 'app path'), PathEscapeError);
  });

  it('refuses paths that escape through a symlink', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'r-'));
    fs.symlinkSync(tmp, path.join(dir, 'up'));
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(dir, 'secret.yaml'));
    assert.throws(() => resolveInside(dir, 'up/secret.txt', 'value file'), PathEscapeError);
    assert.throws(
      () => resolveInside(dir, 'secret.yaml', 'value file'),
      /value file "secret.yaml" resolves outside/,
    );
    // Through a dangling link whose target is outside: judged by where it points.
    fs.symlinkSync('/nonexistent-capstan/dir', path.join(dir, 'dangling'));
    assert.throws(() => resolveInside(dir, 'dangling/x.yaml', 'value file'), PathEscapeError);
  });

  it('follows symlinks that stay inside and returns the real path', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'r-'));
    fs.mkdirSync(path.join(dir, 'real'));
    fs.writeFileSync(path.join(dir, 'real/v.yaml'), 'a: 1\n');
    fs.symlinkSync('real', path.join(dir, 'alias'));
    assert.equal(resolveInside(dir, 'alias/v.yaml', 'value file'), path.join(dir, 'real/v.yaml'));
  });

  it('works when the root itself is reached through a symlink', () => {
    const link = path.join(tmp, 'repo-link');
    fs.symlinkSync(repo, link);
    assert.equal(resolveInside(link, 'apps/web', 'app path'), path.join(repo, 'apps/web'));
    assert.throws(() => resolveInside(link, '../secret.txt', 'app path'), PathEscapeError);
  });

  it('refuses NUL bytes', () => {
    assert.throws(() => resolveInside(repo, 'a\0b', 'value file'), PathEscapeError);
  });
});

describe('assertNoEscapingSymlinks', () => {
  it('accepts a tree without links, and links that stay inside', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 's-'));
    fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a/b/x.yaml'), 'x: 1\n');
    fs.symlinkSync('b/x.yaml', path.join(dir, 'a/link.yaml'));
    fs.symlinkSync('../a', path.join(dir, 'a/b/loop'));
    assert.doesNotThrow(() => assertNoEscapingSymlinks(dir, dir));
  });

  it('refuses a file link to outside the repository (CVE-2022-24730)', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 's-'));
    fs.mkdirSync(path.join(dir, 'apps/web'), { recursive: true });
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(dir, 'apps/web/secret.yaml'));
    assert.throws(
      () => assertNoEscapingSymlinks(dir, dir),
      (err: unknown) =>
        err instanceof PathEscapeError &&
        err.message === 'symlink "apps/web/secret.yaml" points outside the repository',
    );
    // Walking only another subtree does not see it.
    fs.mkdirSync(path.join(dir, 'apps/other'));
    assert.doesNotThrow(() => assertNoEscapingSymlinks(dir, path.join(dir, 'apps/other')));
  });

  it('refuses relative, directory and dangling links that leave the repository', () => {
    for (const target of ['../../', '/etc', '../../nonexistent-capstan']) {
      const dir = fs.mkdtempSync(path.join(tmp, 's-'));
      fs.mkdirSync(path.join(dir, 'd'));
      fs.symlinkSync(target, path.join(dir, 'd/l'));
      assert.throws(() => assertNoEscapingSymlinks(dir, dir), PathEscapeError, `target ${target}`);
    }
  });

  it('accepts a dangling link whose target would be inside', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 's-'));
    fs.mkdirSync(path.join(dir, 'd'));
    fs.symlinkSync('../missing.yaml', path.join(dir, 'd/l'));
    assert.doesNotThrow(() => assertNoEscapingSymlinks(dir, dir));
  });

  it('refuses a chain whose second link leaves', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 's-'));
    fs.symlinkSync(tmp, path.join(dir, 'out'));
    fs.symlinkSync('out/secret.txt', path.join(dir, 'first'));
    assert.throws(() => assertNoEscapingSymlinks(dir, dir), PathEscapeError);
  });
});
