import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, KubeClient, RequestOptions } from '../kube/client';
import {
  findOrphans,
  ignoredOrphan,
  NamespacedObjectMeta,
  NamespaceLister,
  orphanCondition,
  orphanedResourceWarning,
} from './orphans';
import type { App } from './api';
import type { Logger } from '../log';

const obj = (
  kind: string,
  name: string,
  extra: Partial<NamespacedObjectMeta> = {},
): NamespacedObjectMeta => ({
  group: '',
  kind,
  namespace: 'team-a',
  name,
  owned: false,
  ...extra,
});

describe('ignoredOrphan: Argo CD known exclusions and the ignore list', () => {
  const cases: Array<[string, NamespacedObjectMeta, object, boolean]> = [
    ['default ServiceAccount', obj('ServiceAccount', 'default'), {}, true],
    ['another ServiceAccount', obj('ServiceAccount', 'builder'), {}, false],
    ['kube-root-ca.crt', obj('ConfigMap', 'kube-root-ca.crt'), {}, true],
    ['kubernetes Service in default', obj('Service', 'kubernetes', { namespace: 'default' }), {}, true],
    ['kubernetes Service elsewhere', obj('Service', 'kubernetes'), {}, false],
    ['ignore by kind', obj('ConfigMap', 'x'), { ignore: [{ kind: 'ConfigMap' }] }, true],
    [
      'ignore by kind glob and name glob',
      obj('ConfigMap', 'cache-1'),
      { ignore: [{ kind: 'Config*', name: 'cache-*' }] },
      true,
    ],
    [
      'ignore name glob miss',
      obj('ConfigMap', 'db'),
      { ignore: [{ kind: 'ConfigMap', name: 'cache-*' }] },
      false,
    ],
    [
      'empty group matches only the core group',
      obj('Deployment', 'd', { group: 'apps' }),
      { ignore: [{ kind: 'Deployment' }] },
      false,
    ],
    [
      'group glob',
      obj('Deployment', 'd', { group: 'apps' }),
      { ignore: [{ group: 'app*', kind: 'Deployment' }] },
      true,
    ],
    ['empty kind matches any kind of the group', obj('Secret', 's'), { ignore: [{ name: 's' }] }, true],
  ];
  for (const [name, o, settings, want] of cases)
    it(name, () => assert.equal(ignoredOrphan(o, settings), want));
});

describe('findOrphans / orphanCondition', () => {
  const objects = [
    obj('ConfigMap', 'stray'),
    obj('ConfigMap', 'mine', { trackedBy: 'guestbook' }),
    obj('Pod', 'web-1', { owned: true }),
    obj('Deployment', 'old', { group: 'apps' }),
    obj('ServiceAccount', 'default'),
    obj('Secret', 'token'),
  ];
  it('top-level, untracked, not excluded, permitted; sorted', () => {
    const found = findOrphans(objects, {}, (o) => o.kind !== 'Secret');
    assert.deepEqual(
      found.map((o) => `${o.group}/${o.kind}/${o.name}`),
      ['/ConfigMap/stray', 'apps/Deployment/old'],
    );
    assert.deepEqual(orphanCondition(found, {}), {
      type: 'OrphanedResourceWarning',
      message: 'Application has 2 orphaned resources: ConfigMap/stray, apps/Deployment/old',
    });
  });
  it('warn: false reports nothing; warn unset or true reports (Argo CD IsWarn)', () => {
    const found = findOrphans(objects, {});
    assert.equal(orphanCondition(found, { warn: false }), undefined);
    assert.ok(orphanCondition(found, { warn: true }));
    assert.equal(orphanCondition([], {}), undefined);
  });
  it('names at most 20 objects and counts the rest', () => {
    const many = Array.from({ length: 25 }, (_, i) => obj('ConfigMap', `c${String(i).padStart(2, '0')}`));
    const msg = orphanCondition(findOrphans(many, {}), {})!.message;
    assert.match(msg, /^Application has 25 orphaned resources: ConfigMap\/c00, .*ConfigMap\/c19 and 5 more$/);
  });
});

describe('NamespaceLister', () => {
  /** A stand-in for the API server's discovery and list answers (unit test of paging and filtering only). */
  function fakeClient(): { client: KubeClient; calls: Array<{ path: string; opts: RequestOptions }> } {
    const calls: Array<{ path: string; opts: RequestOptions }> = [];
    const answers: Record<string, unknown> = {
      '/apis': {
        groups: [
          { name: 'apps', preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } },
          { name: 'events.k8s.io', preferredVersion: { groupVersion: 'events.k8s.io/v1', version: 'v1' } },
          {
            name: 'coordination.k8s.io',
            preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' },
          },
        ],
      },
      '/api/v1': {
        resources: [
          { name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list', 'get'] },
          { name: 'secrets', kind: 'Secret', namespaced: true, verbs: ['list'] },
          { name: 'events', kind: 'Event', namespaced: true, verbs: ['list'] },
          { name: 'namespaces', kind: 'Namespace', namespaced: false, verbs: ['list'] },
          { name: 'pods/log', kind: 'Pod', namespaced: true, verbs: ['get'] },
          { name: 'bindings', kind: 'Binding', namespaced: true, verbs: ['create'] },
        ],
      },
      '/apis/apps/v1': {
        resources: [{ name: 'deployments', kind: 'Deployment', namespaced: true, verbs: ['list'] }],
      },
      '/apis/coordination.k8s.io/v1': {
        resources: [{ name: 'leases', kind: 'Lease', namespaced: true, verbs: ['list'] }],
      },
    };
    const client = {
      request: async (_method: string, path: string, opts: RequestOptions = {}) => {
        calls.push({ path, opts });
        if (path === '/api/v1/namespaces/team-a/configmaps') {
          if (!opts.query?.continue)
            return {
              items: [{ metadata: { name: 'a', namespace: 'team-a' } }],
              metadata: { continue: 'next' },
            };
          return {
            items: [
              {
                metadata: {
                  name: 'b',
                  namespace: 'team-a',
                  annotations: { 'argocd.argoproj.io/tracking-id': 'guestbook:/ConfigMap:team-a/b' },
                },
              },
              {
                metadata: {
                  name: 'copied',
                  namespace: 'team-a',
                  annotations: { 'argocd.argoproj.io/tracking-id': 'guestbook:/ConfigMap:team-a/b' },
                },
              },
            ],
          };
        }
        if (path === '/api/v1/namespaces/team-a/secrets') throw new KubeApiError(403, 'Forbidden', 'no');
        if (path === '/apis/apps/v1/namespaces/team-a/deployments')
          return {
            items: [{ metadata: { name: 'd', namespace: 'team-a', ownerReferences: [{ kind: 'X' }] } }],
          };
        if (path in answers) return answers[path];
        throw new KubeApiError(404, 'NotFound', path);
      },
    } as unknown as KubeClient;
    return { client, calls };
  }

  it('lists namespaced listable types, metadata only, all pages; skips excluded and forbidden types', async () => {
    const { client, calls } = fakeClient();
    const lister = new NamespaceLister(client);
    const objects = await lister.list('team-a');
    assert.deepEqual(
      objects
        .map((o) => [o.kind, o.name, o.owned, o.trackedBy])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
      [
        ['ConfigMap', 'a', false, undefined],
        ['ConfigMap', 'b', false, 'guestbook'],
        ['ConfigMap', 'copied', false, undefined],
        ['Deployment', 'd', true, undefined],
      ],
    );
    const listed = calls.filter((c) => c.path.includes('/namespaces/')).map((c) => c.path);
    assert.ok(!listed.some((p) => /events|leases|bindings|pods/.test(p)), listed.join());
    for (const c of calls.filter((c) => c.path.includes('/namespaces/')))
      assert.match(c.opts.accept ?? '', /PartialObjectMetadataList/);
  });

  it('reuses a listing within its TTL and lists again after', async () => {
    const { client, calls } = fakeClient();
    let now = 0;
    const lister = new NamespaceLister(client, { ttlMs: 5_000, now: () => now });
    await lister.list('team-a');
    const first = calls.length;
    await lister.list('team-a');
    assert.equal(calls.length, first);
    now = 6_000;
    await lister.list('team-a');
    assert.ok(calls.length > first);
  });
});

describe('orphanedResourceWarning', () => {
  const answers: Record<string, unknown> = {
    '/apis': {
      groups: [
        {
          name: 'argoproj.io',
          preferredVersion: { groupVersion: 'argoproj.io/v1alpha1', version: 'v1alpha1' },
        },
      ],
    },
    '/api/v1': { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list'] }] },
    '/apis/argoproj.io/v1alpha1': {
      resources: [{ name: 'applications', kind: 'Application', namespaced: true, verbs: ['list'] }],
    },
    '/api/v1/namespaces/team-a/configmaps': { items: [{ metadata: { name: 'stray', namespace: 'team-a' } }] },
    '/apis/argoproj.io/v1alpha1/namespaces/team-a/applications': {
      items: [
        { metadata: { name: 'app', namespace: 'team-a' } },
        { metadata: { name: 'other', namespace: 'team-a' } },
      ],
    },
  };
  const client = { request: async (_m: string, p: string) => answers[p] } as unknown as KubeClient;
  const log = { warn: () => undefined } as unknown as Logger;
  const app = {
    metadata: { name: 'app', namespace: 'team-a' },
    spec: { project: 'p', destination: { server: 'https://kubernetes.default.svc', namespace: 'team-a' } },
  } as unknown as App;

  it("names untracked objects but not the app's own Application; nothing without orphanedResources", async () => {
    const permissive = { namespaceResourceWhitelist: undefined, orphanedResources: {} };
    assert.equal(
      (await orphanedResourceWarning({ client, log }, app, permissive))?.message,
      'Application has 2 orphaned resources: ConfigMap/stray, argoproj.io/Application/other',
    );
    assert.equal(await orphanedResourceWarning({ client, log }, app, {}), undefined);
    assert.equal(
      await orphanedResourceWarning({ client, log }, app, { orphanedResources: { warn: false } }),
      undefined,
    );
  });
  it('leaves out kinds the project does not permit in a namespace', async () => {
    const onlyConfigMaps = {
      namespaceResourceWhitelist: [{ group: '', kind: 'ConfigMap' }],
      orphanedResources: {},
    };
    assert.equal(
      (await orphanedResourceWarning({ client, log }, app, onlyConfigMaps))?.message,
      'Application has 1 orphaned resources: ConfigMap/stray',
    );
  });
});
