/**
 * The self-managed bootstrap end to end (issue 9 §3), as a user runs it: a fresh cluster, a git
 * repository holding this repository's real `helm-chart/` and `apps/` (capstan's own Application of
 * that chart with the install's values, and a guestbook), then `helm install` with bootstrap once.
 *
 * capstan runs out of cluster but AS THE CHART'S ServiceAccount: a TokenRequest for it, a kubeconfig
 * with that token, and the flags of the installed Deployment's container, so that the chart's RBAC and
 * flags are what is exercised. The Deployment itself never runs capstan (kwok fakes its pod).
 *
 * Proven, in order, on one private control plane:
 *  1. the root and `capstan` Applications become Synced/Healthy within seconds; every object of the
 *     release (and the CRDs) is tracked by `capstan`; no object was deleted or re-created (UIDs), the
 *     Deployment's spec is unchanged and it has one ReplicaSet (never rolled); `helm status` says deployed;
 *  2. a commit changing values of capstan's own Application (logLevel, extraArgs) reaches its
 *     Deployment, and a field added to a CRD in `helm-chart/crds/` reaches the cluster (server-side
 *     apply; helm never upgrades crds/) with no object re-created;
 *  3. a commit adding a child Application syncs it; removing it prunes it and its resources
 *     (resources-finalizer);
 *  4. a template error committed to capstan's own chart is a ComparisonError: nothing is pruned or
 *     re-created, the Deployment is unchanged, capstan keeps running; the fixing commit recovers;
 *  5. a self-upgrade: a manual sync that rolls capstan's own Deployment (new flags) is held at a hook;
 *     the new pod starts as a standby, the old one gets SIGTERM, hands the Lease over at once (no
 *     lease expiry to wait out), and the new pod finishes the operation: the hook ran once, the
 *     Deployment was not rolled twice, one history entry, the `operation` field cleared;
 *  6. `helm uninstall` removes the release's objects and the root Application (it has no finalizer, so
 *     nothing cascades); the Applications git created and their workloads stay, as do the CRDs and the
 *     `default` AppProject (`helm.sh/resource-policy: keep`: a project deleted under its Applications
 *     would hang Terminating behind capstan's finalizer).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { KubeClient, loadKubeConfig } from '../../operator/kube/client';
import type { KubeObject } from '../../operator/kube/object';
import { startControlPlane, type ControlPlane } from '../harness/controlplane';
import { startGitServer, type GitRepo, type GitServer } from '../harness/gitserver';
import type { ManagedProcess } from '../harness/process';
import { toolPath } from '../harness/tools';
import { waitFor } from '../harness/wait';
import { ROOT, startOperatorAppending } from '../operator';
import { appSummary, changedKeys, getObjectOn, managedUids, resourcePath, waitForAppsOn } from './faults-lib';
import type { AppObject } from './lib';
import { tokenKubeconfig, chartFlags } from '../harness/chartsa';

const run = promisify(execFile);
/** Release name, and so the name of the chart's objects (the fullname is the release name). */
const RELEASE = 'capstan';
/** Release namespace and controller namespace. */
const NS = 'capstan';
/** Namespace of the guestbook's (and the extra app's) workloads. */
const APPS_NS = 'demo';
const FINALIZER = 'resources-finalizer.argocd.argoproj.io';
/** The five CRDs the chart's crds/ installs. */
const CRDS = [
  'applications.argoproj.io',
  'appprojects.argoproj.io',
  'externalsecrets.external-secrets.io',
  'secretstores.external-secrets.io',
  'clustersecretstores.external-secrets.io',
];

/** An object of the release as `helm get manifest` lists it. */
interface ReleaseObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** The values of the install, mirrored by capstan's own Application (the user's contract). */
function installValues(repo: GitRepo): Record<string, unknown> {
  return { bootstrap: { enabled: true, repoURL: repo.url, targetRevision: 'main', path: 'apps' } };
}

/** An Application of the root's `apps/` folder, synced automatically into `namespace`. */
function childApp(
  name: string,
  source: Record<string, unknown>,
  namespace: string,
  finalizer: boolean,
): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: NS, ...(finalizer ? { finalizers: [FINALIZER] } : {}) },
    spec: {
      project: 'default',
      source,
      destination: { server: 'https://kubernetes.default.svc', namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    },
  };
}

/** A folder with one ConfigMap (a child app's workload). */
function writeWorkload(dir: string, folder: string, name: string): void {
  fs.mkdirSync(path.join(dir, folder), { recursive: true });
  fs.writeFileSync(
    path.join(dir, folder, 'configmap.yaml'),
    stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { app: name } }),
  );
}

/**
 * Writes the repository a user keeps: `helm-chart/` (this repository's chart), `apps/capstan.yaml`
 * (capstan's own chart, same values as the install, no finalizer: deleting it must never cascade into
 * capstan itself), `apps/guestbook.yaml` with its `guestbook/` folder.
 */
function writeLayout(dir: string, repo: GitRepo): void {
  fs.cpSync(path.join(ROOT, 'helm-chart'), path.join(dir, 'helm-chart'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'apps'), { recursive: true });
  const capstan = childApp(
    'capstan',
    {
      repoURL: repo.url,
      targetRevision: 'main',
      path: 'helm-chart',
      helm: { valuesObject: installValues(repo) },
    },
    NS,
    false,
  );
  fs.writeFileSync(path.join(dir, 'apps', 'capstan.yaml'), stringify(capstan));
  const guestbook = childApp(
    'guestbook',
    { repoURL: repo.url, targetRevision: 'main', path: 'guestbook' },
    APPS_NS,
    true,
  );
  fs.writeFileSync(path.join(dir, 'apps', 'guestbook.yaml'), stringify(guestbook));
  writeWorkload(dir, 'guestbook', 'guestbook');
}

/** API path of an object of the release. */
const objectPath = (o: ReleaseObject): string => {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  return resourcePath({ group, version, kind: o.kind, namespace: o.namespace, name: o.name });
};

/** A resource as the Applications' status.resources lists it (with group). */
type StatusResource = NonNullable<NonNullable<AppObject['status']>['resources']>[number] & { group?: string };

describe('self-managed bootstrap: helm install once, then capstan manages itself from git', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-bootstrap-'));
  const helmEnv = {
    ...process.env,
    HELM_CACHE_HOME: path.join(dir, 'helm'),
    HELM_CONFIG_HOME: path.join(dir, 'helm'),
    HELM_DATA_HOME: path.join(dir, 'helm'),
  };
  const logPath = path.join(dir, 'capstan.log');
  let cp: ControlPlane | undefined;
  let gitServer: GitServer | undefined;
  let repo: GitRepo | undefined;
  let kube: KubeClient;
  let proc: ManagedProcess | undefined;
  /** The release's objects, read after the install. */
  let release: ReleaseObject[] = [];
  /** UIDs of the release's objects and CRDs right after `helm install`. */
  const installedUids = new Map<string, string>();
  let installedDeployment: KubeObject | undefined;

  const helm = async (...args: string[]): Promise<string> =>
    (await run(toolPath('helm'), [...args, '--kubeconfig', cp!.kubeconfigPath], { env: helmEnv })).stdout;
  const k = async (...args: string[]): Promise<string> =>
    (await run(toolPath('kubectl'), ['--kubeconfig', cp!.kubeconfigPath, ...args])).stdout;
  /** Waits for the Applications of NS named in `names`; the message carries capstan's log tail. */
  const waitApps = (names: string[], pred: (a: AppObject) => boolean, what: string, timeoutMs = 60_000) =>
    waitForAppsOn(kube, NS, names, pred, { what, timeoutMs }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- capstan log ---\n${proc?.tail(30) ?? ''}`);
    });
  const syncedHealthy = (sha: string) => (a: AppObject) =>
    a.status?.sync?.status === 'Synced' &&
    a.status.sync.revision === sha &&
    a.status.health?.status === 'Healthy';
  /** UID of each release object and CRD, keyed `kind/namespace/name`; `(missing)` when absent. */
  const releaseUids = async (): Promise<Map<string, string>> => {
    const uids = new Map<string, string>();
    const objects: ReleaseObject[] = [
      ...release,
      ...CRDS.map((name) => ({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name,
      })),
    ];
    for (const o of objects) {
      const live = await getObjectOn(kube, objectPath(o));
      uids.set(`${o.kind}/${o.namespace ?? ''}/${o.name}`, live?.metadata.uid ?? '(missing)');
    }
    return uids;
  };
  const deploymentPath = `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}`;
  /** Asks capstan to refresh Application `name` now (Argo CD's refresh annotation). */
  const refresh = (name: string) =>
    kube.request('PATCH', `/apis/argoproj.io/v1alpha1/namespaces/${NS}/applications/${name}`, {
      body: { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } },
      contentType: 'application/merge-patch+json',
    });
  /**
   * Commits to the platform repository and asks root and capstan to refresh, as a git webhook does:
   * without it a periodic refresh sees the commit up to one refresh interval (the chart's 120 s) after
   * the shared revision cache listed the repository (application/revisions.ts, as Argo CD's repo-server).
   */
  const push = async (message: string, mutate: (work: string) => void): Promise<string> => {
    const sha = await repo!.commit(message, mutate);
    for (const name of ['root', 'capstan']) await refresh(name);
    return sha;
  };
  /** The holder identity (`hostname_pid`) of the chart's leader Lease. */
  const leaseHolder = async () =>
    (
      (await getObjectOn(kube, `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/capstan-leader`))
        ?.spec as { holderIdentity?: string } | undefined
    )?.holderIdentity;

  before(async () => {
    cp = await startControlPlane(); // fresh: no CRDs, the chart's crds/ installs them
    kube = new KubeClient(loadKubeConfig(cp.kubeconfigPath));
    gitServer = await startGitServer();
    const seed = path.join(dir, 'seed');
    fs.mkdirSync(seed);
    fs.writeFileSync(path.join(seed, 'README.md'), 'platform\n');
    repo = await gitServer.createRepo('platform', seed);
    await repo.commit('capstan, self-managed', (work) => writeLayout(work, repo!));
  });
  after(async () => {
    await proc?.stop();
    await gitServer?.stop();
    await cp?.stop();
    if (process.env.CAPSTAN_KEEP_TMP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  });

  test('1. helm install with bootstrap: root and capstan Synced/Healthy, every chart object adopted unchanged', async () => {
    assert.ok(repo);
    const sha = await repo.headSha();
    const values = installValues(repo) as { bootstrap: Record<string, string | boolean> };
    await helm(
      'install',
      RELEASE,
      path.join(ROOT, 'helm-chart'),
      '-n',
      NS,
      '--create-namespace',
      '--set',
      Object.entries(values.bootstrap)
        .map(([key, v]) => `bootstrap.${key}=${String(v)}`)
        .join(','),
    );
    release = parseAllDocuments(await helm('get', 'manifest', RELEASE, '-n', NS))
      .map((d) => d.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => !!o?.kind)
      .map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name ?? '',
        namespace: o.metadata.namespace,
      }));
    for (const kind of ['Deployment', 'ServiceAccount', 'ClusterRole', 'Role', 'AppProject', 'Application'])
      assert.ok(
        release.some((o) => o.kind === kind),
        `the release has a ${kind}`,
      );
    for (const [key, uid] of await releaseUids()) installedUids.set(key, uid);
    installedDeployment = await getObjectOn(kube, deploymentPath);
    assert.ok(installedDeployment, 'helm created the Deployment');

    // capstan as the chart's ServiceAccount, with the Deployment's flags.
    const token = (await k('create', 'token', RELEASE, '-n', NS, '--duration=2h')).trim();
    const saKubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(saKubeconfig, tokenKubeconfig(cp!.kubeconfigPath, token), { mode: 0o600 });
    const started = Date.now();
    proc = await startOperatorAppending({
      kubeconfig: saKubeconfig,
      controllerNamespace: NS,
      logPath,
      cacheDir: path.join(dir, 'cache'),
      args: ['--metrics-port', '0', ...chartFlags(installedDeployment)],
    });

    const apps = await waitApps(
      ['root', 'capstan', 'guestbook'],
      syncedHealthy(sha),
      `Synced at ${sha}, Healthy`,
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `bootstrap: root, capstan and guestbook Synced/Healthy ${seconds.toFixed(1)} s after capstan's start`,
    );
    assert.ok(seconds < 30, `settled within 30 s of capstan's start (took ${seconds} s)`);

    // Every object of the release and every CRD is tracked by the capstan app, Synced.
    const capstan = apps.get('capstan')!;
    const tracked = (capstan.status?.resources ?? []) as StatusResource[];
    const objects: ReleaseObject[] = [
      ...release,
      ...CRDS.map((name) => ({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name,
      })),
    ];
    for (const o of objects) {
      const r = tracked.find(
        (t) => t.kind === o.kind && t.name === o.name && (t.namespace ?? '') === (o.namespace ?? ''),
      );
      assert.equal(r?.status, 'Synced', `capstan tracks ${o.kind}/${o.name} as Synced`);
      const live = await getObjectOn(kube, objectPath(o));
      const id = live?.metadata.annotations?.['argocd.argoproj.io/tracking-id'] ?? '';
      assert.ok(id.startsWith('capstan:'), `${o.kind}/${o.name}'s tracking id names the capstan app: ${id}`);
    }
    // Nothing deleted or re-created, the Deployment not rolled (same generation and pod template).
    assert.deepEqual(changedKeys(installedUids, await releaseUids()), [], 'no object re-created');
    const deployment = await getObjectOn(kube, deploymentPath);
    assert.deepEqual(deployment?.spec, installedDeployment.spec, 'the Deployment spec is unchanged');
    // One ReplicaSet: the pod template never changed, not even for a moment (no rollout, no restart).
    const replicaSets = await kube.request<{ items: KubeObject[] }>(
      'GET',
      `/apis/apps/v1/namespaces/${NS}/replicasets`,
    );
    assert.equal(replicaSets.items.length, 1, 'the Deployment has one ReplicaSet (never rolled)');
    assert.deepEqual(
      (deployment?.spec as { template: unknown }).template,
      (installedDeployment.spec as { template: unknown }).template,
      'the pod template is unchanged (no restart)',
    );
    const status = JSON.parse(await helm('status', RELEASE, '-n', NS, '-o', 'json')) as {
      info: { status: string };
    };
    assert.equal(status.info.status, 'deployed');
    assert.doesNotMatch(
      fs.readFileSync(logPath, 'utf8'),
      /forbidden/i,
      'no request of capstan was forbidden',
    );
  });

  test('2. a commit changes chart values and a CRD schema: capstan upgrades its own Deployment and the CRD', async () => {
    assert.ok(repo && proc);
    const crdFile = (work: string): string =>
      path.join(work, 'helm-chart', 'crds', 'argoproj.io_appprojects.yaml');
    type Crd = {
      spec: {
        versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: object } } } } }>;
      };
    };
    const sha = await push('debug logs, a render timeout and a new AppProject field', (work) => {
      const appFile = path.join(work, 'apps', 'capstan.yaml');
      const app = parse(fs.readFileSync(appFile, 'utf8')) as {
        spec: { source: { helm: { valuesObject: Record<string, unknown> } } };
      };
      Object.assign(app.spec.source.helm.valuesObject, {
        logLevel: 'debug',
        extraArgs: ['--render-timeout=180'],
      });
      fs.writeFileSync(appFile, stringify(app));
      const doc = parse(fs.readFileSync(crdFile(work), 'utf8')) as Crd;
      Object.assign(doc.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties, {
        e2eBootstrapField: { type: 'string', description: 'Added by the bootstrap e2e.' },
      });
      fs.writeFileSync(crdFile(work), stringify(doc));
    });
    // capstan may sync its own app at this commit once with the old values (before root applied the
    // new spec), so wait for the Deployment itself, then for both apps to settle.
    const argsOf = (d: KubeObject | undefined): string[] =>
      (d?.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec
        .containers[0].args;
    await waitFor(
      async () => {
        const args = argsOf(await getObjectOn(kube, deploymentPath));
        return args.includes('--log-level=debug') && args.includes('--render-timeout=180');
      },
      { timeoutMs: 60_000, what: 'the Deployment to run --log-level=debug and --render-timeout=180' },
    );
    await waitApps(['root', 'capstan'], syncedHealthy(sha), `Synced at ${sha}, Healthy`);
    const crd = (await getObjectOn(
      kube,
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/appprojects.argoproj.io',
    )) as (KubeObject & Crd) | undefined;
    assert.ok(
      crd && 'e2eBootstrapField' in crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties,
      'capstan applied the new CRD field (helm never upgrades crds/)',
    );
    // No CR lost: the AppProject and every other object of the release keep their UIDs.
    assert.deepEqual(changedKeys(installedUids, await releaseUids()), [], 'no object re-created');
  });

  test('3. a commit adds a child Application: it syncs; removing it prunes it and its resources', async () => {
    assert.ok(repo && proc);
    const source = { repoURL: repo.url, targetRevision: 'main', path: 'extra' };
    const added = await push('add the extra app', (work) => {
      writeWorkload(work, 'extra', 'extra');
      fs.writeFileSync(
        path.join(work, 'apps', 'extra.yaml'),
        stringify(childApp('extra', source, APPS_NS, true)),
      );
    });
    await waitApps(['root', 'extra'], syncedHealthy(added), `Synced at ${added}, Healthy`);
    const cmPath = `/api/v1/namespaces/${APPS_NS}/configmaps/extra`;
    assert.ok(await getObjectOn(kube, cmPath), 'the extra app deployed its ConfigMap');

    const removed = await push('remove the extra app', (work) => {
      fs.rmSync(path.join(work, 'apps', 'extra.yaml'));
    });
    await waitApps(['root'], syncedHealthy(removed), `Synced at ${removed}, Healthy`);
    await waitForGone(
      kube,
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/applications/extra`,
      'Application extra',
    );
    await waitForGone(kube, cmPath, 'ConfigMap extra (pruned through the finalizer)');
    assert.ok(
      await getObjectOn(kube, `/api/v1/namespaces/${APPS_NS}/configmaps/guestbook`),
      'guestbook untouched',
    );
  });

  test('4. a template error in capstan own chart: ComparisonError, nothing pruned, the fix recovers', async () => {
    assert.ok(repo && proc && installedDeployment);
    const apps = await waitApps(['root', 'capstan', 'guestbook'], () => true, 'read');
    const before = await managedUids(kube, apps.values());
    const deploymentBefore = await getObjectOn(kube, deploymentPath);
    const bad = await push('break the chart', (work) => {
      fs.writeFileSync(
        path.join(work, 'helm-chart', 'templates', 'broken.yaml'),
        '{{ fail "broken on purpose by the bootstrap e2e" }}\n',
      );
    });
    const broken = await waitApps(
      ['capstan'],
      (a) =>
        !!a.status?.conditions?.some(
          (c) => c.type === 'ComparisonError' && c.message.includes('broken on purpose'),
        ),
      `ComparisonError for ${bad}`,
    );
    console.log(`bootstrap: capstan on the bad commit: ${JSON.stringify(appSummary(broken.get('capstan')))}`);
    assert.ok(!proc.exited, 'capstan keeps running');
    // The same objects as before, read again (status.resources may change on a ComparisonError).
    const after = await managedUids(kube, apps.values());
    assert.deepEqual(changedKeys(before, after), [], 'nothing pruned or re-created');
    const deployment = await getObjectOn(kube, deploymentPath);
    assert.equal(
      deployment?.metadata.generation,
      deploymentBefore?.metadata.generation,
      'the Deployment is unchanged',
    );

    const fixed = await push('fix the chart', (work) => {
      fs.rmSync(path.join(work, 'helm-chart', 'templates', 'broken.yaml'));
    });
    await waitApps(
      ['root', 'capstan'],
      (a) => syncedHealthy(fixed)(a) && !a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      `Synced at ${fixed}, Healthy, no ComparisonError`,
    );
    await waitApps(['guestbook'], (a) => a.status?.sync?.status === 'Synced', 'Synced');
    assert.deepEqual(
      changedKeys(installedUids, await releaseUids()),
      [],
      'no chart object re-created since the install',
    );
  });

  test('5. self-upgrade: the old pod hands the Lease over on SIGTERM and the new pod finishes the manual sync that rolled it', async () => {
    assert.ok(repo && proc);
    const capstanPath = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/applications/capstan`;
    const setAutomated = (work: string, on: boolean) => {
      const appFile = path.join(work, 'apps', 'capstan.yaml');
      const app = parse(fs.readFileSync(appFile, 'utf8')) as {
        spec: { syncPolicy: Record<string, unknown> };
      };
      if (on) app.spec.syncPolicy.automated = { prune: true, selfHeal: true };
      else delete app.spec.syncPolicy.automated;
      fs.writeFileSync(appFile, stringify(app));
    };
    // A manual sync, so that the `operation` field is set while the old pod dies (an automated sync
    // resumes the same way, from status.operationState). First the root makes capstan's app manual.
    const manual = await repo.commit('capstan: manual syncs for the upgrade', (work) =>
      setAutomated(work, false),
    );
    await refresh('root');
    await waitApps(['root'], syncedHealthy(manual), `root Synced at ${manual}`);
    await waitFor(
      async () =>
        !((await getObjectOn(kube, capstanPath))?.spec as { syncPolicy?: { automated?: unknown } }).syncPolicy
          ?.automated,
      { timeoutMs: 30_000, what: 'the capstan Application to be manual' },
    );
    // The upgrade: a value that changes the Deployment's flags (a rollout), and a Sync hook in wave 1
    // that kwok runs but never completes: the operation is held after the Deployment was applied.
    const upgrade = await repo.commit('capstan: concurrency 8', (work) => {
      const valuesFile = path.join(work, 'helm-chart', 'values.yaml');
      const text = fs.readFileSync(valuesFile, 'utf8');
      assert.match(text, /^concurrency: 30$/m);
      fs.writeFileSync(valuesFile, text.replace(/^concurrency: 30$/m, 'concurrency: 8'));
      fs.writeFileSync(
        path.join(work, 'helm-chart', 'templates', 'zz-upgrade-gate.yaml'),
        stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'upgrade-gate',
            annotations: { 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/sync-wave': '1' },
          },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'gate', image: 'registry.example/gate:1.0' }],
          },
        }),
      );
    });
    const generationBefore = (await getObjectOn(kube, deploymentPath))?.metadata.generation ?? 0;
    await kube.request('PATCH', capstanPath, {
      body: { operation: { sync: { revision: upgrade, prune: true }, initiatedBy: { username: 'e2e' } } },
      contentType: 'application/merge-patch+json',
    });
    const gateLine = (a: AppObject) =>
      resultLines(a).find((l) => l.kind === 'Pod' && l.name === 'upgrade-gate' && l.hookPhase === 'Running');
    const held = (
      await waitApps(
        ['capstan'],
        (a) => a.status?.operationState?.phase === 'Running' && !!gateLine(a),
        `the manual sync to ${upgrade} to wait at the gate`,
      )
    ).get('capstan')!;
    assert.ok((held as AppObject & { operation?: unknown }).operation, 'the operation field is set');
    const rolled = await getObjectOn(kube, deploymentPath);
    assert.ok(
      rolled && (rolled.metadata.generation ?? 0) > generationBefore,
      'the old pod applied the Deployment',
    );
    assert.ok(chartFlags(rolled).includes('--concurrency=8'), 'the Deployment runs the new flags');
    const gate = await getObjectOn(kube, `/api/v1/namespaces/${NS}/pods/upgrade-gate`);
    assert.ok(gate?.metadata.uid, 'the gate hook exists');

    // The rollout, as Kubernetes runs it with leader election: the new pod (the new flags) starts as a
    // standby, then the old pod gets SIGTERM.
    const next = await startOperatorAppending({
      kubeconfig: path.join(dir, 'kubeconfig'),
      controllerNamespace: NS,
      logPath: path.join(dir, 'capstan-new.log'),
      cacheDir: path.join(dir, 'cache-new'),
      args: ['--metrics-port', '0', ...chartFlags(rolled)],
    });
    const old = proc;
    const stoppedAt = Date.now();
    await old.kill('SIGTERM');
    await old.waitForExit(20_000);
    assert.equal(old.exitCode, 0, `the old pod exits cleanly:\n${old.tail(10)}`);
    assert.match(fs.readFileSync(logPath, 'utf8'), /Released the leader Lease/);
    await waitFor(async () => (await leaseHolder()) === `${os.hostname()}_${next.pid}`, {
      timeoutMs: 30_000,
      what: 'the new pod to hold the Lease',
    });
    const tookOverMs = Date.now() - stoppedAt;
    proc = next;
    // Handed over, not expired: well within the chart's 15 s lease duration.
    assert.ok(tookOverMs < 12_000, `the new pod led ${tookOverMs} ms after SIGTERM (lease 15 s)`);

    await kube.request('PATCH', `/api/v1/namespaces/${NS}/pods/upgrade-gate/status`, {
      body: { status: { phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False' }] } },
      contentType: 'application/merge-patch+json',
    });
    const done = (
      await waitApps(
        ['capstan'],
        (a) => a.status?.operationState?.phase === 'Succeeded' && syncedHealthy(upgrade)(a),
        `the new pod to finish the sync to ${upgrade}`,
      )
    ).get('capstan')! as AppObject & { operation?: unknown };
    assert.ok(!done.operation, 'the manual operation is cleared once finished');
    assert.equal(
      (await getObjectOn(kube, `/api/v1/namespaces/${NS}/pods/upgrade-gate`))?.metadata.uid,
      gate.metadata.uid,
      'the gate hook ran once',
    );
    assert.equal(
      (await getObjectOn(kube, deploymentPath))?.metadata.generation,
      rolled.metadata.generation,
      'the new pod did not roll the Deployment again',
    );
    const history = (done.status as { history?: Array<{ revision?: string }> }).history ?? [];
    assert.equal(
      history.filter((h) => h.revision === upgrade).length,
      1,
      'one history entry for the upgrade',
    );
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'capstan-new.log'), 'utf8'), /forbidden/i);
    console.log(`bootstrap: self-upgrade handed over in ${tookOverMs} ms; the new pod finished the sync`);

    // Back to the layout of the other tests: capstan's app automated again, the gate gone.
    const restored = await repo.commit('capstan: automated again, no gate', (work) => {
      setAutomated(work, true);
      fs.rmSync(path.join(work, 'helm-chart', 'templates', 'zz-upgrade-gate.yaml'));
    });
    await refresh('root');
    await waitApps(['root'], syncedHealthy(restored), `root Synced at ${restored}`);
  });

  test('6. helm uninstall: the release and the root go, the Applications git made and their workloads stay', async () => {
    assert.ok(proc);
    const apps = await waitApps(['capstan', 'guestbook'], () => true, 'read');
    const guestbook = apps.get('guestbook')!;
    const workloads = await managedUids(kube, [guestbook]);
    await helm('uninstall', RELEASE, '-n', NS);
    await assert.rejects(helm('status', RELEASE, '-n', NS), /not found/, 'the release is gone');
    // The root has no finalizer: it goes at once and cascades into nothing.
    await waitForGone(
      kube,
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/applications/root`,
      'Application root',
    );
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']) {
      for (const o of release.filter((r) => r.kind === kind))
        assert.equal(await getObjectOn(kube, objectPath(o)), undefined, `${kind}/${o.name} removed`);
    }
    // Stays: capstan's own Application, the guestbook Application and its workload (same UIDs), CRDs.
    for (const name of ['capstan', 'guestbook'])
      assert.ok(
        await getObjectOn(kube, `/apis/argoproj.io/v1alpha1/namespaces/${NS}/applications/${name}`),
        `Application ${name} stays`,
      );
    assert.deepEqual(changedKeys(workloads, await managedUids(kube, [guestbook])), [], 'the workloads stay');
    for (const name of CRDS)
      assert.ok(
        await getObjectOn(kube, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`),
        `CRD ${name} stays`,
      );
    const deployment = await getObjectOn(kube, deploymentPath);
    const project = await getObjectOn(
      kube,
      `/apis/argoproj.io/v1alpha1/namespaces/${NS}/appprojects/default`,
    );
    console.log(
      `bootstrap: after helm uninstall: Deployment ${deployment ? 'present' : 'gone'}, AppProject default ${
        project
          ? `present (deleting: ${!!project.metadata.deletionTimestamp}, finalizers ${JSON.stringify(project.metadata.finalizers ?? [])})`
          : 'gone'
      }`,
    );
    // The default AppProject stays (helm.sh/resource-policy: keep), untouched: its Applications stay.
    assert.ok(project, 'AppProject default stays');
    assert.ok(!project.metadata.deletionTimestamp, 'AppProject default is not deleting');
    assert.equal(
      project.metadata.uid,
      installedUids.get(`AppProject/${NS}/default`),
      'AppProject default is the one the install created',
    );
  });
});

/** The result lines of an Application's current or last operation. */
function resultLines(a: AppObject): Array<{ kind: string; name: string; hookPhase?: string }> {
  return (
    (
      a.status?.operationState?.syncResult as {
        resources?: Array<{ kind: string; name: string; hookPhase?: string }>;
      }
    )?.resources ?? []
  );
}

/** Waits until GET `apiPath` is NotFound. */
async function waitForGone(kube: KubeClient, apiPath: string, what: string): Promise<void> {
  await waitFor(async () => (await getObjectOn(kube, apiPath)) === undefined, {
    timeoutMs: 60_000,
    what: `${what} to be gone`,
  });
}
