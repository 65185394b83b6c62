/**
 * Charts from a real local Helm repository (`helm package` + `helm repo index`, served with Basic auth,
 * e2e/harness/helmrepo.ts), as Argo CD's `spec.source.chart`: a version range resolved to the highest
 * match with the repository Secret's credentials (`type: helm`), the version in status and history, a
 * version published mid-test picked up by a hard refresh, a wrong password as a ComparisonError that
 * prunes nothing, and a chart in git whose dependency lives in the Helm repository (`helm dependency
 * build` with the same credentials), plus an unreachable dependency repository.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { configMapTemplate, startHelmRepo, writeChart, type HelmRepoServer } from '../harness/helmrepo';
import { dataOf, hasCondition, putHelmRepoSecret } from './helmrepo-lib';
import {
  core,
  createApp,
  createNamespace,
  getObject,
  patchApp,
  refreshApp,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

describe('Helm repository charts', () => {
  let git: GitServer;
  let repo: HelmRepoServer;
  before(async () => {
    git = await startGitServer();
    repo = await startHelmRepo({ username: 'charts', password: 'e2e-secret' });
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
      await repo.publish({ name: 'web', version, templates: { 'cm.yaml': configMapTemplate('web-config') } });
    }
    await repo.publish({
      name: 'dep',
      version: '0.1.0',
      templates: { 'cm.yaml': configMapTemplate('dep-config') },
    });
    await putHelmRepoSecret(`helmrepo-${Date.now().toString(36)}`, {
      url: repo.url,
      username: 'charts',
      password: 'e2e-secret',
    });
  });
  after(async () => {
    await repo?.stop();
    await git?.stop();
  });

  test('a version range resolves to the highest match; a new version is picked up; history records both', async () => {
    const ns = uniqueName('helmrepo');
    await createNamespace(ns);
    await createApp(ns, 'web', {
      project: 'default',
      source: {
        repoURL: repo.url,
        chart: 'web',
        targetRevision: '1.*',
        helm: { parameters: [{ name: 'color', value: 'blue' }] },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    await createApp(ns, 'pinned', {
      project: 'default',
      source: { repoURL: repo.url, chart: 'web', targetRevision: '1.0.0', helm: { releaseName: 'pinned' } },
      destination: { server: 'https://kubernetes.default.svc', namespace: `${ns}-pinned` },
      syncPolicy: { automated: { prune: true }, syncOptions: ['CreateNamespace=true'] },
    });
    const app = await waitForApp(ns, 'web', syncedAt('1.1.0'), 'Synced at 1.1.0');
    await waitForApp(ns, 'pinned', syncedAt('1.0.0'), 'Synced at exactly 1.0.0');
    assert.equal(repo.indexRequests(), 1, 'one index.yaml fetch for both apps within the refresh interval');
    assert.equal((app.status as Record<string, unknown>).sourceType, 'Helm');
    const cm = await getObject(core(ns, 'configmaps', 'web-config'));
    assert.deepEqual(cm?.data, { chart: 'web', version: '1.1.0', release: 'web', color: 'blue' });

    await repo.publish({
      name: 'web',
      version: '1.2.0',
      templates: { 'cm.yaml': configMapTemplate('web-config') },
    });
    await refreshApp(ns, 'web', 'hard');
    const after = await waitForApp(
      ns,
      'web',
      (a) => syncedAt('1.2.0')(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced at 1.2.0 after the new version',
    );
    const updated = await getObject(core(ns, 'configmaps', 'web-config'));
    assert.equal(dataOf(updated).version, '1.2.0');
    assert.equal(repo.indexRequests(), 2, 'the hard refresh fetched the index once more');
    const pinned = await getObject(core(`${ns}-pinned`, 'configmaps', 'web-config'));
    assert.equal(dataOf(pinned).version, '1.0.0', 'the exact version does not move');
    const revisions = (after.status?.history ?? []).map((h) => h.revision);
    assert.deepEqual(revisions.slice(-2), ['1.1.0', '1.2.0'], 'history records the chart versions');
  });

  test('a manual sync to an earlier chart version (a rollback) applies that version and records it', async () => {
    const ns = uniqueName('helmrepo-rb');
    await createNamespace(ns);
    await createApp(ns, 'web', {
      project: 'default',
      source: { repoURL: repo.url, chart: 'web', targetRevision: '1.*' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
    });
    await patchApp(ns, 'web', {
      operation: { sync: { revision: '1.0.0', prune: true }, initiatedBy: { username: 'e2e' } },
    });
    const app = await waitForApp(
      ns,
      'web',
      (a) => a.status?.operationState?.phase === 'Succeeded',
      'the sync to 1.0.0 succeeded',
    );
    assert.equal(app.status?.operationState?.syncResult?.revision, '1.0.0');
    assert.equal(dataOf(await getObject(core(ns, 'configmaps', 'web-config'))).version, '1.0.0');
    assert.equal(app.status?.history?.at(-1)?.revision, '1.0.0');
    const latest = await waitForApp(
      ns,
      'web',
      (a) => a.status?.sync?.status === 'OutOfSync' && !!a.status.sync.revision?.startsWith('1.'),
      'OutOfSync against the newest 1.* version',
    );
    assert.notEqual(latest.status?.sync?.revision, '1.0.0');
  });

  test('wrong credentials: ComparisonError naming the Secret, nothing pruned; fixed credentials recover', async () => {
    const ns = uniqueName('helmrepo-auth');
    await createNamespace(ns);
    const own = await startHelmRepo({ username: 'team', password: 'right' });
    try {
      await own.publish({
        name: 'web',
        version: '3.0.0',
        templates: { 'cm.yaml': configMapTemplate('own-config') },
      });
      const secret = `helmrepo-auth-${Date.now().toString(36)}`;
      await putHelmRepoSecret(secret, { url: own.url, username: 'team', password: 'right' });
      await createApp(ns, 'own', {
        project: 'default',
        source: { repoURL: own.url, chart: 'web', targetRevision: '3.0.0' },
        destination: { server: 'https://kubernetes.default.svc', namespace: ns },
        syncPolicy: { automated: { prune: true } },
      });
      await waitForApp(ns, 'own', syncedAt('3.0.0'), 'Synced at 3.0.0');
      const before = await getObject(core(ns, 'configmaps', 'own-config'));
      await putHelmRepoSecret(secret, { url: own.url, username: 'team', password: 'wrong-password' });
      await refreshApp(ns, 'own', 'hard');
      const failed = await waitForApp(
        ns,
        'own',
        hasCondition('ComparisonError', /HTTP 401 \(authentication failed: check the repository Secret/),
        'ComparisonError for the wrong password',
      );
      assert.doesNotMatch(JSON.stringify(failed.status), /wrong-password|right/);
      const log = process.env.CAPSTAN_E2E_OPERATOR_LOG;
      assert.ok(log, 'CAPSTAN_E2E_OPERATOR_LOG is set by e2e/run.ts');
      assert.match(fs.readFileSync(log, 'utf8'), /HTTP 401/, 'the failure is logged');
      assert.doesNotMatch(
        fs.readFileSync(log, 'utf8'),
        /wrong-password|e2e-secret/,
        'no password in the log',
      );
      const still = await getObject(core(ns, 'configmaps', 'own-config'));
      assert.equal(still?.metadata.uid, before?.metadata.uid, 'nothing pruned or replaced');
      await putHelmRepoSecret(secret, { url: own.url, username: 'team', password: 'right' });
      await refreshApp(ns, 'own', 'hard');
      await waitForApp(
        ns,
        'own',
        (a) => syncedAt('3.0.0')(a) && !hasCondition('ComparisonError', /./)(a),
        'recovered with the right password',
      );
    } finally {
      await own.stop();
    }
  });

  test('a repository Secret scoped to another project is never used: the app is refused', async () => {
    const ns = uniqueName('helmrepo-scope');
    await createNamespace(ns);
    const scoped = await startHelmRepo({ username: 'team-b', password: 'team-b-secret' });
    try {
      await scoped.publish({
        name: 'web',
        version: '1.0.0',
        templates: { 'cm.yaml': configMapTemplate('scoped') },
      });
      await putHelmRepoSecret(`helmrepo-scope-${Date.now().toString(36)}`, {
        url: scoped.url,
        username: 'team-b',
        password: 'team-b-secret',
        project: 'team-b',
      });
      await createApp(ns, 'web', {
        project: 'default',
        source: { repoURL: scoped.url, chart: 'web', targetRevision: '1.0.0' },
        destination: { server: 'https://kubernetes.default.svc', namespace: ns },
        syncPolicy: { automated: { prune: true } },
      });
      await waitForApp(
        ns,
        'web',
        hasCondition('ComparisonError', /is scoped to another project/),
        'refused: the only Secret belongs to project team-b',
      );
      assert.equal(scoped.indexRequests(), 0, 'the repository was never asked');
      assert.equal(await getObject(core(ns, 'configmaps', 'scoped')), undefined);
    } finally {
      await scoped.stop();
    }
  });

  test('a chart in git with a dependency from the Helm repository is built with helm dependency build', async () => {
    const ns = uniqueName('helmrepo-dep');
    await createNamespace(ns);
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'helmrepo-dep-'));
    try {
      const chartDir = writeChart(src, {
        name: 'parent',
        version: '0.1.0',
        templates: { 'cm.yaml': configMapTemplate('parent-config') },
        dependencies: [{ name: 'dep', version: '0.1.*', repository: repo.url }],
      });
      const broken = writeChart(src, {
        name: 'broken',
        version: '0.1.0',
        templates: { 'cm.yaml': configMapTemplate('broken-config') },
        dependencies: [{ name: 'dep', version: '0.1.*', repository: 'http://127.0.0.1:1/charts' }],
      });
      const tree = path.join(src, 'tree');
      fs.cpSync(chartDir, path.join(tree, 'parent'), { recursive: true });
      fs.cpSync(broken, path.join(tree, 'broken'), { recursive: true });
      const gitRepo = await git.createRepo(ns, tree);
      const sha = await gitRepo.headSha();
      await createApp(ns, 'parent', {
        project: 'default',
        source: { repoURL: gitRepo.url, targetRevision: 'HEAD', path: 'parent' },
        destination: { server: 'https://kubernetes.default.svc', namespace: ns },
        syncPolicy: { automated: { prune: true } },
      });
      await waitForApp(ns, 'parent', syncedAt(sha), `Synced at ${sha}`);
      const dep = await getObject(core(ns, 'configmaps', 'dep-config'));
      assert.deepEqual(dep?.data, { chart: 'dep', version: '0.1.0', release: 'parent', color: 'none' });
      assert.ok(await getObject(core(ns, 'configmaps', 'parent-config')));

      await createApp(ns, 'broken', {
        project: 'default',
        source: { repoURL: gitRepo.url, targetRevision: 'HEAD', path: 'broken' },
        destination: { server: 'https://kubernetes.default.svc', namespace: ns },
        syncPolicy: { automated: { prune: true } },
      });
      const app = await waitForApp(
        ns,
        'broken',
        hasCondition(
          'ComparisonError',
          /chart dependency "dep" \(repository http:\/\/127\.0\.0\.1:1\/charts\).*unreachable/,
        ),
        'ComparisonError naming the unreachable dependency repository',
      );
      assert.notEqual(app.status?.sync?.status, 'Synced');
      assert.equal(await getObject(core(ns, 'configmaps', 'broken-config')), undefined, 'nothing applied');
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  });
});
