/**
 * App of apps: a root Application over a folder of Application manifests creates the child
 * Applications, which capstan then syncs on their own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startGitServer, GitServer } from '../harness/gitserver';
import { ROOT } from '../operator';
import { core, createApp, createNamespace, getObject, syncedAt, uniqueName, waitForApp } from './lib';

describe('app of apps', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('a root Application creates child Applications that sync their own resources', async () => {
    const ns = uniqueName('root');
    const children = ['child-a', 'child-b'].map((c) => `${ns}-${c}`);
    for (const n of [ns, ...children]) await createNamespace(n);
    const childRepo = await git.createRepo(`${ns}-child`, path.join(ROOT, 'e2e', 'fixtures', 'apps-child'));
    const childSha = await childRepo.headSha();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'root-'));
    fs.mkdirSync(path.join(dir, 'apps'));
    for (const child of children) {
      const app = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: child },
        spec: {
          project: 'default',
          source: { repoURL: childRepo.url, targetRevision: 'main', path: '.' },
          destination: { server: 'https://kubernetes.default.svc', namespace: child },
          syncPolicy: { automated: { prune: true } },
        },
      };
      fs.writeFileSync(path.join(dir, 'apps', `${child}.yaml`), stringify(app));
    }
    const rootRepo = await git.createRepo(ns, dir);
    const rootSha = await rootRepo.headSha();
    await createApp(ns, 'root', {
      project: 'default',
      source: { repoURL: rootRepo.url, targetRevision: 'main', path: 'apps' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const root = await waitForApp(ns, 'root', syncedAt(rootSha), 'root Synced');
    assert.deepEqual(
      (root.status?.resources ?? []).map((r) => `${r.kind}/${r.name}`).sort(),
      children.map((c) => `Application/${c}`),
    );
    for (const child of children) {
      // The child Applications live in the root's destination namespace and deploy into their own.
      await waitForApp(ns, child, syncedAt(childSha), `${child} Synced`);
      const cm = await getObject(core(child, 'configmaps', 'child-config'));
      assert.equal(
        cm?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
        `${ns}_${child}:/ConfigMap:${child}/child-config`,
      );
    }
  });

  test('waves on child Applications: the second child starts only after the first is Healthy', async () => {
    const ns = uniqueName('waves-root');
    const [first, second] = ['first', 'second'].map((c) => `${ns}-${c}`);
    for (const n of [ns, first, second]) await createNamespace(n);
    const childRepo = await git.createRepo(`${ns}-child`, path.join(ROOT, 'e2e', 'fixtures', 'selfheal'));
    const childSha = await childRepo.headSha();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'root-'));
    [first, second].forEach((child, wave) => {
      const app = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: child, annotations: { 'argocd.argoproj.io/sync-wave': String(wave) } },
        spec: {
          project: 'default',
          source: { repoURL: childRepo.url, targetRevision: 'main', path: '.' },
          destination: { server: 'https://kubernetes.default.svc', namespace: child },
          syncPolicy: { automated: { prune: true } },
        },
      };
      fs.writeFileSync(path.join(dir, `${child}.yaml`), stringify(app));
    });
    const rootRepo = await git.createRepo(ns, dir);
    const rootSha = await rootRepo.headSha();
    await createApp(ns, 'root', {
      project: 'default',
      source: { repoURL: rootRepo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    await waitForApp(
      ns,
      'root',
      (a) => syncedAt(rootSha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'root synced',
      90_000,
    );
    const a = await waitForApp(
      ns,
      first,
      (x) => syncedAt(childSha)(x) && x.status?.health?.status === 'Healthy',
      'first Healthy',
    );
    const b = await waitForApp(ns, second, (x) => syncedAt(childSha)(x), 'second Synced');
    const firstDone = Date.parse(a.status?.operationState?.finishedAt ?? '');
    const secondCreated = Date.parse(b.metadata.creationTimestamp ?? '');
    // creationTimestamp has one-second resolution: compare at that resolution.
    assert.ok(
      secondCreated >= Math.floor(firstDone / 1000) * 1000,
      `second created ${b.metadata.creationTimestamp} after first synced ${a.status?.operationState?.finishedAt}`,
    );
  });
});
