/**
 * App-of-apps cycles (issue 9 §1): an Application that renders, directly or through its children, an
 * Application that manages it. The self-managed bootstrap is the canonical one: the root Application
 * (created once by `helm install`) renders the `capstan` Application, whose source (capstan's chart)
 * renders the root again. Each app's health and sync waves used to wait for the other forever
 * (Progressing, "Sync operation is running"); an ancestor now counts as Healthy for its descendants, and
 * the cycle is shown once in status (condition AppOfAppsCycle).
 *
 * Every app here has a second wave (a ConfigMap in wave 1 after the Application in wave 0), so that its
 * sync really gates on the child Application's health.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startGitServer, GitServer, GitRepo } from '../harness/gitserver';
import { AppObject, core, createApp, createNamespace, getObject, uniqueName, waitForApp } from './lib';

/** One app of a loop: its name and the folder of the repository it syncs. */
interface LoopApp {
  name: string;
  path: string;
}

/** The spec of `app`, syncing its folder of `repo` into `ns`, automated. */
function specOf(repo: GitRepo, ns: string, app: LoopApp): Record<string, unknown> {
  return {
    project: 'default',
    source: { repoURL: repo.url, targetRevision: 'main', path: app.path },
    destination: { server: 'https://kubernetes.default.svc', namespace: ns },
    syncPolicy: { automated: { prune: true } },
  };
}

/**
 * Writes the loop into the repository: the folder of app i holds the Application of app i+1 (the last
 * one's holds the first app, exactly as the test creates it) in wave 0 and a ConfigMap in wave 1.
 * @returns the commit's SHA.
 */
async function commitLoop(repo: GitRepo, ns: string, loop: LoopApp[]): Promise<string> {
  return repo.commit('app-of-apps loop', (dir) => {
    loop.forEach((app, i) => {
      const next = loop[(i + 1) % loop.length];
      fs.mkdirSync(path.join(dir, app.path), { recursive: true });
      const child = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: next.name, annotations: { 'argocd.argoproj.io/sync-wave': '0' } },
        spec: specOf(repo, ns, next),
      };
      const config = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${app.name}-config`, annotations: { 'argocd.argoproj.io/sync-wave': '1' } },
        data: { app: app.name },
      };
      fs.writeFileSync(path.join(dir, app.path, `${next.name}.yaml`), stringify(child));
      fs.writeFileSync(path.join(dir, app.path, 'config.yaml'), stringify(config));
    });
  });
}

/** Synced at `sha`, Healthy, last operation Succeeded, and the cycle condition naming `cycle`. */
const settled = (sha: string, cycle: string) => (a: AppObject) =>
  a.status?.sync?.status === 'Synced' &&
  a.status.sync.revision === sha &&
  a.status.health?.status === 'Healthy' &&
  a.status.operationState?.phase === 'Succeeded' &&
  !!a.status.conditions?.some((c) => c.type === 'AppOfAppsCycle' && c.message.includes(`(${cycle})`));

describe('app-of-apps cycles', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  /**
   * Creates the first app of the loop (as `helm install` creates the root), then waits until every app
   * of the loop is settled and deployed its ConfigMap (the wave after the Application).
   */
  async function proveLoop(prefix: string, loop: LoopApp[]): Promise<void> {
    const ns = uniqueName(prefix);
    await createNamespace(ns);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    fs.writeFileSync(path.join(empty, 'README.md'), `${prefix}\n`);
    const repo = await git.createRepo(ns, empty);
    const sha = await commitLoop(repo, ns, loop);
    await createApp(ns, loop[0].name, specOf(repo, ns, loop[0]));
    const instance = (name: string) => `${ns}_${name}`;
    for (const [i, app] of loop.entries()) {
      // Each app sees the cycle from itself: it manages the next app, ..., which manages it.
      const from = [...loop.slice(i), ...loop.slice(0, i), app].map((a) => instance(a.name)).join(' -> ');
      const live = await waitForApp(
        ns,
        app.name,
        settled(sha, from),
        `Synced, Healthy, cycle ${from}`,
        90_000,
      );
      const next = loop[(i + 1) % loop.length].name;
      const child = live.status?.resources?.find((r) => r.kind === 'Application' && r.name === next);
      assert.equal(child?.status, 'Synced', `${app.name} tracks ${next}`);
      const cm = await getObject(core(ns, 'configmaps', `${app.name}-config`));
      assert.equal(
        cm?.data && (cm.data as Record<string, string>).app,
        app.name,
        `wave 1 of ${app.name} applied`,
      );
    }
    // The first app was adopted by the last one: its tracking id names the app that renders it.
    const first = await waitForApp(ns, loop[0].name, () => true, 'read');
    assert.equal(
      first.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
      `${instance(loop[loop.length - 1].name)}:argoproj.io/Application:${ns}/${loop[0].name}`,
    );
  }

  test('the self-managed bootstrap: root renders capstan, whose source renders root', async () => {
    await proveLoop('boot-cycle', [
      { name: 'root', path: 'apps' },
      { name: 'capstan', path: 'capstan' },
    ]);
  });

  test('a three-level loop a -> b -> c -> a', async () => {
    await proveLoop('loop3', [
      { name: 'a', path: 'a' },
      { name: 'b', path: 'b' },
      { name: 'c', path: 'c' },
    ]);
  });
});
