/**
 * AppProject permissions on the real control plane, each rule shown denying one case and allowing another:
 *
 * - a ClusterRole is refused by default (`resource rbac.authorization.k8s.io:ClusterRole is not permitted
 *   in project P`, resource Unknown, InvalidSpecError condition, the sync fails before it writes anything,
 *   so the app's permitted ConfigMap is not applied either) and is applied once `clusterResourceWhitelist`
 *   allows it;
 * - a ConfigMap whose own `metadata.namespace` is outside the project's destinations is refused (`namespace
 *   X is not permitted in project 'P'`) and nothing of the app is applied; allowed once that namespace is a
 *   destination;
 * - a child Application rendered into the controller's namespace is refused when that namespace is no
 *   destination of the project;
 * - `!` deny entries: `sourceRepos` `['<git>/*', '!<git>/secret.git']` refuses the secret repository
 *   and permits another; destinations `['*', '!<ns>']` refuse an object in the denied namespace;
 * - an operation (`operation.sync.source`) naming a repository the project forbids fails and applies nothing;
 * - a project tightened while a sync waits between waves ends that operation Failed at once (as Argo CD),
 *   and the later wave is never applied;
 * - `CreateNamespace=true` is refused until `clusterResourceWhitelist` permits that Namespace (by name here);
 * - deleting an app with the cascade finalizer keeps a live object its (since tightened) project no longer
 *   permits, as Argo CD.
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
  getObject,
  kube,
  patchApp,
  uniqueName,
  waitForApp,
} from './lib';

const SERVER = 'https://kubernetes.default.svc';
/** Fast automated retries, so that a project change is picked up by the next attempt within seconds. */
const RETRY = { limit: -1, backoff: { duration: '1s', factor: 1, maxDuration: '2s' } };

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

const resource = (a: AppObject, kind: string, name: string) =>
  a.status?.resources?.find((r) => r.kind === kind && r.name === name);

/** YAML of a ConfigMap (namespace optional: the destination's when absent). */
const configMap = (name: string, namespace?: string): string =>
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    ...(namespace ? [`  namespace: ${namespace}`] : []),
    'data:',
    '  greeting: hello',
    '',
  ].join('\n');

const clusterRole = (name: string): string =>
  [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRole',
    'metadata:',
    `  name: ${name}`,
    'rules:',
    '- apiGroups: [""]',
    '  resources: ["configmaps"]',
    '  verbs: ["get"]',
    '',
  ].join('\n');

const clusterRolePath = (name: string) => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`;

async function exists(apiPath: string): Promise<boolean> {
  return (await getObject(apiPath)) !== undefined;
}

describe('appproject permissions', () => {
  let git: GitServer;
  let work: string;
  const cleanup: string[] = [];

  /** A repository whose first commit holds `files` (name -> YAML). */
  async function repoWith(name: string, files: Record<string, string>): Promise<GitRepo> {
    const dir = fs.mkdtempSync(path.join(work, `${name}-`));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    return git.createRepo(name, dir);
  }

  /** A project permitting apps from namespace `ns` (sourceNamespaces) and any repository by default. */
  async function projectFor(ns: string, spec: Record<string, unknown>): Promise<string> {
    const name = uniqueName('perm');
    await createProject(name, { sourceRepos: ['*'], sourceNamespaces: [ns], ...spec });
    return name;
  }

  before(async () => {
    git = await startGitServer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-e2e-perm-'));
  });
  after(async () => {
    for (const p of cleanup)
      await kube()
        .request('DELETE', p)
        .catch(() => undefined);
    await git?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a ClusterRole is refused by default (nothing of the app applied) and applied once whitelisted', async () => {
    const ns = uniqueName('perm-cr');
    await createNamespace(ns);
    const role = `${ns}-reader`;
    cleanup.push(clusterRolePath(role));
    const repo = await repoWith(ns, { 'cm.yaml': configMap('app-config'), 'role.yaml': clusterRole(role) });
    const project = await projectFor(ns, { destinations: [{ server: SERVER, namespace: ns }] });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true }, retry: RETRY },
    });
    const denial = `resource rbac.authorization.k8s.io:ClusterRole is not permitted in project ${project}`;
    const refused = await waitForApp(
      ns,
      'app',
      (a) =>
        a.status?.operationState?.phase === 'Failed' && condition(a, 'InvalidSpecError').includes(denial),
      'the sync refused with the denial',
    );
    assert.match(
      refused.status?.operationState?.message ?? '',
      /one or more synchronization tasks are not valid/,
    );
    assert.ok(refused.status?.operationState?.message?.includes(denial));
    assert.equal(resource(refused, 'ClusterRole', role)?.status, 'Unknown');
    assert.equal(await exists(clusterRolePath(role)), false, 'the ClusterRole is never applied');
    assert.equal(await exists(core(ns, 'configmaps', 'app-config')), false, 'the whole sync was refused');

    await patchProject(project, {
      clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }],
    });
    const synced = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Succeeded' && a.status.sync?.status === 'Synced',
      'synced once whitelisted',
      30_000,
    );
    assert.equal(condition(synced, 'InvalidSpecError'), '');
    assert.ok(await exists(clusterRolePath(role)));
    assert.ok(await exists(core(ns, 'configmaps', 'app-config')));
  });

  test('deleting an app keeps the objects its tightened project no longer permits (as Argo CD)', async () => {
    const ns = uniqueName('perm-del');
    await createNamespace(ns);
    const role = `${ns}-reader`;
    cleanup.push(clusterRolePath(role));
    const repo = await repoWith(ns, { 'cm.yaml': configMap('app-config'), 'role.yaml': clusterRole(role) });
    const project = await projectFor(ns, {
      destinations: [{ server: SERVER, namespace: ns }],
      clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }],
    });
    await createApp(
      ns,
      'app',
      {
        project,
        source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
        destination: { server: SERVER, namespace: ns },
        syncPolicy: { automated: { prune: true }, retry: RETRY },
      },
      { finalizers: ['resources-finalizer.argocd.argoproj.io'] },
    );
    await waitForApp(ns, 'app', (a) => a.status?.sync?.status === 'Synced', 'synced');
    assert.ok(await exists(clusterRolePath(role)));

    await patchProject(project, { clusterResourceWhitelist: [] });
    await waitForApp(
      ns,
      'app',
      (a) => condition(a, 'InvalidSpecError').includes('ClusterRole is not permitted'),
      'the ClusterRole refused by the tightened project',
    );
    await kube().request('DELETE', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/app`);
    await waitFor(
      async () =>
        !(await exists(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/app`)) &&
        !(await exists(core(ns, 'configmaps', 'app-config'))),
      { timeoutMs: 60_000, what: 'the app and its permitted ConfigMap deleted' },
    );
    assert.ok(await exists(clusterRolePath(role)), 'the ClusterRole outside the project is kept');
  });

  test('a project tightened while a sync waits ends the operation Failed; its later wave is never applied', async () => {
    const ns = uniqueName('perm-mid');
    await createNamespace(ns);
    // Wave 0 is a claim nothing binds (Progressing forever), so the operation waits before wave 1.
    const pvc = [
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      'metadata:',
      '  name: data',
      '  annotations: {argocd.argoproj.io/sync-wave: "0"}',
      'spec:',
      '  accessModes: [ReadWriteOnce]',
      '  storageClassName: capstan-e2e-none',
      '  resources: {requests: {storage: 1Mi}}',
      '',
    ].join('\n');
    const late = configMap('late-config').replace(
      'metadata:',
      'metadata:\n  annotations: {argocd.argoproj.io/sync-wave: "1"}',
    );
    const repo = await repoWith(ns, { 'pvc.yaml': pvc, 'late.yaml': late });
    const project = await projectFor(ns, { destinations: [{ server: SERVER, namespace: ns }] });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true }, retry: { limit: 0 } },
    });
    await waitForApp(
      ns,
      'app',
      (a) =>
        a.status?.operationState?.phase === 'Running' &&
        (a.status.operationState.message ?? '').includes('PersistentVolumeClaim/data'),
      'the sync waiting for wave 0',
    );
    await patchProject(project, { destinations: [{ server: SERVER, namespace: 'somewhere-else' }] });
    const failed = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Failed',
      'the running operation ended by the tightened project',
      20_000,
    );
    assert.match(
      failed.status?.operationState?.message ?? '',
      /do not match any of the allowed destinations/,
    );
    assert.equal(await exists(core(ns, 'configmaps', 'late-config')), false, 'wave 1 never applied');
  });

  test('CreateNamespace=true needs the Namespace kind in clusterResourceWhitelist (as Argo CD)', async () => {
    const ns = uniqueName('perm-cns');
    const created = `${ns}-new`;
    await createNamespace(ns);
    cleanup.push(`/api/v1/namespaces/${created}`);
    const repo = await repoWith(ns, { 'cm.yaml': configMap('app-config') });
    const project = await projectFor(ns, { destinations: [{ server: SERVER, namespace: created }] });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: created },
      syncPolicy: { automated: { prune: true }, retry: RETRY, syncOptions: ['CreateNamespace=true'] },
    });
    const denial = `resource :Namespace is not permitted in project ${project}`;
    await waitForApp(
      ns,
      'app',
      (a) =>
        a.status?.operationState?.phase === 'Failed' && condition(a, 'InvalidSpecError').includes(denial),
      'the namespace creation refused',
    );
    assert.equal(await exists(`/api/v1/namespaces/${created}`), false, 'no namespace created');

    await patchProject(project, {
      clusterResourceWhitelist: [{ group: '', kind: 'Namespace', name: `${ns}-*` }],
    });
    await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Succeeded' && a.status.sync?.status === 'Synced',
      'synced once the Namespace kind is whitelisted by name',
      30_000,
    );
    assert.ok(await exists(core(created, 'configmaps', 'app-config')));
  });

  test('a ConfigMap whose own namespace is outside the destinations is refused; allowed once it is one', async () => {
    const ns = uniqueName('perm-ns');
    const other = `${ns}-other`;
    await createNamespace(ns);
    await createNamespace(other);
    const repo = await repoWith(ns, {
      'own.yaml': configMap('own-config'),
      'leak.yaml': configMap('leaked-config', other),
    });
    const project = await projectFor(ns, { destinations: [{ server: SERVER, namespace: ns }] });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true }, retry: RETRY },
    });
    const denial = `namespace ${other} is not permitted in project '${project}'`;
    const refused = await waitForApp(
      ns,
      'app',
      (a) =>
        a.status?.operationState?.phase === 'Failed' && condition(a, 'InvalidSpecError').includes(denial),
      'the object in the other namespace refused',
    );
    assert.ok(condition(refused, 'InvalidSpecError').includes(`ConfigMap/${other}/leaked-config`));
    assert.equal(resource(refused, 'ConfigMap', 'leaked-config')?.status, 'Unknown');
    assert.equal(await exists(core(other, 'configmaps', 'leaked-config')), false, 'never written');
    assert.equal(await exists(core(ns, 'configmaps', 'own-config')), false, 'the sync wrote nothing');

    await patchProject(project, {
      destinations: [
        { server: SERVER, namespace: ns },
        { server: SERVER, namespace: other },
      ],
    });
    await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Succeeded' && a.status.sync?.status === 'Synced',
      'synced once the namespace is a destination',
      30_000,
    );
    assert.ok(await exists(core(other, 'configmaps', 'leaked-config')));
    assert.ok(await exists(core(ns, 'configmaps', 'own-config')));
  });

  test("a child Application in the controller's namespace is refused when that is no destination", async () => {
    const ns = uniqueName('perm-child');
    await createNamespace(ns);
    const child = uniqueName('child');
    const childYaml = [
      'apiVersion: argoproj.io/v1alpha1',
      'kind: Application',
      'metadata:',
      `  name: ${child}`,
      `  namespace: ${controllerNamespace()}`,
      'spec:',
      '  project: default',
      '  source: {repoURL: "https://example.com/any.git", path: ".", targetRevision: main}',
      `  destination: {server: "${SERVER}", namespace: kube-system}`,
      '',
    ].join('\n');
    const repo = await repoWith(ns, { 'child.yaml': childYaml });
    const project = await projectFor(ns, { destinations: [{ server: SERVER, namespace: ns }] });
    await createApp(ns, 'parent', {
      project,
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
      syncPolicy: { automated: { prune: true }, retry: RETRY },
    });
    const denial = `namespace ${controllerNamespace()} is not permitted in project '${project}'`;
    await waitForApp(
      ns,
      'parent',
      (a) =>
        a.status?.operationState?.phase === 'Failed' && condition(a, 'InvalidSpecError').includes(denial),
      'the child Application refused',
    );
    const childPath = `/apis/argoproj.io/v1alpha1/namespaces/${controllerNamespace()}/applications/${child}`;
    assert.equal(await exists(childPath), false, 'no child Application in the controller namespace');
  });

  test('! deny entries: a denied repository and a denied namespace refused, others permitted', async () => {
    const ns = uniqueName('perm-deny');
    const denied = `${ns}-denied`;
    await createNamespace(ns);
    await createNamespace(denied);
    const ok = await repoWith(`${ns}-ok`, { 'cm.yaml': configMap('ok-config') });
    const secret = await repoWith(`${ns}-secret`, { 'cm.yaml': configMap('secret-config') });
    const leak = await repoWith(`${ns}-leak`, { 'cm.yaml': configMap('deny-config', denied) });
    const project = await projectFor(ns, {
      sourceRepos: [`${git.baseUrl}/*`, `!${secret.url}`],
      destinations: [
        { server: '*', namespace: '*' },
        { server: '*', namespace: `!${denied}` },
      ],
    });
    const app = (name: string, repo: GitRepo) =>
      createApp(ns, name, {
        project,
        source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
        destination: { server: SERVER, namespace: ns },
        syncPolicy: { automated: { prune: true }, retry: RETRY },
      });
    await app('secret', secret);
    await app('ok', ok);
    await app('leak', leak);
    const refusedRepo = await waitForApp(
      ns,
      'secret',
      (a) => condition(a, 'InvalidSpecError').includes('is not permitted in project'),
      'the denied repository refused',
    );
    assert.ok(
      condition(refusedRepo, 'InvalidSpecError').includes(
        `application repo ${secret.url} is not permitted in project '${project}'`,
      ),
    );
    await waitForApp(
      ns,
      'ok',
      (a) => a.status?.operationState?.phase === 'Succeeded',
      'the other repository synced',
    );
    await waitForApp(
      ns,
      'leak',
      (a) =>
        a.status?.operationState?.phase === 'Failed' &&
        condition(a, 'InvalidSpecError').includes(
          `namespace ${denied} is not permitted in project '${project}'`,
        ),
      'the object in the denied namespace refused',
    );
    assert.ok(await exists(core(ns, 'configmaps', 'ok-config')));
    assert.equal(await exists(core(ns, 'configmaps', 'secret-config')), false);
    assert.equal(await exists(core(denied, 'configmaps', 'deny-config')), false);
  });

  test('an operation whose source the project forbids fails and applies nothing', async () => {
    const ns = uniqueName('perm-op');
    await createNamespace(ns);
    const allowed = await repoWith(`${ns}-allowed`, { 'cm.yaml': configMap('allowed-config') });
    const forbidden = await repoWith(`${ns}-forbidden`, { 'cm.yaml': configMap('forbidden-config') });
    const project = await projectFor(ns, {
      sourceRepos: [allowed.url],
      destinations: [{ server: SERVER, namespace: ns }],
    });
    await createApp(ns, 'app', {
      project,
      source: { repoURL: allowed.url, targetRevision: 'main', path: '.' },
      destination: { server: SERVER, namespace: ns },
    });
    await patchApp(ns, 'app', {
      operation: { sync: { revision: 'main' }, initiatedBy: { username: 'e2e' } },
    });
    await waitForApp(ns, 'app', (a) => a.status?.operationState?.phase === 'Succeeded', 'the permitted sync');
    assert.ok(await exists(core(ns, 'configmaps', 'allowed-config')));

    await patchApp(ns, 'app', {
      operation: {
        sync: { source: { repoURL: forbidden.url, targetRevision: 'main', path: '.' } },
        initiatedBy: { username: 'e2e' },
      },
    });
    const failed = await waitForApp(
      ns,
      'app',
      (a) => a.status?.operationState?.phase === 'Failed',
      'the forbidden source refused',
    );
    assert.ok(
      (failed.status?.operationState?.message ?? '').includes(
        `application repo ${forbidden.url} is not permitted in project '${project}'`,
      ),
      failed.status?.operationState?.message,
    );
    assert.equal(
      await exists(core(ns, 'configmaps', 'forbidden-config')),
      false,
      'nothing from the forbidden repo',
    );
  });
});
