import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globProblem, projectProblems, projectRuleProblems } from './validate';

const project = (spec: Record<string, unknown>) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AppProject',
  metadata: { name: 'p', namespace: 'argocd' },
  spec,
});

test('a permissive project like Argo CD default is valid', () => {
  assert.deepEqual(
    projectProblems(
      project({
        sourceRepos: ['*'],
        destinations: [{ server: '*', namespace: '*' }],
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      }),
    ),
    [],
  );
});

test('Argo CD ValidateProject rules, each naming the field', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ sourceRepos: ['!*'] }, "spec.sourceRepos[0]: source repository has an invalid format, '!*'"],
    [{ sourceRepos: ['a', 'a'] }, "spec.sourceRepos[1]: source repository 'a' already added"],
    [{ sourceNamespaces: ['x', 'x'] }, "spec.sourceNamespaces[1]: source namespace 'x' already added"],
    [
      { destinations: [{ server: 's', namespace: '!*' }] },
      "spec.destinations[0].namespace: namespace has an invalid format, '!*'",
    ],
    [
      { destinations: [{ name: '!*', namespace: 'a' }] },
      "spec.destinations[0].name: name has an invalid format, '!*'",
    ],
    [
      {
        destinations: [
          { server: 's', namespace: 'a' },
          { server: 's', namespace: 'a' },
        ],
      },
      "spec.destinations[1]: destination 's/a' already added",
    ],
    [
      {
        destinations: [
          { name: 'in-cluster', namespace: 'a' },
          { name: 'in-cluster', namespace: 'a' },
        ],
      },
      "spec.destinations[1]: destination 'in-cluster/a' already added",
    ],
    [{ sourceRepos: ['!!https://x'] }, 'spec.sourceRepos[0]: "!!https://x": a deny pattern is one'],
    [
      { sourceRepos: ['https://x/[ab'] },
      'spec.sourceRepos[0]: "https://x/[ab" is not a valid glob: it has an unclosed \'[\'',
    ],
    [
      { clusterResourceWhitelist: [{ group: '', kind: '!Namespace' }] },
      'spec.clusterResourceWhitelist[0].kind: "!Namespace": resource lists have no \'!\' deny entries',
    ],
    [
      { syncWindows: [{ kind: 'allow', schedule: '61 * * * *', duration: '1h', applications: ['*'] }] },
      'spec.syncWindows[0].schedule: ',
    ],
    [
      { syncWindows: [{ kind: 'deny', schedule: '* * * *', duration: '1h', namespaces: ['*'] }] },
      'spec.syncWindows[0].schedule: ',
    ],
    [
      { syncWindows: [{ kind: 'deny', schedule: '0 1 * * *', duration: '1h' }] },
      "spec.syncWindows[0]: window 'deny':'0 1 * * *':'1h' requires one of applications, clusters or namespaces",
    ],
    [
      {
        syncWindows: [
          { kind: 'deny', schedule: '0 1 * * *', duration: '1h', clusters: ['*'] },
          { kind: 'deny', schedule: '0 1 * * *', duration: '1h', applications: ['*'] },
        ],
      },
      "spec.syncWindows[1]: window 'deny':'0 1 * * *':'1h' already exists",
    ],
    [
      {
        syncWindows: [
          { kind: 'deny', schedule: '0 1 * * *', duration: '1h', clusters: ['*'], timeZone: 'Mars/Olympus' },
        ],
      },
      'spec.syncWindows[0].timeZone: ',
    ],
    [
      { destinationServiceAccounts: [{ server: '*', namespace: '!*', defaultServiceAccount: 'sa' }] },
      "spec.destinationServiceAccounts[0].namespace: namespace has an invalid format, '!*'",
    ],
    [
      { destinationServiceAccounts: [{ server: '*', namespace: 'a' }] },
      'spec.destinationServiceAccounts[0].defaultServiceAccount: Required value',
    ],
    [{ roles: [{ name: 'r' }, { name: 'r' }] }, "spec.roles[1].name: role 'r' already added"],
  ];
  for (const [spec, expected] of cases) {
    const problems = projectRuleProblems(spec);
    assert.ok(
      problems.some((p) => p.startsWith(expected)),
      `${JSON.stringify(spec)}: expected "${expected}", got ${JSON.stringify(problems)}`,
    );
  }
});

test('deny patterns with one leading ! and valid globs are accepted', () => {
  assert.deepEqual(
    projectRuleProblems({
      sourceRepos: ['https://github.com/org/*', '!https://github.com/org/secret'],
      sourceNamespaces: ['team-*', '!team-admin'],
      destinations: [
        { server: '*', namespace: 'team-*' },
        { server: '*', namespace: '!kube-system' },
        { name: 'in-cluster', namespace: '{a,b}-[0-9]' },
      ],
      syncWindows: [
        {
          kind: 'allow',
          schedule: '*/10 1-5,22 ? JAN-MAR mon-fri',
          duration: '1h30m',
          applications: ['*'],
          timeZone: 'Europe/Paris',
        },
      ],
    }),
    [],
  );
});

test('schema problems come with the rules, without repeats', () => {
  const problems = projectProblems(project({ sourceRepos: 'x', destinations: [{ server: '!*' }] }));
  assert.ok(
    problems.some((p) => p.startsWith('spec.sourceRepos: must be array')),
    problems.join('\n'),
  );
  assert.ok(problems.some((p) => p.startsWith('spec.destinations[0].server: server has an invalid format')));
  assert.equal(new Set(problems).size, problems.length);
});

test('globProblem', () => {
  assert.equal(globProblem('a{b,c}[d]\\*'), undefined);
  assert.match(globProblem('a}') ?? '', /without its/);
  assert.match(globProblem('a\\') ?? '', /unescaped/);
});
