/**
 * AppProject sync windows and orphaned resources on the real control plane:
 *
 * - a deny window (in a non-UTC time zone) that opened this minute and closes ~30 s from now holds the
 *   automated sync of a new app: nothing is applied, the app carries a SyncWindowBlocked condition naming
 *   the window and the time it closes; once it closes, the held sync runs by itself (no refresh asked),
 *   starting after the window's end;
 * - a manual sync (the `operation` field) inside a deny window without `manualSync` is held too, and runs
 *   within seconds once the project sets `manualSync: true` (the project change re-queues the app);
 * - `orphanedResources`: an object in the destination namespace that no app tracks is named in the app's
 *   OrphanedResourceWarning, while the app's own objects, Kubernetes' `default` ServiceAccount and
 *   `kube-root-ca.crt`, and an `ignore`d name are not; deleting the stray object clears the condition.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitServer, GitServer, GitRepo } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import {
  AppObject,
  controllerNamespace,
  core,
  createApp,
  createNamespace,
  getApp,
  getObject,
  kube,
  patchApp,
  refreshApp,
  uniqueName,
  waitForApp,
} from './lib';

const SERVER = 'https://kubernetes.default.svc';

const projectPath = (name = '') =>
  `/apis/argoproj.io/v1alpha1/namespaces/${controllerNamespace()}/appprojects${name ? '/' + name : ''}`;

async function createProject(name: string, spec: Record<string, unknown>): Promise<void> {
  await kube().request('POST', projectPath(), {
    body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name }, spec },
  });
}

async function patchProject(name: string, spec: Record<string, unknown>): Promise<void> {
  await kube().request('PATCH', projectPath(name), {
    body: { spec },
    contentType: 'application/merge-patch+json',
  });
}

const condition = (a: AppObject, type: string): string =>
  (a.status?.conditions ?? [])
    .filter((c) => c.type === type)
    .map((c) => c.message)
    .join(' | ');

const configMap = (name: string): string =>
  ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`, 'data:', '  k: v', ''].join('\n');

/** The wall-clock minute and hour of `ms` in `timeZone`. */
function localMinuteHour(ms: number, timeZone: string): { minute: number; hour: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { minute: get('minute'), hour: get('hour') };
}

/**
 * A deny window that opened at the start of the current minute (in `timeZone`) and closes `openForMs`
 * from now: its schedule, duration and end (epoch ms).
 */
function denyWindowClosingIn(openForMs: number, timeZone: string) {
  const now = Date.now();
  const minuteStart = now - (now % 60_000);
  const { minute, hour } = localMinuteHour(now, timeZone);
  const durationS = Math.ceil((now - minuteStart + openForMs) / 1000);
  return {
    window: { kind: 'deny', schedule: `${minute} ${hour} * * *`, duration: `${durationS}s`, timeZone },
    endMs: minuteStart + durationS * 1000,
  };
}

describe('appproject sync windows and orphaned resources', () => {
  let git: GitServer;
  let work: string;
  const projects: string[] = [];

  async function repoWith(name: string, files: Record<string, string>): Promise<GitRepo> {
    const dir = fs.mkdtempSync(path.join(work, `${name}-`));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    return git.createRepo(name, dir);
  }

  async function project(ns: string, spec: Record<string, unknown>): Promise<string> {
    const name = uniqueName('win');
    await createProject(name, {
      sourceRepos: ['*'],
      sourceNamespaces: [ns],
      destinations: [{ server: SERVER, namespace: ns }],
      ...spec,
    });
    projects.push(name);
    return name;
  }

  before(async () => {
    git = await startGitServer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-e2e-win-'));
  });
  after(async () => {
    await git?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a deny window holds an automated sync with a condition, and the sync runs when it closes', async () => {
    const ns = uniqueName('win-auto');
    await createNamespace(ns);
    const repo = await repoWith(ns, { 'cm.yaml': configMap('held') });
    // Kolkata is UTC+05:30: a window computed in UTC would be 5.5 hours off.
    const { window, endMs } = denyWindowClosingIn(30_000, 'Asia/Kolkata');
    const proj = await project(ns, { syncWindows: [{ ...window, namespaces: [ns] }] });
    await createApp(ns, 'app', {
      project: proj,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const end = new Date(endMs).toISOString().replace('.000Z', 'Z');
    const held = await waitForApp(
      ns,
      'app',
      (a) => condition(a, 'SyncWindowBlocked') !== '',
      'the automated sync held by the deny window',
      20_000,
    );
    assert.ok(Date.now() < endMs, 'observed while the window is open');
    assert.equal(
      condition(held, 'SyncWindowBlocked'),
      `Automated sync is blocked by sync window: deny window 0 (schedule '${window.schedule}', duration ${window.duration}, timeZone Asia/Kolkata) is active; syncs are allowed again at ${end}`,
    );
    assert.equal(held.status?.sync?.status, 'OutOfSync');
    assert.equal(held.status?.operationState, undefined, 'no operation started');
    assert.equal(await getObject(core(ns, 'configmaps', 'held')), undefined, 'nothing applied');

    const synced = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Succeeded' && condition(a, 'SyncWindowBlocked') === '',
      'the held sync to run once the window closed, and the condition to go',
      endMs - Date.now() + 20_000,
    );
    const startedAt = Date.parse(
      (synced.status?.operationState as { startedAt?: string } | undefined)?.startedAt ?? '',
    );
    assert.ok(startedAt >= endMs, `started at ${new Date(startedAt).toISOString()}, window closed at ${end}`);
    assert.equal(condition(synced, 'SyncWindowBlocked'), '');
    assert.ok(await getObject(core(ns, 'configmaps', 'held')));
  });

  test('a manual sync is held by a deny window until the project sets manualSync', async () => {
    const ns = uniqueName('win-manual');
    await createNamespace(ns);
    const repo = await repoWith(ns, { 'cm.yaml': configMap('manual') });
    // A window open all day, in UTC.
    const deny = { kind: 'deny', schedule: '0 0 * * *', duration: '24h', applications: ['app'] };
    const proj = await project(ns, { syncWindows: [deny] });
    await createApp(ns, 'app', {
      project: proj,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
    });
    await waitForApp(ns, 'app', (a) => a.status?.sync?.status === 'OutOfSync', 'compared');
    await patchApp(ns, 'app', {
      operation: { sync: { revision: 'main' }, initiatedBy: { username: 'e2e' } },
    });
    const held = await waitForApp(
      ns,
      'app',
      (a) =>
        condition(a, 'SyncWindowBlocked').startsWith('Manual sync is blocked by sync window: deny window 0'),
      'the manual sync held',
    );
    assert.ok((held as unknown as { operation?: unknown }).operation, 'the operation stays requested');
    assert.equal(await getObject(core(ns, 'configmaps', 'manual')), undefined, 'nothing applied');

    await patchProject(proj, { syncWindows: [{ ...deny, manualSync: true }] });
    const synced = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Succeeded' && condition(a, 'SyncWindowBlocked') === '',
      'the manual sync to run once manualSync is set, and the condition to go',
      20_000,
    );
    assert.equal(synced.status?.sync?.status, 'Synced');
    assert.ok(await getObject(core(ns, 'configmaps', 'manual')));
  });

  test('orphanedResources: untracked objects of the destination namespace are named in a warning', async () => {
    const ns = uniqueName('win-orphan');
    await createNamespace(ns);
    for (const name of ['stray', 'ignored-cache'])
      await kube().request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } },
      });
    const repo = await repoWith(ns, { 'cm.yaml': configMap('own') });
    const proj = await project(ns, {
      orphanedResources: { warn: true, ignore: [{ kind: 'ConfigMap', name: 'ignored-*' }] },
    });
    await createApp(ns, 'app', {
      project: proj,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    // kube-controller-manager creates the default ServiceAccount and kube-root-ca.crt in every namespace.
    await waitFor(async () => getObject(core(ns, 'serviceaccounts', 'default')), {
      timeoutMs: 30_000,
      what: 'the default ServiceAccount',
    });
    const warned = await waitForApp(
      ns,
      'app',
      (a) =>
        a.status?.operationState?.phase === 'Succeeded' &&
        condition(a, 'OrphanedResourceWarning') === 'Application has 1 orphaned resources: ConfigMap/stray',
      'the orphaned-resource warning naming only the stray ConfigMap',
    );
    assert.equal(warned.status?.sync?.status, 'Synced', 'the warning does not block the sync');
    assert.ok(await getObject(core(ns, 'configmaps', 'stray')), 'orphans are reported, never pruned');

    await kube().request('DELETE', core(ns, 'configmaps', 'stray'));
    await waitFor(
      async () => {
        await refreshApp(ns, 'app');
        const a = await getApp(ns, 'app');
        return condition(a, 'OrphanedResourceWarning') === '' && a;
      },
      { timeoutMs: 30_000, intervalMs: 1_000, what: 'the warning to clear once the stray ConfigMap is gone' },
    );
  });
});
