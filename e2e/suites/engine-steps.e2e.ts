/**
 * The sync engine's pending steps (issue 10 §3: a sync advances one step per reconcile and never parks a
 * worker), on a private control plane with capstan at `--concurrency 1` (one worker: any wait inside a
 * reconcile would stop every other app):
 *
 * - a CRD in wave 0 and a custom resource of it in wave 1: the CRD's wait for Established is a pending
 *   step, and the custom resource is applied once the CRD is served;
 * - `Replace=true,Force=true` on an object whose deletion a finalizer holds: the operation stays Running
 *   at a pending step while another app's drift is reverted promptly, several times; once the test
 *   removes the finalizer the object is created again and the operation succeeds.
 *
 * Before, applyOne polled the CRD and the deletion every 250 ms for up to 60 s inside the worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../../operator/kube/client';
import type { GitRepo } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import {
  type FaultEnv,
  appPath,
  createAppOn,
  createNamespaceOn,
  getObjectOn,
  startFaultEnv,
  waitForAppsOn,
} from './faults-lib';
import { type AppObject, syncedAt } from './lib';

type Line = {
  kind: string;
  name: string;
  status?: string;
  message?: string;
  hookPhase?: string;
  startedAt?: string;
};
const lines = (a: AppObject): Line[] =>
  ((a.status?.operationState?.syncResult as { resources?: Line[] } | undefined)?.resources ?? []) as Line[];

/** A folder with the given files (name -> YAML), for a repository's first commit. */
function fixture(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-steps-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const cmPath = (ns: string, name: string): string => `/api/v1/namespaces/${ns}/configmaps/${name}`;

async function mergePatch(kube: KubeClient, apiPath: string, body: unknown): Promise<void> {
  await kube.request('PATCH', apiPath, { body, contentType: 'application/merge-patch+json' });
}

/** An app of `dir` in its own namespace `ns`, synced automatically; its repository. */
async function appOf(env: FaultEnv, ns: string, dir: string, selfHeal = false): Promise<GitRepo> {
  await createNamespaceOn(env.kube, ns);
  const repo = await env.git.createRepo(ns, dir);
  await createAppOn(env.kube, ns, 'app', {
    project: 'default',
    source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
    destination: { server: 'https://kubernetes.default.svc', namespace: ns },
    syncPolicy: { automated: { prune: true, selfHeal } },
  });
  return repo;
}

const waitApp = (
  env: FaultEnv,
  ns: string,
  pred: (a: AppObject) => boolean,
  what: string,
  timeoutMs = 90_000,
): Promise<AppObject> =>
  waitForAppsOn(env.kube, ns, ['app'], pred, { what, timeoutMs }).then((m) => m.get('app')!);

describe('engine steps: pending CRD and Force-replace steps never park the only worker', () => {
  let env: FaultEnv;
  before(async () => {
    env = await startFaultEnv({ operatorArgs: ['--concurrency', '1'] });
  });
  after(async () => {
    await env?.stop();
  });

  test('a CRD in wave 0 and its custom resource in wave 1 sync', async () => {
    const ns = 'crd-waves';
    const repo = await appOf(
      env,
      ns,
      fixture({
        'crd.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.steps.e2e.capstan.dev
  annotations: {argocd.argoproj.io/sync-wave: "0"}
spec:
  group: steps.e2e.capstan.dev
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}}}
`,
        'gadget.yaml': `apiVersion: steps.e2e.capstan.dev/v1
kind: Gadget
metadata:
  name: small
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  size: 7
`,
      }),
    );
    const sha = await repo.headSha();
    const app = await waitApp(
      env,
      ns,
      (a) => syncedAt(sha)(a) && a.status?.operationState?.phase === 'Succeeded',
      'Synced and the operation Succeeded',
    );
    const gadget = await getObjectOn(
      env.kube,
      `/apis/steps.e2e.capstan.dev/v1/namespaces/${ns}/gadgets/small`,
    );
    assert.deepEqual(gadget?.spec, { size: 7 });
    const crdLine = lines(app).find((l) => l.kind === 'CustomResourceDefinition');
    assert.equal(crdLine?.status, 'Synced');
    assert.equal(crdLine?.hookPhase, undefined, 'the pending step is finished');
    assert.equal(crdLine?.startedAt, undefined);
    assert.equal(lines(app).find((l) => l.kind === 'Gadget')?.status, 'Synced');
  });

  test('while one app waits for a Force replace held by a finalizer, another app’s drift is reverted promptly', async () => {
    const DRIFTS = 3;
    // Apps whose drift is measured, one drift each (self-heal's backoff spaces the heals of one app).
    const healed: string[] = [];
    for (let i = 0; i < DRIFTS; i++) {
      const ns = `steps-heal${i}`;
      const repo = await appOf(
        env,
        ns,
        fixture({
          'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: healed\ndata:\n  key: from-git\n',
        }),
        true,
      );
      await waitApp(env, ns, syncedAt(await repo.headSha()), 'first sync');
      healed.push(ns);
    }

    const ns = 'steps-held';
    const held = (value: string) => (dir: string) =>
      fs.writeFileSync(
        path.join(dir, 'cm.yaml'),
        `apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  annotations: {argocd.argoproj.io/sync-options: "Replace=true,Force=true"}
data:
  value: ${value}
`,
      );
    const dir = fixture({});
    held('one')(dir);
    const repo = await appOf(env, ns, dir);
    const first = await repo.headSha();
    await waitApp(
      env,
      ns,
      (a) => syncedAt(first)(a) && a.status?.operationState?.phase === 'Succeeded',
      'first sync',
    );
    // A finalizer that only this test removes: the deletion of Force replace really waits.
    await mergePatch(env.kube, cmPath(ns, 'held'), { metadata: { finalizers: ['e2e.capstan.dev/hold'] } });

    const second = await repo.commit('value two', held('two'));
    await mergePatch(env.kube, appPath(ns, 'app'), {
      metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } },
    });
    const waiting = await waitApp(
      env,
      ns,
      (a) =>
        a.status?.operationState?.phase === 'Running' &&
        lines(a).some(
          (l) =>
            l.name === 'held' &&
            l.hookPhase === 'Running' &&
            /waiting for the deletion/.test(l.message ?? ''),
        ),
      'the sync waits at the Force replace of the held ConfigMap',
    );
    assert.ok(lines(waiting).find((l) => l.name === 'held')?.startedAt, 'the step records its start');
    const deleting = await getObjectOn(env.kube, cmPath(ns, 'held'));
    assert.ok(deleting?.metadata.deletionTimestamp, 'the deletion is held by the finalizer');

    const latencies: number[] = [];
    for (const [i, hns] of healed.entries()) {
      const startedAt = Date.now();
      await mergePatch(env.kube, cmPath(hns, 'healed'), { data: { key: `drift-${i}` } });
      await waitFor(
        async () =>
          ((await getObjectOn(env.kube, cmPath(hns, 'healed')))?.data as Record<string, string> | undefined)
            ?.key === 'from-git',
        { timeoutMs: 20_000, intervalMs: 20, what: `drift of ${hns} reverted` },
      );
      latencies.push(Date.now() - startedAt);
      const still = await env.kube.request<AppObject>('GET', appPath(ns, 'app'));
      assert.equal(still.status?.operationState?.phase, 'Running', 'the Force replace still waits');
    }
    console.log(
      `engine steps: drift reverted in ${latencies.join(', ')} ms while a Force replace waited (--concurrency 1)`,
    );
    // Before, the only worker was parked up to 60 s in the replace: the drift waited as long.
    for (const ms of latencies) assert.ok(ms < 1500, `drift reverted promptly (took ${ms} ms)`);

    // The finalizer goes: the deletion ends, the ConfigMap is created with git's new data.
    await mergePatch(env.kube, cmPath(ns, 'held'), { metadata: { finalizers: null } });
    const done = await waitApp(
      env,
      ns,
      (a) => a.status?.operationState?.phase === 'Succeeded' && syncedAt(second)(a),
      'the Force replace finishes',
    );
    const line = lines(done).find((l) => l.name === 'held');
    assert.equal(line?.message, 'configmap/held replaced');
    assert.equal(line?.hookPhase, undefined);
    const recreated = await getObjectOn(env.kube, cmPath(ns, 'held'));
    assert.deepEqual(recreated?.data, { value: 'two' });
    assert.equal(recreated?.metadata.deletionTimestamp, undefined);
  });
});
