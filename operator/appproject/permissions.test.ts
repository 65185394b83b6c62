import { test } from 'node:test';
import assert from 'node:assert/strict';
import { projectViolations } from './permissions';

test('a refused repository URL is reported without the credentials it embeds', () => {
  const out = projectViolations(
    'team',
    { sourceRepos: ['https://git.example.com/team/*'], destinations: [{ server: '*', namespace: '*' }] },
    {
      repoURLs: ['https://deploy:pa/ss@w0rd@other.example.com/x.git'],
      destination: { server: 'https://kubernetes.default.svc', namespace: 'team' },
      namespace: 'argocd',
    },
    'argocd',
  );
  assert.deepEqual(out, [
    "application repo https://other.example.com/x.git is not permitted in project 'team'",
  ]);
});
