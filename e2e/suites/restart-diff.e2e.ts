/**
 * A restarted capstan compares synced objects from their managedFields (issue 10 P8,
 * kube/appliedconfig.ts): no dry-run for an object that holds exactly what capstan applied, and still
 * OutOfSync for every change made while it was down. On a private control plane, because it stops
 * capstan.
 *
 * Four manual-sync apps (nothing reverts what the test changes), each syncing a ConfigMap, a
 * Deployment (a port without protocol, which the server defaults and keys by) and a Service; while
 * capstan is stopped:
 * - `same`: nothing changes (its Deployment asks for cpu `1000m`, stored as `1`: that one is dry-run);
 * - `git`: git drops a ConfigMap key (capstan still owns it: an apply would remove it);
 * - `edit`: another manager changes the Deployment's image and removes a label capstan set;
 * - `shared`: another manager applies the Service's selector with the same value (an apply changes nothing).
 * After the restart every app is compared once more and must read Synced, OutOfSync, OutOfSync, Synced.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../harness/wait';
import {
  FaultEnv,
  appPath,
  createAppOn,
  createNamespaceOn,
  getObjectOn,
  startFaultEnv,
  waitForAppsOn,
} from './faults-lib';
import type { AppObject } from './lib';

const APPS = ['same', 'git', 'edit', 'shared'] as const;
const nsOf = (app: string) => `restart-${app}`;

function manifests(cpu: string): Record<string, string> {
  return {
    'cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
data:
  a: "1"
  b: "2"
`,
    'deploy.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    tier: front
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: registry.example/web:1
          ports:
            - containerPort: 8080
          resources:
            limits:
              cpu: ${cpu}
              memory: 64Mi
`,
    'svc.yaml': `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 8080
`,
  };
}

function fixture(cpu: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-restart-diff-'));
  for (const [file, text] of Object.entries(manifests(cpu))) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

const statusOf = (a: AppObject, kind: string) => a.status?.resources?.find((r) => r.kind === kind)?.status;

describe('restart: synced objects compared from managedFields', { timeout: 300_000 }, () => {
  let env: FaultEnv;
  const repos = new Map<string, Awaited<ReturnType<FaultEnv['git']['createRepo']>>>();

  before(async () => {
    env = await startFaultEnv();
  });
  after(async () => {
    await env?.stop();
  });

  test('after a restart: unchanged apps stay Synced, changes made while capstan was down are OutOfSync', async () => {
    for (const app of APPS) {
      const ns = nsOf(app);
      await createNamespaceOn(env.kube, ns);
      const repo = await env.git.createRepo(ns, fixture(app === 'same' ? '1000m' : '500m'));
      repos.set(app, repo);
      await createAppOn(env.kube, env.controllerNamespace, app, {
        project: 'default',
        source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
        destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      });
      await env.kube.request('PATCH', appPath(env.controllerNamespace, app), {
        body: { operation: { sync: {}, initiatedBy: { username: 'e2e' } } },
        contentType: 'application/merge-patch+json',
      });
    }
    const synced = (a: AppObject) =>
      a.status?.sync?.status === 'Synced' && a.status?.operationState?.phase === 'Succeeded';
    await waitForAppsOn(env.kube, env.controllerNamespace, [...APPS], synced, {
      what: 'every app synced',
      timeoutMs: 120_000,
    });

    await env.operator.stop();

    // git: a key removed from git (capstan's apply owns it).
    await repos.get('git')!.commit('drop key b', (dir) => {
      fs.writeFileSync(path.join(dir, 'cm.yaml'), manifests('500m')['cm.yaml'].replace('  b: "2"\n', ''));
    });
    // edit: another manager changes the image and removes capstan's label.
    await env.kube.request('PATCH', `/apis/apps/v1/namespaces/${nsOf('edit')}/deployments/web`, {
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.example/web:2' },
        { op: 'remove', path: '/metadata/labels/tier' },
      ],
      contentType: 'application/json-patch+json',
      query: { fieldManager: 'e2e-edit' },
    });
    // shared: another manager applies the same selector value (ownership shared, nothing changes).
    await env.kube.request('PATCH', `/api/v1/namespaces/${nsOf('shared')}/services/web`, {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' } },
      },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'e2e-other', force: true },
    });
    const svc = await getObjectOn(env.kube, `/api/v1/namespaces/${nsOf('shared')}/services/web`);
    assert.ok(
      (svc?.metadata.managedFields as Array<{ manager: string }>).some((e) => e.manager === 'e2e-other'),
      'the other manager shares the selector',
    );

    await env.restartOperator();
    // A periodic pass that finds nothing new writes no status: ask each app for a refresh, which does,
    // so that reconciledAt shows a comparison made by the new process.
    const asked = Math.floor(Date.now() / 1000) * 1000;
    for (const app of APPS)
      await env.kube.request('PATCH', appPath(env.controllerNamespace, app), {
        body: { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } },
        contentType: 'application/merge-patch+json',
      });
    const after = await waitForAppsOn(
      env.kube,
      env.controllerNamespace,
      [...APPS],
      (a) =>
        !a.metadata.annotations?.['argocd.argoproj.io/refresh'] &&
        Date.parse(a.status?.reconciledAt ?? '') >= asked,
      { what: 'every app compared after the restart', timeoutMs: 120_000 },
    );
    // The git change needs the new commit's comparison: wait for it rather than for the first pass alone.
    await waitFor(
      async () => {
        const g = await getObjectOn(env.kube, appPath(env.controllerNamespace, 'git'));
        return (g as AppObject | undefined)?.status?.sync?.status === 'OutOfSync';
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'app git OutOfSync after the restart' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; ${JSON.stringify(after.get('git')?.status?.resources)}`);
    });
    const git = (await getObjectOn(env.kube, appPath(env.controllerNamespace, 'git'))) as AppObject;
    assert.equal(statusOf(git, 'ConfigMap'), 'OutOfSync', 'the ConfigMap whose key git dropped');
    assert.equal(statusOf(git, 'Deployment'), 'Synced');

    const edit = after.get('edit')!;
    assert.equal(edit.status?.sync?.status, 'OutOfSync', JSON.stringify(edit.status?.resources));
    assert.equal(statusOf(edit, 'Deployment'), 'OutOfSync', 'image and label changed by another manager');
    assert.equal(statusOf(edit, 'ConfigMap'), 'Synced');

    for (const name of ['same', 'shared']) {
      const a = after.get(name)!;
      assert.equal(a.status?.sync?.status, 'Synced', `${name}: ${JSON.stringify(a.status?.resources)}`);
    }
  });
});
