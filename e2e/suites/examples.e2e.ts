/**
 * `examples/` is the repository a user copies, and `make run` shows it working (issue 9 §2): on a
 * private control plane (the `capstan` Application deploys cluster-scoped objects, CRDs included, and
 * capstan's controller namespace is `argocd`, as in the README), the examples are served and capstan
 * started by the very code of `make run` (e2e/examples.ts), and every Application of the app of apps
 * ends Synced/Healthy: root, capstan itself (its chart with bootstrap enabled, which renders root
 * again), guestbook, hello and secrets (an ExternalSecret of the `fake` store).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, type ControlPlane } from '../harness/controlplane';
import { startGitServer, type GitServer } from '../harness/gitserver';
import type { ManagedProcess } from '../harness/process';
import { KubeClient, loadKubeConfig } from '../../operator/kube/client';
import { EXAMPLE_APPS, EXAMPLES_NAMESPACE, rootApplication, startExamples, type Examples } from '../examples';
import { getObjectOn, waitForAppsOn } from './faults-lib';
import type { AppObject } from './lib';

let cp: ControlPlane | undefined;
let git: GitServer | undefined;
let operator: ManagedProcess | undefined;
let examples: Examples;
let kube: KubeClient;
let dir: string;

/**
 * The capstan app tracks the chart's objects, root among them (the self-managed layout), and root
 * shows the cycle.
 */
function assertSelfManaged(apps: Map<string, AppObject>): void {
  const capstan = apps.get('capstan');
  const tracked = (capstan?.status?.resources ?? []).map((r) => `${r.kind}/${r.name}`);
  for (const obj of [
    'Deployment/capstan',
    'ServiceAccount/capstan',
    'ClusterRole/capstan-argocd',
    'AppProject/default',
    'Application/root',
    'CustomResourceDefinition/applications.argoproj.io',
  ]) {
    assert.ok(tracked.includes(obj), `the capstan app tracks ${obj}; it tracks ${tracked.join(', ')}`);
  }
  // root and capstan manage each other: the cycle is shown, not waited on.
  const cycle = apps.get('root')?.status?.conditions?.find((c) => c.type === 'AppOfAppsCycle');
  assert.ok(cycle, 'root shows the AppOfAppsCycle condition');
}

/**
 * Root is exactly the install's (the chart's bootstrap template with the README's values): the capstan
 * app, which renders it again, changed nothing.
 */
async function assertRootUnchanged(apps: Map<string, AppObject>): Promise<void> {
  const rendered = (await rootApplication(examples.repo.url)) as { spec: unknown };
  assert.deepEqual(apps.get('root')?.spec, rendered.spec);
}

/** The ExternalSecret's Secret exists with its keys; the local process holds the chart's Lease. */
async function assertSecretAndLease(): Promise<void> {
  // The ExternalSecret materialised its Secret (key names only: never print values).
  const secret = await getObjectOn(kube, `/api/v1/namespaces/secrets/secrets/guestbook-db`);
  assert.deepEqual(Object.keys((secret as { data?: object })?.data ?? {}).sort(), [
    'api-key',
    'password',
    'username',
  ]);

  // The local process holds the chart's Lease, so the chart's Deployment can never take over.
  const lease = (await getObjectOn(
    kube,
    `/apis/coordination.k8s.io/v1/namespaces/${EXAMPLES_NAMESPACE}/leases/capstan-leader`,
  )) as { spec?: { holderIdentity?: string } } | undefined;
  assert.ok(lease?.spec?.holderIdentity, 'the capstan-leader Lease has a holder');
}

const synced = (a: AppObject): boolean =>
  a.status?.sync?.status === 'Synced' && a.status?.health?.status === 'Healthy';

describe('examples/ as make run serves it', () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-examples-e2e-'));
    cp = await startControlPlane();
    git = await startGitServer();
    kube = new KubeClient(loadKubeConfig(cp.kubeconfigPath));
    examples = await startExamples({
      kubeconfig: cp.kubeconfigPath,
      git,
      cacheDir: path.join(dir, 'cache'),
      logPath: path.join(dir, 'capstan.log'),
      operatorArgs: ['--leader-elect', '--metrics-port', '0'],
    });
    operator = examples.operator;
  });

  after(async () => {
    await operator?.stop();
    await git?.stop();
    await cp?.stop();
    if (process.env.CAPSTAN_KEEP_TMP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every Application of the app of apps, capstan itself included, is Synced/Healthy', async () => {
    let apps: Map<string, AppObject>;
    try {
      apps = await waitForAppsOn(kube, EXAMPLES_NAMESPACE, EXAMPLE_APPS, synced, {
        what: 'Synced/Healthy',
        timeoutMs: 180_000,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- capstan log ---\n${operator?.tail(40) ?? ''}`);
    }

    assertSelfManaged(apps);
    await assertRootUnchanged(apps);
    await assertSecretAndLease();
  });
});
