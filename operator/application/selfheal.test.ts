/**
 * Self-heal as a selective sync (issue 10 P3): which resources it syncs (autosync.ts outOfSync, as Argo CD's
 * autoSync) and when its `CreateNamespace=true` apply can be left out (operation.ts namespaceExists).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from './api';
import type { Comparison, ManagedResource } from './compare';
import { outOfSync, SyncRequest } from './autosync';
import { namespaceExists } from './operation';

const live = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'dest' } };
const res = (name: string, status: 'Synced' | 'OutOfSync', extra: Partial<ManagedResource> = {}) =>
  ({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    namespace: 'dest',
    name,
    status,
    live,
    ...extra,
  }) as ManagedResource;
const cmp = (resources: ManagedResource[]): Comparison => ({
  revisions: ['r'],
  sourceTypes: ['Directory'],
  resources,
  hooks: [],
  status: 'OutOfSync',
});
const app = (syncPolicy: object = {}): App =>
  ({
    metadata: { name: 'a', namespace: 'argocd' },
    spec: {
      project: 'default',
      source: { repoURL: 'git://x/r.git', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'dest' },
      syncPolicy: { syncOptions: ['CreateNamespace=true'], ...syncPolicy },
    },
  }) as unknown as App;
const heal = (c: Comparison): SyncRequest => ({
  manual: false,
  prune: true,
  dryRun: false,
  initiatedBy: { automated: true },
  selfHeal: true,
  resources: outOfSync(c),
});

test('a self-heal of drifted objects that exist applies no namespace', () => {
  const c = cmp([res('in-sync', 'Synced'), res('drifted', 'OutOfSync')]);
  assert.equal(namespaceExists(app(), c, heal(c)), true);
});

test('a self-heal of a deleted object applies the namespace (it may be gone with the object)', () => {
  const c = cmp([res('in-sync', 'Synced'), res('deleted', 'OutOfSync', { live: undefined })]);
  assert.equal(namespaceExists(app(), c, heal(c)), false);
});

test('a full sync, managed namespace metadata or an object elsewhere keeps the namespace apply', () => {
  const c = cmp([res('drifted', 'OutOfSync')]);
  const full: SyncRequest = { ...heal(c), resources: undefined };
  assert.equal(namespaceExists(app(), c, full), false, 'full sync');
  assert.equal(
    namespaceExists(app({ managedNamespaceMetadata: { labels: { team: 'a' } } }), c, heal(c)),
    false,
    'managedNamespaceMetadata',
  );
  const other = cmp([res('drifted', 'OutOfSync', { namespace: 'other' })]);
  assert.equal(namespaceExists(app(), other, heal(other)), false, 'an object outside the destination');
});
