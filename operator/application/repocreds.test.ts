import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RepoProjectScopeError,
  ScopedRepoCredentialSecret,
  credentialsForProject,
  toRepoCredentialSecret,
} from './repocreds';

const b64 = (v: string) => Buffer.from(v).toString('base64');

const secret = (
  type: 'repository' | 'repo-creds',
  url: string,
  password: string,
  project?: string,
): ScopedRepoCredentialSecret => ({
  type,
  url,
  creds: { username: 'git', password },
  ...(project ? { project } : {}),
});

const REPO = 'https://git.example.com/org/app.git';

describe('toRepoCredentialSecret', () => {
  it('reads the project key (Argo CD project-scoped repositories); blank means every project', () => {
    const s = toRepoCredentialSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'r', labels: { 'argocd.argoproj.io/secret-type': 'repository' } },
      data: { url: b64(REPO), password: b64('p'), project: b64('team-a') },
    });
    assert.equal(s?.project, 'team-a');
    const blank = toRepoCredentialSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'r' },
      data: { url: b64(REPO), project: b64(' ') },
    });
    assert.equal(blank?.project, undefined);
  });
});

describe('credentialsForProject', () => {
  it("uses a repository Secret of the app's project", () => {
    const creds = credentialsForProject(REPO, 'team-a', [secret('repository', REPO, 'a-token', 'team-a')]);
    assert.equal(creds?.password, 'a-token');
  });

  it("prefers the project's own Secret over an unscoped one for the same URL (Argo CD getRepositorySecret)", () => {
    const secrets = [secret('repository', REPO, 'shared'), secret('repository', REPO, 'a-token', 'team-a')];
    assert.equal(credentialsForProject(REPO, 'team-a', secrets)?.password, 'a-token');
    assert.equal(credentialsForProject(REPO, 'team-b', secrets)?.password, 'shared');
  });

  it("never uses another project's Secret; falls back to an unscoped one", () => {
    const secrets = [
      secret('repository', REPO, 'a-token', 'team-a'),
      secret('repo-creds', 'https://git.example.com/org', 'org'),
    ];
    assert.equal(credentialsForProject(REPO, 'team-b', secrets)?.password, 'org');
  });

  it("refuses a URL that only another project's Secrets declare, without naming it or any value", () => {
    for (const s of [
      secret('repository', REPO, 'a-token', 'team-a'),
      secret('repo-creds', 'https://git.example.com/org', 'a-token', 'team-a'),
    ]) {
      assert.throws(
        () => credentialsForProject(REPO, 'team-b', [s]),
        (err: unknown) =>
          err instanceof RepoProjectScopeError &&
          /scoped to another project/.test(err.message) &&
          /'team-b'/.test(err.message) &&
          !err.message.includes('team-a') &&
          !err.message.includes('a-token'),
      );
    }
  });

  it('applies the project key to repo-creds templates too; at equal prefix length the own one wins', () => {
    const secrets = [
      secret('repo-creds', 'https://git.example.com/org', 'shared'),
      secret('repo-creds', 'https://git.example.com/org', 'a-token', 'team-a'),
      secret('repo-creds', 'https://git.example.com/org', 'b-token', 'team-b'),
    ];
    assert.equal(credentialsForProject(REPO, 'team-a', secrets)?.password, 'a-token');
    assert.equal(credentialsForProject(REPO, 'team-b', secrets)?.password, 'b-token');
    assert.equal(credentialsForProject(REPO, 'team-c', secrets)?.password, 'shared');
  });

  it('is anonymous access when no Secret matches at all', () => {
    assert.equal(
      credentialsForProject(REPO, 'team-a', [secret('repository', 'https://other/x', 'p', 'team-b')]),
      undefined,
    );
    assert.equal(credentialsForProject(REPO, 'team-a', []), undefined);
  });
});
