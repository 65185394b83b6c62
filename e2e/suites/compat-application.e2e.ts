/**
 * Fields of Argo CD's current Application CRD that capstan gained for API compatibility, against the real
 * control plane and a real git daemon: Kustomize `labelWithoutSelector` (a Deployment's selector keeps its
 * own labels) with `commonAnnotationsEnvsubst` (the build environment in annotation values);
 * `syncPolicy.retry.refresh` (a retry of a failed automated sync picks up a fixing commit without a manual
 * refresh, although revisions are otherwise cached for the refresh interval); `operation.sync.manifests`
 * (refused: the operation fails and nothing is applied) and `spec.sourceHydrator` (InvalidSpecError,
 * nothing applied).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import {
  AppObject,
  apps,
  core,
  createApp,
  createNamespace,
  getObject,
  kube,
  patchApp,
  syncedAt,
  uniqueName,
  waitForApp,
} from './lib';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: nginx:1.27
`;

/** A temporary directory with these files, for a new repository. */
function files(content: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compat-app-'));
  for (const [name, text] of Object.entries(content)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('Application compatibility fields', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('kustomize labelWithoutSelector keeps the selector; commonAnnotationsEnvsubst expands the revision', async () => {
    const ns = uniqueName('kustlabels');
    await createNamespace(ns);
    const repo = await git.createRepo(
      ns,
      files({ 'kustomization.yaml': 'resources:\n  - deploy.yaml\n', 'deploy.yaml': DEPLOYMENT }),
    );
    const sha = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: {
        repoURL: repo.url,
        targetRevision: 'main',
        path: '.',
        kustomize: {
          commonLabels: { team: 'shop' },
          labelWithoutSelector: true,
          commonAnnotations: { revision: '${ARGOCD_APP_NAME}@${ARGOCD_APP_REVISION_SHORT}' },
          commonAnnotationsEnvsubst: true,
        },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    await waitForApp(ns, 'app', (a) => syncedAt(sha)(a), 'Synced');
    const deployment = await getObject(apps(ns, 'deployments', 'web'));
    assert.ok(deployment, 'Deployment applied');
    const spec = (deployment as unknown as { spec: Record<string, any> }).spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(deployment.metadata.labels?.team, 'shop');
    assert.deepEqual(spec.selector.matchLabels, { app: 'web' });
    assert.deepEqual(spec.template.metadata.labels, { app: 'web' });
    assert.equal(deployment.metadata.annotations?.revision, `app@${sha.slice(0, 7)}`);
  });

  test('retry.refresh: a retry of a failed automated sync picks up a fixing commit', async () => {
    const ns = uniqueName('retryrefresh');
    await createNamespace(ns);
    // The ConfigMap names a namespace that does not exist: every apply fails until a commit fixes it.
    const broken = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: ${ns}-missing\ndata:\n  k: v\n`;
    const repo = await git.createRepo(ns, files({ 'cm.yaml': broken }));
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: {
        automated: {},
        retry: { limit: -1, refresh: true, backoff: { duration: '1s', factor: 2, maxDuration: '3s' } },
      },
    });
    await waitForApp(ns, 'app', (a) => a.status?.operationState?.phase === 'Failed', 'first attempt fails');
    const fixed = await repo.commit('put the ConfigMap in the app namespace', (dir) =>
      fs.writeFileSync(path.join(dir, 'cm.yaml'), broken.replace(`  namespace: ${ns}-missing\n`, '')),
    );
    // No refresh annotation: without retry.refresh the revision would be reused for the refresh interval
    // (120 s); the retry itself must resolve main again.
    await waitForApp(
      ns,
      'app',
      (a) => syncedAt(fixed)(a) && a.status?.operationState?.phase === 'Succeeded',
      'a retry syncs the fixing commit',
      40_000,
    );
    assert.ok(await getObject(core(ns, 'configmaps', 'cfg')));
  });

  test('a self-heal operation records operation.sync.autoHealAttemptsCount', async () => {
    const ns = uniqueName('autoheal');
    await createNamespace(ns);
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: healed\ndata:\n  k: from-git\n';
    const repo = await git.createRepo(ns, files({ 'cm.yaml': cm }));
    const sha = await repo.headSha();
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { selfHeal: true } },
    });
    await waitForApp(
      ns,
      'app',
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced',
    );
    await kube().request('PATCH', core(ns, 'configmaps', 'healed'), {
      body: { data: { k: 'drifted' } },
      contentType: 'application/merge-patch+json',
    });
    const healed = (a: AppObject) =>
      (a.status?.operationState as { operation?: { sync?: { autoHealAttemptsCount?: number } } } | undefined)
        ?.operation?.sync?.autoHealAttemptsCount;
    const app = await waitForApp(
      ns,
      'app',
      (a) => healed(a) !== undefined && a.status?.operationState?.phase === 'Succeeded',
      'a self-heal operation ran',
    );
    assert.equal(healed(app), 1);
    const live = await getObject(core(ns, 'configmaps', 'healed'));
    assert.equal((live as unknown as { data: Record<string, string> }).data.k, 'from-git');
  });

  test('operation.sync.manifests fails the operation and applies nothing', async () => {
    const ns = uniqueName('localsync');
    await createNamespace(ns);
    const cm = (name: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;
    const repo = await git.createRepo(ns, files({ 'cm.yaml': cm('from-git') }));
    await createApp(ns, 'app', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
    });
    await waitForApp(ns, 'app', (a) => a.status?.sync?.status === 'OutOfSync', 'compared');
    await patchApp(ns, 'app', {
      operation: { sync: { manifests: [cm('from-local')] }, initiatedBy: { username: 'e2e' } },
    });
    const app = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Failed',
      'the operation fails',
    );
    assert.match(app.status?.operationState?.message ?? '', /operation\.sync\.manifests .* not supported/);
    assert.equal(await getObject(core(ns, 'configmaps', 'from-local')), undefined);
    assert.equal(await getObject(core(ns, 'configmaps', 'from-git')), undefined);
  });

  test('spec.sourceHydrator is an InvalidSpecError and nothing is applied', async () => {
    const ns = uniqueName('hydrator');
    await createNamespace(ns);
    const repo = await git.createRepo(
      ns,
      files({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\ndata:\n  k: v\n' }),
    );
    await createApp(ns, 'app', {
      project: 'default',
      sourceHydrator: {
        drySource: { repoURL: repo.url, targetRevision: 'main', path: '.' },
        syncSource: { targetBranch: 'env/prod', path: 'app' },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    const app = await waitForApp(
      ns,
      'app',
      (a) => (a.status?.conditions ?? []).some((c) => c.type === 'InvalidSpecError'),
      'InvalidSpecError',
    );
    const condition = app.status?.conditions?.find((c) => c.type === 'InvalidSpecError');
    assert.match(condition?.message ?? '', /spec\.sourceHydrator is not supported by capstan yet/);
    assert.equal(await getObject(core(ns, 'configmaps', 'dry')), undefined);
  });
});
