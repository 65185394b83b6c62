/** The render cache: apps of one plain directory share one render; other sources keep a per-app entry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeApiError } from '../kube/client';
import type { ResourceType } from '../kube/discovery';
import { clearRenderCache, compareApp, type ComparableApp } from './compare';
import type { ApplicationContext } from './context';

const CONFIGMAPS: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
const SHA = 'a'.repeat(40);

/** A context over a checkout dir; counts checkouts (one per render). */
function fakeCtx(root: string) {
  let checkouts = 0;
  const project = {
    metadata: { name: 'default' },
    spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }] },
  };
  const ctx = {
    settings: {
      controllerNamespace: 'argocd',
      helmBinary: 'helm',
      renderTimeoutMs: 10_000,
      refreshIntervalMs: 120_000,
    },
    projects: { ready: async () => undefined, get: () => project, problems: () => [] },
    repoCreds: { lookup: async () => undefined },
    git: {
      resolveRevision: async () => SHA,
      checkout: async () => {
        checkouts += 1;
        return root;
      },
      cacheRoot: () => root,
    },
    discovery: { resourceFor: async () => CONFIGMAPS },
    live: { get: async () => undefined, ensure: async () => undefined, indexed: () => [] },
    client: {
      request: async () => {
        throw new KubeApiError(404, 'NotFound', 'not found');
      },
    },
  } as unknown as ApplicationContext;
  return { ctx, checkouts: () => checkouts };
}

function app(name: string, source: Record<string, unknown>): ComparableApp {
  return {
    metadata: { name, namespace: 'argocd' },
    spec: {
      project: 'default',
      source: { repoURL: 'https://git.example/repo.git', path: 'app', targetRevision: 'main', ...source },
      destination: { server: 'https://kubernetes.default.svc', namespace: name },
    },
  } as ComparableApp;
}

test('apps of one plain directory share one render; the objects are placed per app', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rendercache-'));
  fs.mkdirSync(path.join(root, 'app'));
  fs.writeFileSync(
    path.join(root, 'app', 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "1"\n',
  );
  clearRenderCache();
  const { ctx, checkouts } = fakeCtx(root);
  const a = await compareApp(ctx, app('one', {}), 'one');
  const b = await compareApp(ctx, app('two', {}), 'two');
  assert.equal(checkouts(), 1, 'the second app reads the first one render');
  assert.equal(a.resources[0].namespace, 'one');
  assert.equal(b.resources[0].namespace, 'two');
  assert.equal(b.sourceTypes[0], 'Directory');
  // Another source (directory options) is another render.
  await compareApp(ctx, app('three', { directory: { recurse: true } }), 'three');
  assert.equal(checkouts(), 2);
  fs.rmSync(root, { recursive: true, force: true });
});
