import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectSpec } from './permissions';
import { ObjectIdentity, groupKindNamePermitted, pathMatch, resourceViolation } from './resources';

const gk = (group: string, kind: string, namespaced: boolean, name = 'x') => ({
  group,
  kind,
  name,
  namespaced,
});

describe('groupKindNamePermitted (Argo CD TestAppProject_IsGroupKindPermitted)', () => {
  const cases: Array<[string, ProjectSpec, ReturnType<typeof gk>, boolean]> = [
    [
      'empty namespace whitelist permits no namespaced kind',
      { namespaceResourceWhitelist: [], namespaceResourceBlacklist: [{ group: 'apps', kind: 'Deployment' }] },
      gk('apps', 'ReplicaSet', true),
      false,
    ],
    [
      'blacklisted',
      { namespaceResourceWhitelist: [], namespaceResourceBlacklist: [{ group: 'apps', kind: 'Deployment' }] },
      gk('apps', 'Deployment', true),
      false,
    ],
    [
      'whitelisted',
      {
        namespaceResourceWhitelist: [{ group: 'apps', kind: 'ReplicaSet' }],
        namespaceResourceBlacklist: [{ group: 'apps', kind: 'Deployment' }],
      },
      gk('apps', 'ReplicaSet', true),
      true,
    ],
    [
      'not in the namespace whitelist',
      {
        namespaceResourceWhitelist: [{ group: 'apps', kind: 'ReplicaSet' }],
        namespaceResourceBlacklist: [{ group: 'apps', kind: 'Deployment' }],
      },
      gk('apps', 'Action', true),
      false,
    ],
    [
      'cluster blacklist without whitelist',
      { clusterResourceBlacklist: [{ group: '', kind: 'Namespace' }] },
      gk('', 'Namespace', false),
      false,
    ],
    [
      'cluster blacklist */* removes the whitelist */*',
      {
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
        clusterResourceBlacklist: [{ group: '*', kind: '*' }],
      },
      gk('', 'Namespace', false),
      false,
    ],
    [
      'cluster lists do not touch namespaced kinds',
      {
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
        clusterResourceBlacklist: [{ group: '*', kind: '*' }],
      },
      gk('apps', 'Action', true),
      true,
    ],
    [
      'empty cluster whitelist',
      { clusterResourceWhitelist: [], namespaceResourceWhitelist: [{ group: '*', kind: '*' }] },
      gk('', 'Namespace', false),
      false,
    ],
    [
      'namespace whitelist */*',
      { clusterResourceWhitelist: [], namespaceResourceWhitelist: [{ group: '*', kind: '*' }] },
      gk('apps', 'Action', true),
      true,
    ],
    ['no lists: cluster-scoped denied', {}, gk('', 'Namespace', false), false],
    ['no lists: namespaced allowed', {}, gk('apps', 'Action', true), true],
    // issue 8: a ClusterRole is denied by default and allowed once whitelisted
    ['ClusterRole by default', {}, gk('rbac.authorization.k8s.io', 'ClusterRole', false), false],
    [
      'ClusterRole whitelisted by group and kind',
      { clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }] },
      gk('rbac.authorization.k8s.io', 'ClusterRole', false),
      true,
    ],
    [
      'kind glob',
      { clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'Cluster*' }] },
      gk('rbac.authorization.k8s.io', 'ClusterRoleBinding', false),
      true,
    ],
    [
      'group must match too',
      { clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: '*' }] },
      gk('', 'Namespace', false),
      false,
    ],
    // the newer `name` field of cluster entries
    [
      'whitelist by name: the named one',
      {
        clusterResourceWhitelist: [
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'team-a-*' },
        ],
      },
      gk('rbac.authorization.k8s.io', 'ClusterRole', false, 'team-a-reader'),
      true,
    ],
    [
      'whitelist by name: another name',
      {
        clusterResourceWhitelist: [
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'team-a-*' },
        ],
      },
      gk('rbac.authorization.k8s.io', 'ClusterRole', false, 'cluster-admin'),
      false,
    ],
    [
      'blacklist by name removes only that name',
      {
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
        clusterResourceBlacklist: [
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        ],
      },
      gk('rbac.authorization.k8s.io', 'ClusterRole', false, 'cluster-admin'),
      false,
    ],
    [
      'blacklist by name keeps other names',
      {
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
        clusterResourceBlacklist: [
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        ],
      },
      gk('rbac.authorization.k8s.io', 'ClusterRole', false, 'team-a-reader'),
      true,
    ],
    // capstan's own kinds count like any other
    [
      'a child Application where the namespace whitelist omits it',
      { namespaceResourceWhitelist: [{ group: '', kind: 'ConfigMap' }] },
      gk('argoproj.io', 'Application', true),
      false,
    ],
    [
      'an AppProject blacklisted',
      { namespaceResourceBlacklist: [{ group: 'argoproj.io', kind: 'AppProject' }] },
      gk('argoproj.io', 'AppProject', true),
      false,
    ],
  ];
  for (const [name, project, obj, want] of cases) {
    test(`${name}: ${want}`, () => assert.equal(groupKindNamePermitted(project, obj), want));
  }
});

describe('pathMatch (Go filepath.Match on groups and kinds)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', '', true], // the core group
    ['*', 'apps', true],
    ['', '', true],
    ['', 'apps', false],
    ['apps', 'apps', true],
    ['app?', 'apps', true],
    ['[a-c]pps', 'apps', true],
    ['[^a-c]pps', 'apps', false],
    ['*.k8s.io', 'rbac.authorization.k8s.io', true],
    ['[', 'x', false], // malformed
    ['\\*', '*', true],
  ];
  for (const [pattern, text, want] of cases) {
    test(`${pattern} ~ ${text} = ${want}`, () => assert.equal(pathMatch(pattern, text), want));
  }
});

describe('resourceViolation: kinds and each object`s own namespace', () => {
  const project: ProjectSpec = { destinations: [{ server: '*', namespace: 'team-a' }] };
  const dest = { server: 'https://kubernetes.default.svc', namespace: 'team-a' };
  const obj = (o: Partial<ObjectIdentity>): ObjectIdentity => ({
    group: '',
    kind: 'ConfigMap',
    name: 'cm',
    namespace: 'team-a',
    namespaced: true,
    ...o,
  });
  test('a ConfigMap in the destination namespace is permitted', () => {
    assert.equal(resourceViolation('team-a', project, obj({}), dest), undefined);
  });
  test('a ConfigMap whose own namespace is kube-system is refused', () => {
    assert.equal(
      resourceViolation('team-a', project, obj({ namespace: 'kube-system' }), dest),
      "namespace kube-system is not permitted in project 'team-a'",
    );
  });
  test('a ClusterRole is refused with Argo CD`s message', () => {
    assert.equal(
      resourceViolation(
        'team-a',
        project,
        obj({ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', namespace: '', namespaced: false }),
        dest,
      ),
      'resource rbac.authorization.k8s.io:ClusterRole is not permitted in project team-a',
    );
  });
  test('a core cluster-scoped kind shows an empty group', () => {
    assert.equal(
      resourceViolation('p', project, obj({ kind: 'Namespace', namespace: '', namespaced: false }), dest),
      'resource :Namespace is not permitted in project p',
    );
  });
  test('a child Application in the controller namespace is refused when that is no destination', () => {
    assert.equal(
      resourceViolation(
        'team-a',
        project,
        obj({ group: 'argoproj.io', kind: 'Application', namespace: 'argocd' }),
        dest,
      ),
      "namespace argocd is not permitted in project 'team-a'",
    );
  });
  test('deny destinations apply to objects too', () => {
    const p: ProjectSpec = {
      destinations: [
        { server: '*', namespace: '*' },
        { server: '*', namespace: '!kube-system' },
      ],
    };
    assert.equal(
      resourceViolation('p', p, obj({ namespace: 'kube-system' }), dest),
      "namespace kube-system is not permitted in project 'p'",
    );
    assert.equal(resourceViolation('p', p, obj({ namespace: 'other' }), dest), undefined);
  });
});
