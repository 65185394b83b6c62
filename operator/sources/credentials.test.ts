import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CredentialFactory,
  CredentialType,
  MAX_CREDENTIAL_ATTEMPTS,
  RepoCredentialSecret,
  credentialsCallback,
  matchRepoCredentials,
  normalizeRepoURL,
  redactURL,
  withoutUserinfo,
} from './credentials';

const repo = (url: string, password: string): RepoCredentialSecret => ({
  url,
  type: 'repository',
  creds: { password },
});
const tmpl = (url: string, password: string): RepoCredentialSecret => ({
  url,
  type: 'repo-creds',
  creds: { password },
});

test('normalizeRepoURL: case, .git, trailing slash, scp-like and ssh:// forms', () => {
  assert.equal(normalizeRepoURL(' https://GitHub.com/Org/Repo.git/ '), 'https://github.com/org/repo');
  assert.equal(normalizeRepoURL('git@github.com:org/repo.git'), 'git@github.com/org/repo');
  assert.equal(normalizeRepoURL('ssh://git@github.com/org/repo'), 'git@github.com/org/repo');
  assert.equal(normalizeRepoURL('https://host/org/', { keepTrailingSlash: true }), 'https://host/org/');
  assert.equal(normalizeRepoURL(''), '');
});

test('matchRepoCredentials: an exact repository secret wins over a longer template', () => {
  const secrets = [
    tmpl('https://github.com/org/repo', 'template'),
    repo('https://github.com/org/repo.git', 'exact'),
  ];
  assert.equal(matchRepoCredentials('https://GITHUB.com/org/repo', secrets)?.password, 'exact');
});

test('matchRepoCredentials: the longest repo-creds prefix applies', () => {
  const secrets = [
    tmpl('https://github.com/', 'host'),
    tmpl('https://github.com/org', 'org'),
    repo('https://github.com/other/x', 'x'),
  ];
  assert.equal(matchRepoCredentials('https://github.com/org/app.git', secrets)?.password, 'org');
  assert.equal(matchRepoCredentials('https://github.com/another/app', secrets)?.password, 'host');
  assert.equal(matchRepoCredentials('https://gitlab.com/org/app', secrets), undefined);
});

test('matchRepoCredentials: plain string prefix as in Argo CD, a trailing slash stops at the boundary', () => {
  assert.equal(
    matchRepoCredentials('https://github.com/org-other/x', [tmpl('https://github.com/org', 'a')])?.password,
    'a',
  );
  assert.equal(
    matchRepoCredentials('https://github.com/org-other/x', [tmpl('https://github.com/org/', 'a')]),
    undefined,
  );
  assert.equal(
    matchRepoCredentials('https://github.com/org/x', [tmpl('https://github.com/org/', 'a')])?.password,
    'a',
  );
});

test('matchRepoCredentials: scp-like and ssh:// URLs match each other', () => {
  const secrets: RepoCredentialSecret[] = [
    { url: 'git@github.com:org', type: 'repo-creds', creds: { sshPrivateKey: 'KEY' } },
  ];
  assert.equal(matchRepoCredentials('ssh://git@github.com/org/repo.git', secrets)?.sshPrivateKey, 'KEY');
  assert.equal(matchRepoCredentials('git@github.com:org/repo.git', secrets)?.sshPrivateKey, 'KEY');
});

test('matchRepoCredentials: a repository secret without credentials inherits the template', () => {
  const secrets: RepoCredentialSecret[] = [
    { url: 'https://host/org/repo', type: 'repository', creds: { insecure: true } },
    { url: 'https://host/org', type: 'repo-creds', creds: { username: 'u', password: 'p' } },
  ];
  assert.deepEqual(matchRepoCredentials('https://host/org/repo', secrets), {
    username: 'u',
    password: 'p',
    insecure: true,
  });
  assert.deepEqual(matchRepoCredentials('https://host/org/repo', secrets.slice(0, 1)), { insecure: true });
});

/** A fake factory that records what it built. */
const fake: CredentialFactory<string> = {
  userpass: (u, p) => `userpass:${u}:${p}`,
  sshKeyMemory: (u, k) => `ssh:${u}:${k}`,
  username: (u) => `username:${u}`,
};

test('credentialsCallback: picks the credential the transport allows', () => {
  const cb = credentialsCallback({ username: 'me', password: 'pw', sshPrivateKey: 'KEY' }, fake);
  assert.equal(cb.credentials('ssh://git@h/r', 'git', CredentialType.USERNAME), 'username:git');
  assert.equal(
    cb.credentials('ssh://git@h/r', 'git', CredentialType.SSH_KEY | CredentialType.SSH_MEMORY),
    'ssh:git:KEY',
  );
  assert.equal(cb.credentials('https://h/r', '', CredentialType.USERPASS_PLAINTEXT), 'userpass:me:pw');
});

test('credentialsCallback: a token without user name is sent as x-access-token', () => {
  const cb = credentialsCallback({ password: 'tok' }, fake);
  assert.equal(
    cb.credentials('https://h/r', '', CredentialType.USERPASS_PLAINTEXT),
    'userpass:x-access-token:tok',
  );
});

test('credentialsCallback: no credentials gives an actionable error without secrets', () => {
  const cb = credentialsCallback(undefined, fake);
  const res = cb.credentials('https://user:s3cret@h/r', '', CredentialType.USERPASS_PLAINTEXT);
  assert.ok(res instanceof Error);
  assert.match(
    res.message,
    /^the server requires credentials that are not configured \(accepts: username\/password\)$/,
  );
  assert.doesNotMatch(res.message, /s3cret/);
});

test('credentialsCallback: gives up after a few attempts (libgit2 retries forever)', () => {
  const cb = credentialsCallback({ username: 'me', password: 'wrong' }, fake);
  for (let i = 0; i < MAX_CREDENTIAL_ATTEMPTS; i++) {
    assert.equal(cb.credentials('https://h/r', '', CredentialType.USERPASS_PLAINTEXT), 'userpass:me:wrong');
  }
  const res = cb.credentials('https://h/r', '', CredentialType.USERPASS_PLAINTEXT);
  assert.ok(res instanceof Error);
  assert.match(res.message, /failed after 3 attempts/);
  // A new operation gets a new budget.
  const again = credentialsCallback({ username: 'me', password: 'wrong' }, fake);
  assert.equal(again.credentials('https://h/r', '', CredentialType.USERPASS_PLAINTEXT), 'userpass:me:wrong');
});

test('credentialsCallback: certificateCheck is secure unless told otherwise', () => {
  const ssh = { certType: 2 };
  const x509 = { certType: 1 };
  const secure = credentialsCallback({}, fake).certificateCheck;
  assert.equal(secure(x509, 1, 'h'), 0);
  assert.equal(secure(x509, 0, 'h'), 1, 'invalid certificate: keep libgit2 verdict');
  const ignoreHostKey = credentialsCallback({ insecureIgnoreHostKey: true }, fake).certificateCheck;
  assert.equal(ignoreHostKey(ssh, 0, 'h'), 0);
  assert.equal(ignoreHostKey(x509, 0, 'h'), 1, 'host key flag does not disable TLS verification');
  assert.equal(credentialsCallback({ insecure: true }, fake).certificateCheck(x509, 0, 'h'), 0);
});

test('redactURL removes user:password from URLs in any text', () => {
  assert.equal(
    redactURL('failed https://u:p@h/r.git and ssh://git@h/x'),
    'failed https://h/r.git and ssh://h/x',
  );
  assert.equal(redactURL('git@github.com:org/repo.git'), 'git@github.com:org/repo.git');
});

describe('redactURL: tricky passwords never leak, in part or whole', () => {
  // [password, URL with it unencoded (or as written), expected redaction]
  const cases: Array<[string, string, string]> = [
    ['p@ss/w@rd', 'https://user:p@ss/w@rd@host/repo', 'https://host/repo'],
    ['p@ss', 'https://user:p@ss@host/repo', 'https://host/repo'],
    ['pa/ss', 'https://user:pa/ss@host/repo', 'https://host/repo'],
    ['pa:ss', 'https://user:pa:ss@host/repo', 'https://host/repo'],
    ['p%40ss', 'https://user:p%40ss@host/repo', 'https://host/repo'],
    ['pass word', 'https://user:pass word@host/repo', 'https://host/repo'],
    ['p?ss', 'https://user:p?ss@host/repo', 'https://host/repo'],
    ['p#ss', 'https://user:p#ss@host/repo', 'https://host/repo'],
    ['p"ss', 'https://user:p"ss@host/repo', 'https://host/repo'],
    ['pw@Zq9', 'ssh://git:pw@Zq9@host:22/org/repo.git', 'ssh://host:22/org/repo.git'],
    ['ghp_abc/123', 'https://ghp_abc/123@github.com/org/repo', 'https://github.com/org/repo'],
    ['s3cr/@t', 'git+ssh://deploy:s3cr/@t@host/x', 'git+ssh://host/x'],
  ];
  for (const [password, url, want] of cases) {
    test(`${url} -> ${want}`, () => {
      const fragments = password.split(/[@/:% ?#"]/).filter((f) => f.length >= 2);
      for (const text of [url, `failed to fetch ${url}: HTTP 401`, `"${url}"`]) {
        const out = redactURL(text);
        for (const f of fragments) assert.ok(!out.includes(f), `a part of the password shows in ${out}`);
      }
      assert.equal(redactURL(url), want);
      assert.equal(redactURL(`failed to fetch ${url}: HTTP 401`), `failed to fetch ${want}: HTTP 401`);
    });
  }

  test('several URLs in one message, each redacted', () => {
    assert.equal(
      redactURL('clone of https://a:b@one/x failed, then http://c:d@e@two:8080/y <ssh://k@three/z>'),
      'clone of https://one/x failed, then http://two:8080/y <ssh://three/z>',
    );
  });

  test('what is not userinfo stays', () => {
    for (const text of [
      'git@github.com:org/repo.git',
      'failed: git@github.com:org/repo.git: permission denied',
      'https://host/org/repo@v1',
      'https://host:8443/repo',
      'https://[::1]:8080/x',
      'https://host/x and mail a@b.com',
      'no URL at all, user@example.com',
    ]) {
      assert.equal(redactURL(text), text);
    }
  });
});

test('withoutUserinfo: the exact key of a repository, whatever credentials its URL carries', () => {
  assert.equal(withoutUserinfo('https://u:p@host/org/repo.git'), 'https://host/org/repo.git');
  assert.equal(withoutUserinfo('https://u:p@ss@host/org/repo'), 'https://host/org/repo');
  assert.equal(withoutUserinfo('https://host/org/repo'), 'https://host/org/repo');
  assert.equal(withoutUserinfo('git@github.com:org/repo.git'), 'git@github.com:org/repo.git');
  // redactURL may drop more for display; the key never makes another repository look the same.
  assert.equal(
    redactURL('https://a:b@evil/x@victim.example/org/private'),
    'https://victim.example/org/private',
  );
  assert.notEqual(
    withoutUserinfo('https://a:b@evil/x@victim.example/org/private'),
    'https://victim.example/org/private',
  );
});
