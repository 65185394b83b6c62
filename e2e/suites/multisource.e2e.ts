/**
 * Multi-source Applications (`spec.sources[]`, issue 11 §2) against the real control plane and a real git
 * daemon: a chart in one git repository takes a value file from a second repository (`ref: values`,
 * `$values/env/values.yaml`), which also renders manifests of its own (`path`); both sources are one app.
 * A commit to the values repository alone changes the app and shows both revisions; history records the
 * pair and a rollback (`operation.sync.revisions` + `sources`, as `argocd app rollback` writes it) syncs the
 * earlier pair. A ref-only source renders nothing; an unknown `$name` is an InvalidSpecError that applies
 * and prunes nothing. Argo CD's most-used form, a chart from a real Helm repository (`helm package` +
 * `helm repo index`, e2e/harness/helmrepo.ts) with values from git, follows both: a values commit, a new
 * chart version, and a rollback to the first (version, commit) pair.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, GitServer, GitRepo } from '../harness/gitserver';
import { configMapTemplate, startHelmRepo, type HelmRepoServer } from '../harness/helmrepo';
import {
  AppObject,
  FIXTURES,
  apps,
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

/** The multi-source fields of status that these tests read. */
interface MultiStatus {
  sync?: { status?: string; revisions?: string[] };
  sourceTypes?: string[];
  conditions?: Array<{ type: string; message: string }>;
  operationState?: {
    phase?: string;
    syncResult?: { revisions?: string[]; sources?: Array<Record<string, unknown>> };
  };
  history?: Array<{ id: number; revisions?: string[]; sources?: Array<Record<string, unknown>> }>;
  resources?: Array<{ kind: string; name: string }>;
}
const st = (a: AppObject): MultiStatus => (a.status ?? {}) as MultiStatus;

/** Synced at exactly these revisions, the last operation Succeeded and `history` has `entries` entries. */
const syncedAtPair = (revisions: string[], entries: number) => (a: AppObject) => {
  const s = st(a);
  return (
    s.sync?.status === 'Synced' &&
    JSON.stringify(s.sync.revisions) === JSON.stringify(revisions) &&
    s.operationState?.phase === 'Succeeded' &&
    (s.history?.length ?? 0) === entries
  );
};

/**
 * Rolls app `web` back to a history entry as `argocd app rollback` writes it for a multi-source app (the
 * entry's revisions and sources), automated sync off first as Argo CD requires; waits until history has
 * `entries` entries and the operation Succeeded.
 */
async function rollback(
  ns: string,
  entry: { revisions?: string[]; sources?: unknown[] },
  entries: number,
): Promise<AppObject> {
  await patchApp(ns, 'web', { spec: { syncPolicy: null } });
  await patchApp(ns, 'web', {
    operation: {
      sync: { revisions: entry.revisions, sources: entry.sources },
      initiatedBy: { username: 'e2e' },
    },
  });
  return waitForApp(
    ns,
    'web',
    (a) => (st(a).history?.length ?? 0) === entries && st(a).operationState?.phase === 'Succeeded',
    'rollback recorded in history',
  );
}

const greeting = async (ns: string, name: string): Promise<string | undefined> =>
  ((await getObject(core(ns, 'configmaps', name)))?.data as Record<string, string> | undefined)?.greeting;

describe('multi-source Application', () => {
  let git: GitServer;
  let charts: HelmRepoServer;
  before(async () => {
    git = await startGitServer();
    charts = await startHelmRepo();
    await charts.publish({
      name: 'web',
      version: '1.0.0',
      templates: { 'cm.yaml': configMapTemplate('web-config') },
    });
  });
  after(async () => {
    await charts?.stop();
    await git?.stop();
  });

  /** A namespace with a chart repository and a values repository. */
  async function repos(prefix: string): Promise<{ ns: string; charts: GitRepo; values: GitRepo }> {
    const ns = uniqueName(prefix);
    await createNamespace(ns);
    const charts = await git.createRepo(`${ns}-charts`, path.join(FIXTURES, 'chart'));
    const values = await git.createRepo(`${ns}-values`, path.join(FIXTURES, 'multisource-values'));
    return { ns, charts, values };
  }

  const chartSource = (charts: GitRepo, valueFile = '$values/env/values.yaml') => ({
    repoURL: charts.url,
    targetRevision: 'main',
    path: '.',
    helm: { valueFiles: [valueFile] },
  });

  test('chart + $values from a second repo; a values-only commit; history; rollback to the earlier pair', async () => {
    const { ns, charts, values } = await repos('multi');
    const c1 = await charts.headSha();
    const v1 = await values.headSha();
    await createApp(ns, 'web', {
      project: 'default',
      sources: [
        chartSource(charts),
        { repoURL: values.url, targetRevision: 'main', ref: 'values', path: 'manifests' },
      ],
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    let app = await waitForApp(ns, 'web', syncedAtPair([c1, v1], 1), `Synced at [${c1}, ${v1}]`);
    assert.deepEqual(st(app).sourceTypes, ['Helm', 'Directory']);
    assert.equal(await greeting(ns, 'web-config'), 'from-values-repo', 'the value file of the ref source');
    assert.equal(
      ((await getObject(core(ns, 'configmaps', 'web-config')))?.data as Record<string, string>).color,
      'green',
    );
    const extra = await getObject(core(ns, 'configmaps', 'extra'));
    assert.equal(
      extra?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
      `${ns}_web:/ConfigMap:${ns}/extra`,
    );
    assert.ok(await getObject(apps(ns, 'deployments', 'web-web')), 'the chart rendered');
    assert.deepEqual(
      st(app)
        .resources?.map((r) => `${r.kind}/${r.name}`)
        .sort(),
      ['ConfigMap/extra', 'ConfigMap/web-config', 'Deployment/web-web'],
    );
    const first = st(app).history![0];
    assert.deepEqual(first.revisions, [c1, v1]);
    assert.equal(first.sources?.length, 2);
    assert.deepEqual(st(app).operationState?.syncResult?.revisions, [c1, v1]);

    // A commit to the values repository alone: the chart's revision stays, the values' one moves.
    const v2 = await values.commit('greeting v2', (dir) =>
      fs.writeFileSync(path.join(dir, 'env', 'values.yaml'), 'greeting: v2\ncolor: green\n'),
    );
    await refreshApp(ns, 'web');
    app = await waitForApp(ns, 'web', syncedAtPair([c1, v2], 2), `Synced at [${c1}, ${v2}]`);
    assert.equal(await greeting(ns, 'web-config'), 'v2');
    assert.deepEqual(st(app).history![1].revisions, [c1, v2]);

    app = await rollback(ns, first, 3);
    assert.deepEqual(st(app).operationState?.syncResult?.revisions, [c1, v1]);
    assert.deepEqual(st(app).history![2].revisions, [c1, v1]);
    assert.equal(await greeting(ns, 'web-config'), 'from-values-repo', 'the values at the earlier revision');
    app = await waitForApp(
      ns,
      'web',
      (a) => st(a).sync?.status === 'OutOfSync',
      'OutOfSync against the newer values after the rollback',
    );
    assert.deepEqual(st(app).sync?.revisions, [c1, v2]);
    assert.ok(await getObject(core(ns, 'configmaps', 'extra')), 'the second source still applied');
  });

  test('a ref-only source renders nothing; an unknown $name is InvalidSpecError and prunes nothing', async () => {
    const { ns, charts, values } = await repos('multi-ref');
    const c1 = await charts.headSha();
    const v1 = await values.headSha();
    const refOnly = { repoURL: values.url, targetRevision: 'main', ref: 'values' };
    await createApp(ns, 'web', {
      project: 'default',
      sources: [chartSource(charts), refOnly],
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    let app = await waitForApp(ns, 'web', syncedAtPair([c1, v1], 1), `Synced at [${c1}, ${v1}]`);
    assert.deepEqual(
      st(app)
        .resources?.map((r) => `${r.kind}/${r.name}`)
        .sort(),
      ['ConfigMap/web-config', 'Deployment/web-web'],
      'nothing of the values repository itself',
    );
    assert.equal(await getObject(core(ns, 'configmaps', 'extra')), undefined);
    assert.equal(await greeting(ns, 'web-config'), 'from-values-repo');
    const uid = (await getObject(core(ns, 'configmaps', 'web-config')))?.metadata.uid;

    await patchApp(ns, 'web', {
      spec: { sources: [chartSource(charts, '$valuez/env/values.yaml'), refOnly] },
    });
    app = await waitForApp(
      ns,
      'web',
      (a) => !!st(a).conditions?.some((c) => c.type === 'InvalidSpecError'),
      'InvalidSpecError',
    );
    const cond = st(app).conditions!.find((c) => c.type === 'InvalidSpecError')!;
    assert.match(
      cond.message,
      /"\$valuez\/env\/values\.yaml": no source of this app has ref "valuez" \(refs: \$values\)/,
    );
    assert.equal(st(app).sync?.status, 'Unknown');
    // A later reconcile too (a refresh) changes nothing in the cluster.
    await refreshApp(ns, 'web');
    await waitForApp(
      ns,
      'web',
      (a) =>
        !a.metadata.annotations?.['argocd.argoproj.io/refresh'] &&
        a.status?.reconciledAt !== app.status?.reconciledAt,
      'reconciled again',
    );
    assert.equal(
      (await getObject(core(ns, 'configmaps', 'web-config')))?.metadata.uid,
      uid,
      'not pruned nor replaced',
    );
    assert.ok(await getObject(apps(ns, 'deployments', 'web-web')), 'not pruned');
    assert.equal((await getApp(ns, 'web')).status?.history?.length, 1, 'no sync ran');
  });

  test('a chart from a Helm repository with $values from git: values commit, new version, rollback', async () => {
    const ns = uniqueName('multi-chart');
    await createNamespace(ns);
    const values = await git.createRepo(`${ns}-values`, path.join(FIXTURES, 'multisource-values'));
    const v1 = await values.headSha();
    await createApp(ns, 'web', {
      project: 'default',
      sources: [
        {
          repoURL: charts.url,
          chart: 'web',
          targetRevision: '1.*',
          helm: { valueFiles: ['$values/env/values.yaml'] },
        },
        { repoURL: values.url, targetRevision: 'main', ref: 'values' },
      ],
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const data = async () =>
      (await getObject(core(ns, 'configmaps', 'web-config')))?.data as Record<string, string> | undefined;
    let app = await waitForApp(ns, 'web', syncedAtPair(['1.0.0', v1], 1), `Synced at [1.0.0, ${v1}]`);
    assert.deepEqual(st(app).sourceTypes, ['Helm', 'Ref']);
    assert.deepEqual(await data(), { chart: 'web', version: '1.0.0', release: 'web', color: 'green' });
    const first = st(app).history![0];

    const v2 = await values.commit('purple', (dir) =>
      fs.writeFileSync(path.join(dir, 'env', 'values.yaml'), 'greeting: v2\ncolor: purple\n'),
    );
    await refreshApp(ns, 'web');
    await waitForApp(ns, 'web', syncedAtPair(['1.0.0', v2], 2), `Synced at [1.0.0, ${v2}]`);
    assert.equal((await data())?.color, 'purple');

    await charts.publish({
      name: 'web',
      version: '1.1.0',
      templates: { 'cm.yaml': configMapTemplate('web-config') },
    });
    await refreshApp(ns, 'web', 'hard');
    app = await waitForApp(ns, 'web', syncedAtPair(['1.1.0', v2], 3), `Synced at [1.1.0, ${v2}]`);
    assert.deepEqual(await data(), { chart: 'web', version: '1.1.0', release: 'web', color: 'purple' });
    assert.deepEqual(
      st(app).history!.map((h) => h.revisions),
      [
        ['1.0.0', v1],
        ['1.0.0', v2],
        ['1.1.0', v2],
      ],
    );

    app = await rollback(ns, first, 4);
    assert.deepEqual(st(app).history![3].revisions, ['1.0.0', v1]);
    assert.deepEqual(await data(), { chart: 'web', version: '1.0.0', release: 'web', color: 'green' });
  });

  test("the app's project must permit every source's repoURL, the ref source's included", async () => {
    const { ns, charts, values } = await repos('multi-proj');
    const projects = `/apis/argoproj.io/v1alpha1/namespaces/${controllerNamespace()}/appprojects`;
    const project = (sourceRepos: string[]) => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: ns },
      spec: {
        sourceRepos,
        sourceNamespaces: [ns],
        destinations: [{ server: 'https://kubernetes.default.svc', namespace: ns }],
      },
    });
    await kube().request('POST', projects, { body: project([charts.url]) });
    try {
      await createApp(ns, 'web', {
        project: ns,
        sources: [chartSource(charts), { repoURL: values.url, targetRevision: 'main', ref: 'values' }],
        destination: { server: 'https://kubernetes.default.svc', namespace: ns },
        syncPolicy: { automated: { prune: true } },
      });
      const app = await waitForApp(
        ns,
        'web',
        (a) => !!st(a).conditions?.some((c) => c.type === 'InvalidSpecError'),
        'InvalidSpecError',
      );
      assert.equal(
        st(app).conditions!.find((c) => c.type === 'InvalidSpecError')!.message,
        `application repo ${values.url} is not permitted in project '${ns}'`,
      );
      assert.equal(await getObject(core(ns, 'configmaps', 'web-config')), undefined, 'nothing applied');

      await kube().request('PATCH', `${projects}/${ns}`, {
        body: { spec: { sourceRepos: [charts.url, values.url] } },
        contentType: 'application/merge-patch+json',
      });
      const [c1, v1] = [await charts.headSha(), await values.headSha()];
      await waitForApp(ns, 'web', syncedAtPair([c1, v1], 1), 'Synced once both repositories are permitted');
      assert.equal(await greeting(ns, 'web-config'), 'from-values-repo');
    } finally {
      await kube()
        .request('DELETE', `${projects}/${ns}`)
        .catch(() => undefined);
    }
  });

  test('an object two sources render is taken from the last one, with RepeatedResourceWarning', async () => {
    const { ns, charts, values } = await repos('multi-repeat');
    const [c1, v1] = [await charts.headSha(), await values.headSha()];
    await createApp(ns, 'web', {
      project: 'default',
      sources: [
        chartSource(charts),
        { repoURL: values.url, targetRevision: 'main', ref: 'values', path: 'override' },
      ],
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const app = await waitForApp(ns, 'web', syncedAtPair([c1, v1], 1), `Synced at [${c1}, ${v1}]`);
    assert.deepEqual((await getObject(core(ns, 'configmaps', 'web-config')))?.data, {
      greeting: 'overridden',
    });
    assert.deepEqual(
      st(app)
        .resources?.map((r) => `${r.kind}/${r.name}`)
        .sort(),
      ['ConfigMap/web-config', 'Deployment/web-web'],
    );
    assert.deepEqual(
      st(app)
        .conditions?.filter((c) => c.type === 'RepeatedResourceWarning')
        .map((c) => c.message),
      [
        `Resource /ConfigMap/${ns}/web-config appeared 2 times among application resources. ` +
          'Rendered by spec.sources 0, 1; the last one is applied.',
      ],
    );
  });
});
