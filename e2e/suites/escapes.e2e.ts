/**
 * An app author cannot reach beyond the app's repository through capstan's tools: a Helm `releaseName`
 * that is a helm flag (`--set-file=greeting=<operator file>`) is refused with a condition naming the
 * field and no object carrying the file appears; a `file://` repoURL (another repository on the
 * operator's disk) is refused; a kustomization with a remote base is refused before kustomize runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGitServer, GitServer } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import type { KubeObject } from '../../operator/kube/object';
import { ROOT } from '../operator';
import { createApp, createNamespace, getObject, core, kube, uniqueName, waitForApp } from './lib';

const CHART = path.join(ROOT, 'e2e', 'fixtures', 'chart');
const PLAIN = path.join(ROOT, 'e2e', 'fixtures', 'plain');
const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/applications.argoproj.io';

/** Something only the operator's host can read, standing in for its service account token. */
const SECRET_VALUE = `operator-token-${Date.now()}`;

interface Crd extends KubeObject {
  spec: { versions: Array<{ schema: { openAPIV3Schema: Record<string, unknown> } }> };
}

/** Removes `pattern` and `maxLength` from every `releaseName` property of a schema (in place). */
function dropReleaseNameRules(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Record<string, unknown>;
  const props = obj.properties as Record<string, Record<string, unknown>> | undefined;
  if (props?.releaseName) {
    delete props.releaseName.pattern;
    delete props.releaseName.maxLength;
  }
  Object.values(obj).forEach(dropReleaseNameRules);
}

describe('escapes', () => {
  let git: GitServer;
  let work: string;
  before(async () => {
    git = await startGitServer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-e2e-escapes-'));
  });
  after(async () => {
    await git?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a releaseName that is a helm flag is refused and no ConfigMap carries the operator file', async () => {
    const ns = uniqueName('inject');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, CHART);
    const token = path.join(work, 'token');
    fs.writeFileSync(token, SECRET_VALUE);
    const spec = {
      project: 'default',
      source: {
        repoURL: repo.url,
        targetRevision: 'main',
        path: '.',
        helm: { releaseName: `--set-file=greeting=${token}` },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    };
    // The CRD refuses the name at admission.
    await assert.rejects(createApp(ns, 'inject', spec), /releaseName/);
    // Helm never upgrades CRDs of a chart's crds/ directory, so a cluster may still run an older CRD
    // without the rule: capstan must refuse the name itself. Simulate that CRD for this test.
    const original = await kube().request<Crd>('GET', CRD);
    const relaxed = structuredClone(original);
    dropReleaseNameRules(relaxed.spec);
    await kube().request('PUT', CRD, { body: relaxed });
    try {
      await waitFor(
        async () => {
          try {
            await createApp(ns, 'inject', spec);
            return true;
          } catch {
            return undefined; // the relaxed schema is not served yet
          }
        },
        { timeoutMs: 30_000, what: 'the relaxed Application CRD accepts the name' },
      );
      const app = await waitForApp(
        ns,
        'inject',
        (a) =>
          !!a.status?.conditions?.some((c) => c.type === 'InvalidSpecError' || c.type === 'ComparisonError'),
        'a condition about the release name',
      );
      const cond = app.status?.conditions?.find((c) => /Error$/.test(c.type));
      assert.match(cond?.message ?? '', /releaseName/);
      assert.equal(app.status?.sync?.status, 'Unknown');
      const list = await kube().request<{ items: KubeObject[] }>(
        'GET',
        `/api/v1/namespaces/${ns}/configmaps`,
      );
      const leaked = list.items.filter((cm) => JSON.stringify(cm).includes(SECRET_VALUE));
      assert.deepEqual(
        leaked.map((cm) => cm.metadata.name),
        [],
        'a ConfigMap holds the operator file',
      );
      assert.equal(await getObject(core(ns, 'configmaps', 'release-name-config')), undefined);
      assert.doesNotMatch(JSON.stringify(app.status), new RegExp(SECRET_VALUE));
    } finally {
      // The app goes first: with the strict CRD back, its spec could no longer be written.
      await kube()
        .request('DELETE', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/inject`)
        .catch(() => undefined);
      const current = await kube().request<Crd>('GET', CRD);
      await kube().request('PUT', CRD, {
        body: {
          ...original,
          metadata: { ...original.metadata, resourceVersion: current.metadata.resourceVersion },
        },
      });
    }
  });

  test('a file:// repoURL is refused with InvalidSpecError naming the field and the flag', async () => {
    const ns = uniqueName('localrepo');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, PLAIN);
    await createApp(ns, 'local', {
      project: 'default',
      source: { repoURL: repo.fileUrl, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: { prune: true } },
    });
    const app = await waitForApp(
      ns,
      'local',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'InvalidSpecError'),
      'InvalidSpecError',
    );
    const message = app.status?.conditions?.find((c) => c.type === 'InvalidSpecError')?.message ?? '';
    assert.match(message, /spec\.source\.repoURL "file:\/\/.*" is a local repository/);
    assert.match(message, /--allow-local-repos/);
    assert.equal(app.status?.sync?.status, 'Unknown');
    assert.equal(await getObject(core(ns, 'configmaps', 'plain-config')), undefined, 'nothing applied');
  });

  test('a kustomization with a remote base gets ComparisonError naming the file and the flag', async () => {
    const ns = uniqueName('kremote');
    await createNamespace(ns);
    const fixture = path.join(work, 'kremote');
    fs.mkdirSync(fixture, { recursive: true });
    fs.writeFileSync(
      path.join(fixture, 'kustomization.yaml'),
      'resources:\n  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\n',
    );
    const repo = await git.createRepo(ns, fixture);
    await createApp(ns, 'kremote', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
    });
    const app = await waitForApp(
      ns,
      'kremote',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      'ComparisonError',
    );
    const message = app.status?.conditions?.find((c) => c.type === 'ComparisonError')?.message ?? '';
    assert.match(
      message,
      /kustomization\.yaml: resources\[0\] "https:\/\/github\.com\/kubernetes-sigs\/kustomize/,
    );
    assert.match(message, /--kustomize-allow-remote/);
  });
});
