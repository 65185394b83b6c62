/**
 * AppProject API compatibility (issue 8 §3) on the real API server: Argo CD's documented project
 * (docs/operator-manual/project.yaml) and projects that set every field of Argo CD's current AppProject CRD
 * apply with `kubectl apply --server-side --validate=strict` and read back unchanged (nothing pruned, nothing
 * defaulted); strict validation still refuses a misspelled field, naming it; `kubectl explain` describes the
 * fields Argo CD added last. On the CRD before this work the strict apply of the documented project failed with
 * `.spec.permitOnlyProjectScopedClusters: field not declared in schema` (and the all-fields projects on the
 * other new fields).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { waitFor } from '../harness/wait';
import { controllerNamespace, FIXTURES, kube, kubectl, uniqueName } from './lib';

const DIR = path.join(FIXTURES, 'appproject-compat');

type Obj = Record<string, unknown>;

interface Project {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; finalizers?: string[] };
  spec: Obj;
}

/** The fixture name of each project renamed for this run. */
const fixtureName = new Map<string, string>();

/** The projects of a fixture file, renamed for this run and moved to capstan's namespace. */
function projects(file: string): Project[] {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8'));
  return docs.map((d) => {
    const p = d.toJSON() as Project;
    const name = uniqueName(p.metadata.name);
    fixtureName.set(name, p.metadata.name);
    p.metadata.name = name;
    p.metadata.namespace = controllerNamespace();
    return p;
  });
}

/** A project as capstan's AppProject operator reports on it. */
interface ProjectWithStatus extends Project {
  status?: { conditions?: Array<{ type: string; message: string }> };
}

const projectPath = (name: string) =>
  `/apis/argoproj.io/v1alpha1/namespaces/${controllerNamespace()}/appprojects/${name}`;

/** kubectl's error output (stderr) when it fails; undefined when it succeeds. */
async function kubectlError(...args: string[]): Promise<string | undefined> {
  try {
    await kubectl(...args);
    return undefined;
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
}

describe('AppProject compatibility with Argo CD', () => {
  let work: string;
  const created: string[] = [];

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-e2e-appproject-compat-'));
  });

  after(async () => {
    for (const name of created) {
      // The documented project carries Argo CD's deletion guard; no app uses these projects, so drop it
      // rather than leave a Terminating project behind when capstan's project operator is not running.
      await kube()
        .request('DELETE', projectPath(name))
        .catch(() => undefined);
      await kube()
        .request('PATCH', projectPath(name), {
          body: { metadata: { finalizers: null } },
          contentType: 'application/merge-patch+json',
        })
        .catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Applies the projects as Argo CD users do, with strict field validation; returns kubectl's output. */
  async function applyStrict(list: Project[], file: string): Promise<string> {
    const manifest = path.join(work, file);
    fs.writeFileSync(manifest, list.map((p) => YAML.stringify(p)).join('---\n'));
    created.push(...list.map((p) => p.metadata.name));
    return kubectl('apply', '--server-side', '--validate=strict', '-f', manifest);
  }

  for (const file of ['argocd-docs-project.yaml', 'all-fields-project.yaml']) {
    test(`${file} applies with --server-side --validate=strict and reads back unchanged`, async () => {
      const list = projects(file);
      const out = await applyStrict(list, file);
      for (const p of list) {
        assert.match(out, new RegExp(`appproject\\.argoproj\\.io/${p.metadata.name} serverside-applied`));
        const live = await kube().request<Project>('GET', projectPath(p.metadata.name));
        // Nothing pruned and nothing defaulted: the API server keeps exactly the spec Argo CD users wrote.
        assert.deepEqual(live.spec, p.spec);
      }
    });
  }

  test('capstan reports the accepted fields it does not enforce on the project, and finds nothing invalid', async () => {
    const list = [...projects('argocd-docs-project.yaml'), ...projects('all-fields-project.yaml')];
    await applyStrict(list, 'reported.yaml');
    // destinationServiceAccounts is reported only while --impersonation is off, a choice of the run's flags.
    const expected: Record<string, string[]> = {
      'my-project': ['spec.roles'],
      'all-fields': ['spec.roles', 'spec.sourceIntegrity', 'spec.permitOnlyProjectScopedClusters'],
      'all-fields-legacy': ['spec.signatureKeys'],
    };
    for (const p of list) {
      const conditions = await waitFor(
        async () => {
          const live = await kube().request<ProjectWithStatus>('GET', projectPath(p.metadata.name));
          const all = live.status?.conditions ?? [];
          return all.some((c) => c.type === 'UnsupportedFields') && all;
        },
        { timeoutMs: 20_000, what: `an UnsupportedFields condition on project ${p.metadata.name}` },
      );
      assert.deepEqual(
        conditions.filter((c) => c.type === 'InvalidSpecError'),
        [],
      );
      const message = conditions.find((c) => c.type === 'UnsupportedFields')?.message ?? '';
      const named = [...message.matchAll(/(spec\.[A-Za-z]+): /g)].map((m) => m[1]);
      assert.deepEqual(
        named.filter((f) => f !== 'spec.destinationServiceAccounts'),
        expected[fixtureName.get(p.metadata.name) ?? ''],
        message,
      );
    }
    // Level-based: once the documented project drops its roles, the condition goes.
    const docs = list[0];
    await kube().request('PATCH', projectPath(docs.metadata.name), {
      body: { spec: { roles: null } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor(
      async () => {
        const live = await kube().request<ProjectWithStatus>('GET', projectPath(docs.metadata.name));
        return !(live.status?.conditions ?? []).some((c) => c.type === 'UnsupportedFields');
      },
      { timeoutMs: 20_000, what: `the UnsupportedFields condition of ${docs.metadata.name} to go` },
    );
  });

  test('strict validation still refuses a misspelled field, naming it', async () => {
    const [project] = projects('all-fields-project.yaml');
    const windows = project.spec.syncWindows as Obj[];
    windows[0] = { ...windows[0], syncOverun: true };
    const manifest = path.join(work, 'misspelled.yaml');
    fs.writeFileSync(manifest, YAML.stringify(project));
    const error = await kubectlError('apply', '--server-side', '--validate=strict', '-f', manifest);
    assert.ok(error, 'the apply succeeded');
    // Server-side apply words it "field not declared in schema"; a client-side strict apply "unknown field".
    assert.match(
      error,
      /spec\.syncWindows\[0\]\.syncOverun: field not declared in schema|unknown field "spec\.syncWindows\[0\]\.syncOverun"/,
    );
    const exists = await kube()
      .request('GET', projectPath(project.metadata.name))
      .then(() => true)
      .catch(() => false);
    assert.equal(exists, false);
  });

  test('kubectl explain describes the fields Argo CD added last', async () => {
    for (const field of [
      'appprojects.spec.destinationServiceAccounts.defaultServiceAccount',
      'appprojects.spec.clusterResourceWhitelist.name',
      'appprojects.spec.sourceIntegrity.git.policies.gpg.mode',
      'appprojects.spec.syncWindows.syncOverrun',
      'appprojects.spec.permitOnlyProjectScopedClusters',
    ]) {
      const out = await kubectl('explain', field);
      assert.match(out, /DESCRIPTION:\s*\n\s*\S/, `${field} has no description`);
    }
  });
});
