/**
 * The Application compare pipeline's steps one by one: place (targets.ts), read live (livestate.ts, no GET,
 * capstan's recent writes first), assess (assess.ts) and the app cache (appcache.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Discovery, ResourceType, UnknownKindError } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import type { LiveCache } from '../kube/livecache';
import type { ProjectGate } from './project';
import type { App } from './api';
import type { ApplicationContext } from './context';
import { placeTargets, splitHooks } from './targets';
import { MSG_NOT_MANAGED, readLive } from './livestate';
import { assess, syncStatus } from './assess';
import { AppCache } from './appcache';
import { recentWrites } from '../sync/recent';
import type { DesiredState } from './desired';

const cmType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
const discovery = {
  resourceFor: async (apiVersion: string, kind: string) => {
    if (kind === 'ConfigMap') return cmType;
    throw new UnknownKindError(apiVersion, kind);
  },
} as unknown as Discovery;
const allow: ProjectGate = { problems: [], objectViolation: () => undefined } as unknown as ProjectGate;
const app = {
  metadata: { name: 'a', namespace: 'argocd' },
  spec: { project: 'default', destination: { namespace: 'dest' } },
};
const cm = (name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
});

test('splitHooks sets hooks apart and drops objects marked to be skipped', () => {
  const hook = cm('h', { annotations: { 'argocd.argoproj.io/hook': 'PreSync' } });
  const skipped = cm('s', { annotations: { 'argocd.argoproj.io/hook': 'Skip' } });
  const { plain, hooks } = splitHooks([cm('a'), hook, skipped]);
  assert.deepEqual(
    plain.map((o) => o.metadata.name),
    ['a'],
  );
  assert.deepEqual(
    hooks.map((h) => [h.obj.metadata.name, h.types]),
    [['h', ['PreSync']]],
  );
});

test('placeTargets: destination namespace and tracking; an unknown kind and a refused object are final', async () => {
  const gate = {
    problems: [],
    objectViolation: (o: { name: string }) => (o.name === 'no' ? 'not permitted' : undefined),
  } as unknown as ProjectGate;
  const unknown: KubeObject = { apiVersion: 'x.io/v1', kind: 'Widget', metadata: { name: 'w' } };
  const placed = await placeTargets(discovery, app, 'a', [cm('c'), unknown, cm('no')], gate);
  assert.equal(placed[0].compare, true);
  assert.equal(placed[0].resource.namespace, 'dest');
  assert.equal(
    placed[0].resource.target?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
    'a:/ConfigMap:dest/c',
  );
  assert.equal(placed[0].resource.target?.metadata.labels?.['capstan.dev/managed'], 'true');
  assert.deepEqual([placed[1].compare, placed[1].resource.status], [false, 'OutOfSync']);
  assert.deepEqual(
    [placed[2].compare, placed[2].resource.status, placed[2].resource.denied],
    [false, 'Unknown', 'not permitted'],
  );
});

test("readLive reads the live cache only (no GET), and capstan's newer write first", async () => {
  const cache: { held?: KubeObject } = {};
  const live = { get: async () => cache.held } as unknown as LiveCache;
  const target = cm('fresh', { namespace: 'dest' });
  assert.equal(await readLive(live, cmType, target), undefined, 'not in the cache: not managed');
  recentWrites.stored(cmType, {
    ...target,
    metadata: { ...target.metadata, uid: 'u', resourceVersion: '5' },
  });
  assert.equal((await readLive(live, cmType, target))?.metadata.resourceVersion, '5', 'just applied');
  cache.held = { ...target, metadata: { ...target.metadata, uid: 'u', resourceVersion: '6' } };
  assert.equal((await readLive(live, cmType, target))?.metadata.resourceVersion, '6', 'the cache caught up');
});

test('assess: an object the cache lacks is OutOfSync (not managed yet) without any request', async () => {
  const requests: string[] = [];
  const ctx = {
    client: { request: async (m: string, p: string) => void requests.push(`${m} ${p}`) },
    live: { get: async () => undefined, indexed: () => [], ensure: async () => undefined },
    discovery,
  } as unknown as ApplicationContext;
  const placed = await placeTargets(discovery, app, 'a', [cm('never-applied')], allow);
  const desired: DesiredState = {
    revisions: ['r'],
    sourceTypes: ['Directory'],
    targets: placed,
    hooks: [],
    repeated: [],
    gate: allow,
  };
  const out = await assess(ctx, app, 'a', desired);
  assert.equal(out.status, 'OutOfSync');
  assert.equal(out.resources[0].message, MSG_NOT_MANAGED);
  assert.deepEqual(requests, []);
  assert.equal(out.desired, desired, 'kept, to be assessed again after a sync');
});

test('syncStatus: every resource Synced, an IgnoreExtraneous prune candidate left out', () => {
  const synced = {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    namespace: 'n',
    name: 'a',
    status: 'Synced' as const,
  };
  const extraneous = {
    ...synced,
    name: 'b',
    status: 'OutOfSync' as const,
    requiresPruning: true,
    live: cm('b', { annotations: { 'argocd.argoproj.io/compare-options': 'IgnoreExtraneous' } }),
  };
  assert.equal(syncStatus([synced]), 'Synced');
  assert.equal(syncStatus([synced, extraneous]), 'Synced');
  assert.equal(syncStatus([synced, { ...extraneous, live: cm('b') }]), 'OutOfSync');
});

test('AppCache keeps the newest version, copies on read, forgets deleted apps', () => {
  const c = new AppCache();
  const at = (rv: string, extra: Record<string, unknown> = {}) =>
    ({
      metadata: { name: 'a', namespace: 'argocd', uid: 'u', resourceVersion: rv, managedFields: [{}] },
      ...extra,
    }) as unknown as App;
  c.observe(at('10', { status: { reconciledAt: 'new' } }));
  c.observe(at('9', { status: { reconciledAt: 'old' } }));
  const got = c.get('argocd', 'a');
  assert.equal(got?.status?.reconciledAt, 'new', 'an older event does not replace a newer write');
  assert.equal(got?.metadata.managedFields, undefined, 'managedFields are not kept');
  got!.status = {};
  assert.equal(c.get('argocd', 'a')?.status?.reconciledAt, 'new', 'a reconcile changes its own copy');
  c.delete('argocd', 'a');
  assert.equal(c.get('argocd', 'a'), undefined);
});
