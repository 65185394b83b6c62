/**
 * The chart's namespaced (tenant) mode end to end (issue 9 §4): on a private control plane (RBAC on),
 * the RBAC of `rbac.clusterWide=false, watchNamespaces=[team-a]` is applied (Roles and RoleBindings
 * only, no ClusterRole), and capstan runs out of cluster **as the chart's ServiceAccount** (a
 * TokenRequest kubeconfig) with the rendered Deployment's flags (`--watch-namespaces=team-a` among
 * them). It shows: an Application deploying into the watched namespace syncs and self-heals; one
 * targeting an unwatched namespace and one rendering a cluster-scoped object get a ComparisonError
 * naming `--watch-namespaces` and nothing is created; an ExternalSecret of a fake SecretStore in the
 * watched namespace writes its Secret, one naming a ClusterSecretStore is refused with the flag's
 * name; and no request of capstan was forbidden (its log has no "forbidden").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../../operator/kube/object';
import type { GitRepo } from '../harness/gitserver';
import type { ManagedProcess } from '../harness/process';
import { toolPath } from '../harness/tools';
import { waitFor } from '../harness/wait';
import { ROOT, startOperatorAppending } from '../operator';
import {
  FAULT_CONTROLLER_NAMESPACE,
  createAppOn,
  createNamespaceOn,
  getObjectOn,
  startFaultEnv,
  waitForAppsOn,
  type FaultEnv,
} from './faults-lib';
import type { AppObject } from './lib';
import { tokenKubeconfig, chartFlags } from '../harness/chartsa';

const run = promisify(execFile);
const CHART = path.join(ROOT, 'helm-chart');
const NS = FAULT_CONTROLLER_NAMESPACE; // release and controller namespace
const WATCHED = 'team-a';
const UNWATCHED = 'team-b';
const ES_API = '/apis/external-secrets.io/v1';
const RELEASE = 'capstan';

/** A ConfigMap's `color` key. */
const colorOf = (o: KubeObject | undefined): string | undefined =>
  (o as { data?: Record<string, string> } | undefined)?.data?.color;

const configMap = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

describe('namespaced (tenant) install: rbac.clusterWide=false, --watch-namespaces', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-namespaced-'));
  const helmEnv = { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir };
  const logPath = path.join(dir, 'capstan.log');
  let env: FaultEnv | undefined;
  let proc: ManagedProcess | undefined;
  let repo: GitRepo | undefined;

  const k = async (...args: string[]): Promise<string> =>
    (await run(toolPath('kubectl'), ['--kubeconfig', env!.kubeconfig, ...args])).stdout;
  const withLog = (err: unknown): never => {
    throw new Error(`${(err as Error).message}\n--- capstan log ---\n${proc?.tail(40) ?? ''}`);
  };
  const waitApps = (names: string[], pred: (a: AppObject) => boolean, what: string) =>
    waitForAppsOn(env!.kube, NS, names, pred, { what, timeoutMs: 60_000 }).catch(withLog);
  const comparisonError = (a: AppObject): string | undefined =>
    a.status?.conditions?.find((c) => c.type === 'ComparisonError')?.message;

  before(async () => {
    env = await startFaultEnv({ startOperator: false });
    for (const ns of [WATCHED, UNWATCHED]) await createNamespaceOn(env.kube, ns);
    const values = [
      '--set',
      'rbac.clusterWide=false,defaultProject.create=false',
      '--set-json',
      `watchNamespaces=["${WATCHED}"]`,
    ];
    const { stdout } = await run(
      toolPath('helm'),
      ['template', RELEASE, CHART, '--namespace', NS, ...values],
      { env: helmEnv, maxBuffer: 64 << 20 },
    );
    const objects = parseAllDocuments(stdout)
      .map((d) => d.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);
    const rbacKinds = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
    const rbac = objects.filter((o) => rbacKinds.has(o.kind));
    assert.deepEqual(
      rbac.filter((o) => o.kind.startsWith('Cluster')),
      [],
      'the namespaced mode renders no ClusterRole or ClusterRoleBinding',
    );
    const rbacFile = path.join(dir, 'rbac.yaml');
    fs.writeFileSync(rbacFile, rbac.map((o) => stringify(o)).join('---\n'));
    await k('apply', '-f', rbacFile); // objects name their namespaces (release and watched)
    const deployment = objects.find((o) => o.kind === 'Deployment');
    assert.ok(deployment, 'a Deployment');
    const flags = chartFlags(deployment);
    assert.ok(flags.includes(`--watch-namespaces=${WATCHED}`), flags.join(' '));

    const token = (await k('create', 'token', RELEASE, '-n', NS, '--duration=1h')).trim();
    const saKubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(saKubeconfig, tokenKubeconfig(env.kubeconfig, token), { mode: 0o600 });

    const fixture = path.join(dir, 'fixture');
    fs.mkdirSync(path.join(fixture, 'app'), { recursive: true });
    fs.mkdirSync(path.join(fixture, 'cluster'), { recursive: true });
    fs.writeFileSync(path.join(fixture, 'app', 'cm.yaml'), stringify(configMap('guest', { color: 'blue' })));
    fs.writeFileSync(
      path.join(fixture, 'cluster', 'objects.yaml'),
      [
        stringify(configMap('cluster-app', { a: '1' })),
        stringify({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'tenant-escape' },
          rules: [],
        }),
      ].join('---\n'),
    );
    repo = await env.git.createRepo('namespaced', fixture);

    proc = await startOperatorAppending({
      kubeconfig: saKubeconfig,
      controllerNamespace: NS,
      logPath,
      cacheDir: path.join(dir, 'cache'),
      args: ['--metrics-port', '0', ...flags, '--log-format=text'],
    });
  });

  after(async () => {
    await proc?.stop();
    await env?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const appSpec = (repoPath: string, namespace: string) => ({
    project: 'default',
    source: { repoURL: repo!.url, targetRevision: 'main', path: repoPath },
    destination: { server: 'https://kubernetes.default.svc', namespace },
    syncPolicy: { automated: { prune: true, selfHeal: true } },
  });

  test('an Application in the watched namespace syncs and self-heals', async () => {
    assert.ok(env);
    await createAppOn(env.kube, NS, 'guestbook', appSpec('app', WATCHED));
    await waitApps(
      ['guestbook'],
      (a) => a.status?.sync?.status === 'Synced' && a.status.health?.status === 'Healthy',
      'Synced/Healthy',
    );
    const cmPath = `/api/v1/namespaces/${WATCHED}/configmaps/guest`;
    assert.deepEqual((await getObjectOn(env.kube, cmPath))?.data, { color: 'blue' });
    // A hand edit is reverted by self-heal (the namespaced informer saw the change).
    await env.kube.request('PATCH', cmPath, {
      body: { data: { color: 'red' } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor(async () => colorOf(await getObjectOn(env!.kube, cmPath)) === 'blue', {
      timeoutMs: 30_000,
      what: 'the hand edit reverted by self-heal',
    }).catch(withLog);
    // A deleted object comes back too.
    await env.kube.request('DELETE', cmPath);
    await waitFor(async () => colorOf(await getObjectOn(env!.kube, cmPath)) === 'blue', {
      timeoutMs: 30_000,
      what: 'the deleted ConfigMap recreated by self-heal',
    }).catch(withLog);
  });

  test('an Application targeting an unwatched namespace, or rendering a cluster-scoped object, gets a ComparisonError naming the flag; nothing is created', async () => {
    assert.ok(env);
    await createAppOn(env.kube, NS, 'away', appSpec('app', UNWATCHED));
    await createAppOn(env.kube, NS, 'escape', appSpec('cluster', WATCHED));
    const apps = await waitApps(
      ['away', 'escape'],
      (a) => /--watch-namespaces=team-a/.test(comparisonError(a) ?? ''),
      'ComparisonError naming --watch-namespaces',
    );
    assert.match(comparisonError(apps.get('away')!)!, /destination namespace "team-b" is not watched/);
    assert.match(comparisonError(apps.get('escape')!)!, /ClusterRole\/tenant-escape is cluster-scoped/);
    for (const name of ['away', 'escape'])
      assert.notEqual(
        apps.get(name)!.status?.sync?.status,
        'Synced',
        `${name}: ${JSON.stringify(apps.get(name)!.status?.sync)}`,
      );
    assert.equal(await getObjectOn(env.kube, `/api/v1/namespaces/${UNWATCHED}/configmaps/guest`), undefined);
    // Nothing of the refused app is applied, not even its namespaced objects.
    assert.equal(
      await getObjectOn(env.kube, `/api/v1/namespaces/${WATCHED}/configmaps/cluster-app`),
      undefined,
    );
    assert.equal(
      await getObjectOn(env.kube, '/apis/rbac.authorization.k8s.io/v1/clusterroles/tenant-escape'),
      undefined,
    );
  });

  test('an ExternalSecret of a fake SecretStore in the watched namespace writes its Secret; a ClusterSecretStore is refused with the flag', async () => {
    assert.ok(env);
    const objects = [
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'fake', namespace: WATCHED },
        spec: { provider: { fake: { data: [{ key: 'db-user', value: 'app' }] } } },
      },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'db', namespace: WATCHED },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: 'fake', kind: 'SecretStore' },
          data: [{ secretKey: 'user', remoteRef: { key: 'db-user' } }],
        },
      },
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'from-cluster', namespace: WATCHED },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' },
          data: [{ secretKey: 'x', remoteRef: { key: 'x' } }],
        },
      },
    ];
    const file = path.join(dir, 'es.yaml');
    fs.writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
    await k('apply', '-f', file);
    type Es = { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } };
    const ready = (es: Es | undefined) => es?.status?.conditions?.find((c) => c.type === 'Ready');
    const esPath = (name: string) => `${ES_API}/namespaces/${WATCHED}/externalsecrets/${name}`;
    await waitFor(
      async () => {
        const es = (await getObjectOn(env!.kube, esPath('db'))) as Es | undefined;
        const secret = await getObjectOn(env!.kube, `/api/v1/namespaces/${WATCHED}/secrets/db`);
        const keys = Object.keys((secret as { data?: Record<string, string> } | undefined)?.data ?? {});
        return ready(es)?.status === 'True' && keys.includes('user');
      },
      { timeoutMs: 30_000, what: `ExternalSecret ${WATCHED}/db Ready with key user` },
    ).catch(withLog);
    const refused = await waitFor(
      async () => {
        const c = ready((await getObjectOn(env!.kube, esPath('from-cluster'))) as Es | undefined);
        return c?.status === 'False' && /--watch-namespaces/.test(c.message ?? '') ? c : undefined;
      },
      { timeoutMs: 30_000, what: 'the ClusterSecretStore ExternalSecret refused naming --watch-namespaces' },
    ).catch(withLog);
    assert.match(refused.message ?? '', /ClusterSecretStore "shared" cannot be used/);
  });

  test('no request of capstan was forbidden', () => {
    const log = fs.readFileSync(logPath, 'utf8');
    assert.match(log, /Watching only namespaces team-a \(--watch-namespaces\)/);
    assert.doesNotMatch(log, /forbidden/i, 'no request of capstan was forbidden');
  });
});
