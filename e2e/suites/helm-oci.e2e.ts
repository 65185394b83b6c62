/**
 * Charts from a real local OCI registry (go-containerregistry's `registry`, charts pushed with
 * `helm push`, Basic auth by the harness's proxy, e2e/harness/ociregistry.ts), in both of Argo CD's
 * forms: `oci://registry/path` and `registry/path` with an `enableOCI` repository Secret. A range
 * resolved from the registry's tags, a version pushed mid-test picked up by a hard refresh, a wrong
 * password as a ComparisonError that prunes nothing, and a chart in git whose dependency is in the
 * registry (`helm dependency build` with the registry credentials).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { configMapTemplate, writeChart } from '../harness/helmrepo';
import { startOciRegistry, type OciRegistry } from '../harness/ociregistry';
import { dataOf, hasCondition, putHelmRepoSecret } from './helmrepo-lib';
import {
  core,
  createApp,
  createNamespace,
  getObject,
  refreshApp,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

const dest = (ns: string) => ({ server: 'https://kubernetes.default.svc', namespace: ns });

describe('OCI registry charts', () => {
  let git: GitServer;
  let registry: OciRegistry;
  let secret: string;
  const creds = (password: string) => ({
    url: `${registry.authHost}/charts`,
    enableOCI: 'true',
    insecureOCIForceHttp: 'true',
    username: 'oci-user',
    password,
  });
  before(async () => {
    git = await startGitServer();
    registry = await startOciRegistry({ username: 'oci-user', password: 'oci-secret' });
    for (const version of ['1.4.0', '1.4.3', '1.5.0']) {
      await registry.publish(
        { name: 'web', version, templates: { 'cm.yaml': configMapTemplate('web-config') } },
        'charts',
      );
    }
    await registry.publish(
      { name: 'dep', version: '0.1.0', templates: { 'cm.yaml': configMapTemplate('dep-config') } },
      'charts',
    );
    secret = `oci-${Date.now().toString(36)}`;
    await putHelmRepoSecret(secret, creds('oci-secret'));
  });
  after(async () => {
    await registry?.stop();
    await git?.stop();
  });

  test('oci:// with a range, registry/path with enableOCI; a pushed version is picked up; wrong password', async () => {
    const ns = uniqueName('oci');
    await createNamespace(ns);
    await createApp(ns, 'ranged', {
      project: 'default',
      source: { repoURL: `oci://${registry.authHost}/charts`, chart: 'web', targetRevision: '~1.4' },
      destination: dest(ns),
      syncPolicy: { automated: { prune: true } },
    });
    await createApp(ns, 'exact', {
      project: 'default',
      source: {
        repoURL: `${registry.authHost}/charts`,
        chart: 'web',
        targetRevision: '1.5.0',
        helm: { releaseName: 'exact', valuesObject: { color: 'green' } },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: `${ns}-b` },
      syncPolicy: { automated: { prune: true }, syncOptions: ['CreateNamespace=true'] },
    });
    await waitForApp(ns, 'ranged', syncedAt('1.4.3'), 'Synced at 1.4.3 (highest ~1.4)');
    assert.equal(dataOf(await getObject(core(ns, 'configmaps', 'web-config'))).version, '1.4.3');
    await waitForApp(ns, 'exact', syncedAt('1.5.0'), 'Synced at 1.5.0 (registry/path form)');
    assert.deepEqual(dataOf(await getObject(core(`${ns}-b`, 'configmaps', 'web-config'))), {
      chart: 'web',
      version: '1.5.0',
      release: 'exact',
      color: 'green',
    });

    await registry.publish(
      { name: 'web', version: '1.4.7', templates: { 'cm.yaml': configMapTemplate('web-config') } },
      'charts',
    );
    await refreshApp(ns, 'ranged', 'hard');
    const picked = await waitForApp(
      ns,
      'ranged',
      (a) => syncedAt('1.4.7')(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced at 1.4.7 after the push',
    );
    assert.equal(dataOf(await getObject(core(ns, 'configmaps', 'web-config'))).version, '1.4.7');
    assert.deepEqual((picked.status?.history ?? []).map((h) => h.revision).slice(-2), ['1.4.3', '1.4.7']);

    const before = await getObject(core(ns, 'configmaps', 'web-config'));
    await putHelmRepoSecret(secret, creds('not-the-password'));
    try {
      await refreshApp(ns, 'ranged', 'hard');
      const failed = await waitForApp(
        ns,
        'ranged',
        hasCondition('ComparisonError', /HTTP 401 \(authentication failed: check the repository Secret/),
        'ComparisonError for the wrong password',
      );
      assert.doesNotMatch(JSON.stringify(failed.status), /not-the-password|oci-secret/);
      const still = await getObject(core(ns, 'configmaps', 'web-config'));
      assert.equal(still?.metadata.uid, before?.metadata.uid, 'nothing pruned or replaced');
    } finally {
      await putHelmRepoSecret(secret, creds('oci-secret'));
    }
    await refreshApp(ns, 'ranged', 'hard');
    await waitForApp(
      ns,
      'ranged',
      (a) => syncedAt('1.4.7')(a) && !hasCondition('ComparisonError', /./)(a),
      'recovered',
    );
  });

  test('a chart in git with a dependency in the registry is built with helm dependency build', async () => {
    const ns = uniqueName('oci-dep');
    await createNamespace(ns);
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-dep-'));
    try {
      const chartDir = writeChart(src, {
        name: 'parent',
        version: '0.1.0',
        templates: { 'cm.yaml': configMapTemplate('parent-config') },
        dependencies: [{ name: 'dep', version: '0.1.0', repository: `oci://${registry.authHost}/charts` }],
      });
      const repo = await git.createRepo(ns, chartDir);
      const sha = await repo.headSha();
      await createApp(ns, 'parent', {
        project: 'default',
        source: { repoURL: repo.url, targetRevision: 'HEAD', path: '.' },
        destination: dest(ns),
        syncPolicy: { automated: { prune: true } },
      });
      await waitForApp(ns, 'parent', syncedAt(sha), `Synced at ${sha}`);
      assert.deepEqual(dataOf(await getObject(core(ns, 'configmaps', 'dep-config'))), {
        chart: 'dep',
        version: '0.1.0',
        release: 'parent',
        color: 'none',
      });
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  });
});
