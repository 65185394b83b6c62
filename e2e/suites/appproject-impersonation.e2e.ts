/**
 * Sync with impersonation (issue 8 §2, Argo CD 2.13+ `destinationServiceAccounts`), on a private control
 * plane whose capstan runs with `--impersonation` (the run's shared capstan runs without it, and with it
 * every app of the other suites would need a service account mapping).
 *
 * The project maps namespace `<ns>` to service account `deployer` there, which starts with no rights:
 * the sync's apply is refused by the API server itself (403, in the sync result) although capstan's own
 * identity is cluster-admin; once a RoleBinding gives `deployer` ConfigMaps, the next sync succeeds. A
 * destination the project maps to no service account fails with Argo CD's message and writes nothing.
 * On the code before, capstan applied everything as itself: the first sync succeeded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { KubeClient } from '../../operator/kube/client';
import {
  FaultEnv,
  createAppOn,
  createNamespaceOn,
  getObjectOn,
  startFaultEnv,
  waitForAppsOn,
} from './faults-lib';
import { AppObject, FIXTURES, uniqueName } from './lib';

interface SyncLine {
  kind: string;
  name: string;
  status?: string;
  message?: string;
}

const projectsPath = (ns: string) => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/appprojects`;
const appPath = (ns: string, name: string) =>
  `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/${name}`;

/** Starts a manual sync (the top-level `operation` field, as `argocd app sync` writes it). */
async function syncNow(kube: KubeClient, ns: string, name: string, who: string): Promise<void> {
  await kube.request('PATCH', appPath(ns, name), {
    body: { operation: { sync: { prune: false }, initiatedBy: { username: who } } },
    contentType: 'application/merge-patch+json',
  });
}

const finishedBy = (who: string) => (a: AppObject) => {
  const op = a.status?.operationState as
    { phase?: string; operation?: { initiatedBy?: { username?: string } } } | undefined;
  return op?.operation?.initiatedBy?.username === who && (op.phase === 'Succeeded' || op.phase === 'Failed');
};

describe('sync with impersonation (--impersonation, destinationServiceAccounts)', () => {
  let env: FaultEnv;
  before(async () => {
    env = await startFaultEnv({ operatorArgs: ['--impersonation'] });
  });
  after(async () => {
    await env?.stop();
  });

  test("the project's service account without rights gets the API server's 403; a RoleBinding makes the sync succeed", async () => {
    const kube = env.kube;
    const cns = env.controllerNamespace;
    const ns = uniqueName('imp');
    const unmapped = `${ns}-x`;
    await createNamespaceOn(kube, ns);
    await createNamespaceOn(kube, unmapped);
    await kube.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } },
    });
    await kube.request('POST', projectsPath(cns), {
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: 'tenant', namespace: cns },
        spec: {
          sourceRepos: ['*'],
          destinations: [
            { server: 'https://kubernetes.default.svc', namespace: ns },
            { server: 'https://kubernetes.default.svc', namespace: unmapped },
          ],
          destinationServiceAccounts: [
            { server: 'https://kubernetes.default.svc', namespace: ns, defaultServiceAccount: 'deployer' },
          ],
        },
      },
    });
    const repo = await env.git.createRepo(ns, path.join(FIXTURES, 'apps-child'));
    const spec = (dest: string) => ({
      project: 'tenant',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: dest },
    });
    await createAppOn(kube, cns, 'imp', spec(ns));
    await createAppOn(kube, cns, 'imp-unmapped', spec(unmapped));
    // Wait for the first comparison, so that the sync request is not raced by the app's creation.
    await waitForAppsOn(kube, cns, ['imp', 'imp-unmapped'], (a) => a.status?.sync?.status === 'OutOfSync', {
      what: 'compared (OutOfSync)',
      timeoutMs: 60_000,
    });

    await syncNow(kube, cns, 'imp', 'first');
    await syncNow(kube, cns, 'imp-unmapped', 'first');
    const first = await waitForAppsOn(kube, cns, ['imp', 'imp-unmapped'], finishedBy('first'), {
      what: 'first sync finished',
      timeoutMs: 60_000,
    });
    const state = first.get('imp')!.status!.operationState as {
      phase: string;
      message?: string;
      syncResult?: { resources?: SyncLine[] };
    };
    assert.equal(state.phase, 'Failed', JSON.stringify(state));
    const line = state.syncResult?.resources?.find(
      (r) => r.kind === 'ConfigMap' && r.name === 'child-config',
    );
    assert.equal(line?.status, 'SyncFailed', JSON.stringify(state.syncResult));
    // The API server's own refusal, naming the impersonated service account.
    assert.match(
      line?.message ?? '',
      new RegExp(`forbidden: User "system:serviceaccount:${ns}:deployer" cannot \\w+ resource "configmaps"`),
    );
    assert.equal(await getObjectOn(kube, `/api/v1/namespaces/${ns}/configmaps/child-config`), undefined);

    const unmappedState = first.get('imp-unmapped')!.status!.operationState as {
      phase: string;
      message?: string;
    };
    assert.equal(unmappedState.phase, 'Failed');
    assert.equal(
      unmappedState.message,
      `failed to find a matching service account to impersonate: no matching service account found for destination server https://kubernetes.default.svc and namespace ${unmapped}`,
    );
    assert.equal(
      await getObjectOn(kube, `/api/v1/namespaces/${unmapped}/configmaps/child-config`),
      undefined,
    );

    // The platform admin grants the service account what the app deploys.
    await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'deployer' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }],
      },
    });
    await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'deployer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
      },
    });
    await syncNow(kube, cns, 'imp', 'second');
    const second = await waitForAppsOn(kube, cns, ['imp'], finishedBy('second'), {
      what: 'second sync finished',
      timeoutMs: 60_000,
    });
    const ok = second.get('imp')!.status!.operationState as { phase: string; message?: string };
    assert.equal(ok.phase, 'Succeeded', JSON.stringify(ok));
    const cm = await getObjectOn(kube, `/api/v1/namespaces/${ns}/configmaps/child-config`);
    assert.equal((cm?.data as Record<string, string> | undefined)?.from, 'child');
  });
});
