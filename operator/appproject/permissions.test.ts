import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Destination,
  destinationPermitted,
  globMatch,
  projectViolations,
  sourceNamespacePermitted,
  sourceRepoPermitted,
} from './permissions';

const KDS = 'https://kubernetes.default.svc';

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

describe('globMatch (Argo CD util/glob Test_Match, gobwas)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['hello', 'hello', true],
    ['hell', 'hello', false],
    ['hell*', 'hello', true],
    ['h*', 'hello', true],
    ['e*', 'hello', false],
    ['e[[a*', 'e[[a*', false], // malformed: matches nothing
    ['[!a]x', 'bx', true],
    ['[!a]x', 'ax', false],
    ['{team,ops}-*', 'ops-1', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
  ];
  for (const [pattern, text, want] of cases) {
    test(`${pattern} ~ ${text} = ${want}`, () => assert.equal(globMatch(pattern, text), want));
  }
  test('a separator stops * but not ** (Test_GlobCacheKeyIncludesSeparators)', () => {
    assert.equal(globMatch('a*b', 'a/b'), true);
    assert.equal(globMatch('a*b', 'a/b', '/'), false);
    assert.equal(globMatch('a**b', 'a/b', '/'), true);
  });
  test('linear time on a pattern that makes backtracking matchers explode', () => {
    const started = Date.now();
    assert.equal(globMatch('*a*a*a*a*a*a*a*a*ab', 'a'.repeat(60)), false);
    assert.ok(Date.now() - started < 1000);
  });
});

describe('sourceRepos (Argo CD TestAppProject_IsSourcePermitted and IsNegatedSourcePermitted)', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['*'], 'https://github.com/argoproj/test.git', true],
    [['https://github.com/argoproj/test.git'], 'https://github.com/argoproj/test.git', true],
    [['ssh://git@GITHUB.com:argoproj/test'], 'ssh://git@github.com:argoproj/test', true],
    [['https://github.com/argoproj/*'], 'https://github.com/argoproj/argoproj.git', true],
    [
      ['https://github.com/test1/test.git', 'https://github.com/test2/test.git'],
      'https://github.com/test2/test.git',
      true,
    ],
    [['https://github.com/argoproj/test1.git'], 'https://github.com/argoproj/test2.git', false],
    [['https://github.com/argoproj/*.git'], 'https://github.com/argoproj1/test2.git', false],
    [['https://github.com/argoproj/foo'], 'https://github.com/argoproj/foo1', false],
    [['https://gitlab.com/group/*'], 'https://gitlab.com/group/repo/owner', false],
    [['https://gitlab.com/group/*/*'], 'https://gitlab.com/group/repo/owner', true],
    [['https://gitlab.com/group/*/*/*'], 'https://gitlab.com/group/sub-group/repo/owner', true],
    [['https://gitlab.com/group/**'], 'https://gitlab.com/group/sub-group/repo/owner', true],
    // negated
    [['!https://github.com/argoproj/test.git'], 'https://github.com/argoproj/test.git', false],
    [['!ssh://git@GITHUB.com:argoproj/test'], 'ssh://git@github.com:argoproj/test', false],
    [['!https://github.com/argoproj/*'], 'https://github.com/argoproj/argoproj.git', false],
    [
      ['https://github.com/test1/test.git', '!https://github.com/test2/test.git'],
      'https://github.com/test2/test.git',
      false,
    ],
    [['!https://github.com/argoproj/foo*'], 'https://github.com/argoproj/foo1', false],
    [['!https://gitlab.com/group/*/*'], 'https://gitlab.com/group/repo/owner', false],
    [['!https://gitlab.com/group/*/*/*'], 'https://gitlab.com/group/sub-group/repo/owner', false],
    [['!https://gitlab.com/group/**'], 'https://gitlab.com/group/sub-group/repo/owner', false],
    [['https://github.com/argoproj/test1.git', '*'], 'https://github.com/argoproj/test2.git', true],
    [['!https://github.com/argoproj/*.git', '*'], 'https://github.com/argoproj1/test2.git', true],
    // issue 8: deny wins, and a deny entry allows nothing by itself
    [['https://github.com/org/*', '!https://github.com/org/secret'], 'https://github.com/org/secret', false],
    [['https://github.com/org/*', '!https://github.com/org/secret'], 'https://github.com/org/app', true],
    [['https://github.com/org/*', '!https://github.com/org/secret'], 'https://evil.example.com/x', false],
    [
      ['!https://github.com/org/secret', 'https://github.com/org/*'],
      'https://github.com/org/secret.git',
      false,
    ],
    [['!https://github.com/org/secret'], 'https://github.com/org/other', false],
  ];
  for (const [repos, url, want] of cases) {
    test(`${JSON.stringify(repos)} ${url} = ${want}`, () =>
      assert.equal(sourceRepoPermitted(repos, url), want));
  }
});

describe('destinations (Argo CD TestAppProject_IsDestinationPermitted and IsNegatedDestinationPermitted)', () => {
  const cases: Array<[Destination[], Destination, boolean]> = [
    [[{ server: KDS, namespace: 'default' }], { server: KDS, namespace: 'default' }, true],
    [[{ server: KDS, namespace: 'default' }], { server: KDS, namespace: 'kube-system' }, false],
    [[{ server: 'https://my-cluster', namespace: 'default' }], { server: KDS, namespace: 'default' }, false],
    [[{ server: KDS, namespace: '*' }], { server: KDS, namespace: 'kube-system' }, true],
    [
      [{ server: 'https://*.default.svc', namespace: 'default' }],
      { server: KDS, namespace: 'default' },
      true,
    ],
    [
      [{ server: 'https://team1-*', namespace: 'default' }],
      { server: 'https://test2-dev-cluster', namespace: 'default' },
      false,
    ],
    [[{ server: KDS, namespace: 'test-*' }], { server: KDS, namespace: 'test-foo' }, true],
    [[{ server: KDS, namespace: 'test-*' }], { server: KDS, namespace: 'test' }, false],
    [[{ server: '*', namespace: '*' }], { server: KDS, namespace: 'test' }, true],
    [[{ server: '', namespace: '*', name: 'test' }], { name: 'test', namespace: 'test' }, true],
    [[{ server: '', namespace: '*', name: 'test2' }], { name: 'test', namespace: 'test' }, false],
    // negated
    [[{ server: `!${KDS}`, namespace: 'default' }], { server: KDS, namespace: 'default' }, false],
    [[{ server: KDS, namespace: '!default' }], { server: KDS, namespace: 'kube-system' }, true],
    [[{ server: '!https://my-cluster', namespace: 'default' }], { server: KDS, namespace: 'default' }, true],
    [[{ server: `!${KDS}`, namespace: '*' }], { server: KDS, namespace: 'kube-system' }, false],
    [
      [{ server: '!https://*.default.svc', namespace: 'default' }],
      { server: KDS, namespace: 'default' },
      false,
    ],
    [
      [{ server: '!https://team1-*', namespace: 'default' }],
      { server: 'https://test2-dev-cluster', namespace: 'default' },
      true,
    ],
    [[{ server: KDS, namespace: '!test-*' }], { server: KDS, namespace: 'test-foo' }, false],
    [[{ server: KDS, namespace: '!test-*' }], { server: KDS, namespace: 'test' }, true],
    [[{ server: '', namespace: '*', name: '!test' }], { name: 'test', namespace: 'test' }, false],
    [[{ server: '', namespace: '*', name: '!test2' }], { name: 'test', namespace: 'test' }, true],
    [
      [
        { server: '*', namespace: 'kube-system' },
        { server: '*', namespace: '!kube-system' },
      ],
      { server: KDS, namespace: 'kube-system' },
      false,
    ],
    [
      [
        { server: '*', namespace: '*' },
        { server: '*', namespace: '!kube-system' },
      ],
      { server: KDS, namespace: 'kube-system' },
      false,
    ],
    [
      [
        { server: KDS, namespace: '*' },
        { server: `!${KDS}`, namespace: '*' },
      ],
      { server: KDS, namespace: 'kube-system' },
      false,
    ],
    [
      [
        { server: '*', namespace: '*' },
        { server: `!${KDS}`, namespace: 'kube-system' },
      ],
      { server: KDS, namespace: 'kube-system' },
      false,
    ],
    [
      [
        { server: '*', namespace: '*' },
        { server: `!${KDS}`, namespace: 'kube-system' },
        { server: '*', namespace: '!kube-system' },
      ],
      { server: KDS, namespace: 'kube-system' },
      false,
    ],
    [
      [
        { server: '*', namespace: '*' },
        { server: `!${KDS}`, namespace: 'kube-system' },
        { server: '*', namespace: '!kube-system' },
      ],
      { server: KDS, namespace: 'default' },
      false,
    ],
    [
      [
        { server: '*', namespace: '*' },
        { server: `!${KDS}`, namespace: 'kube-system' },
        { server: '*', namespace: '!kube-system' },
      ],
      { server: 'https://test-dev-cluster', namespace: 'kube-system' },
      false,
    ],
    [
      [
        { server: '', namespace: '*', name: 'test' },
        { server: '', namespace: '*', name: '!test' },
      ],
      { name: 'test', namespace: 'test' },
      false,
    ],
    // issue 8: `!kube-system` refuses kube-system
    [[{ server: '*', namespace: '!kube-system' }], { server: KDS, namespace: 'kube-system' }, false],
    [[{ server: '*', namespace: '!kube-system' }], { server: KDS, namespace: 'team-a' }, true],
    // the in-cluster destination is known by its name too
    [[{ name: 'in-cluster', namespace: 'team-a' }], { server: KDS, namespace: 'team-a' }, true],
    [[{ server: KDS, namespace: 'team-a' }], { name: 'in-cluster', namespace: 'team-a' }, true],
    [[], { server: KDS, namespace: 'team-a' }, false],
  ];
  for (const [dests, dst, want] of cases) {
    test(`${JSON.stringify(dests)} ${JSON.stringify(dst)} = ${want}`, () =>
      assert.equal(destinationPermitted(dests, dst), want));
  }
});

describe('sourceNamespaces (Argo CD IsAppNamespacePermitted, util/glob Test_MatchList)', () => {
  const cases: Array<[string[] | undefined, string, boolean]> = [
    [undefined, 'argocd', true], // the controller's namespace always
    [undefined, 'team-a', false],
    [[], 'team-a', false],
    [['test'], 'test', true],
    [['other'], 'test', false],
    [['some', 'other'], 'test', false],
    [[''], 'test', false],
    [['*'], 'test', true],
    [['other*', 'te*'], 'test', true],
    [['/^team-[a-z]+$/'], 'team-a', true],
    [['/^team-[a-z]+$/'], 'team-1', false],
    [['/(/'], 'team-a', false], // an invalid expression matches nothing
    // capstan's deny entries
    [['team-*', '!team-admin'], 'team-admin', false],
    [['team-*', '!team-admin'], 'team-b', true],
    [['!team-admin'], 'team-b', false],
  ];
  for (const [list, ns, want] of cases) {
    test(`${JSON.stringify(list)} ${ns} = ${want}`, () =>
      assert.equal(sourceNamespacePermitted(list, ns, 'argocd'), want));
  }
});

test('projectViolations names each refusal in Argo CD words', () => {
  const out = projectViolations(
    'team-a',
    {
      sourceRepos: ['https://git.example.com/team-a/*', '!https://git.example.com/team-a/secret'],
      destinations: [{ server: '*', namespace: '!kube-system' }],
      sourceNamespaces: ['team-*'],
    },
    {
      repoURLs: ['https://git.example.com/team-a/secret.git'],
      destination: { server: KDS, namespace: 'kube-system' },
      namespace: 'ops',
    },
    'argocd',
  );
  assert.deepEqual(out, [
    "application in namespace 'ops' is not permitted to use project 'team-a' (sourceNamespaces)",
    "application repo https://git.example.com/team-a/secret.git is not permitted in project 'team-a'",
    "application destination server 'https://kubernetes.default.svc' and namespace 'kube-system' do not match any of the allowed destinations in project 'team-a'",
  ]);
});
