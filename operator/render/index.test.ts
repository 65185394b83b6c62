import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PathEscapeError, RenderError, renderSource, type RenderRequest, type SourceSpec } from './index';
import { detectSourceType } from './sourcetype';
import { testBinary } from './testtools';

const helmBinary = testBinary('helm', 'HELM_BINARY');
const kubectlBinary = testBinary('kubectl', 'KUBECTL_BINARY');
const testdata = path.join(__dirname, 'testdata');
const repoURL = 'https://git.example.com/platform.git';

function request(source: Partial<SourceSpec>, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return {
    appName: 'web',
    namespace: 'team-a',
    repoRoot: testdata,
    source: { repoURL, ...source },
    helmBinary,
    kubectlBinary,
    ...overrides,
  };
}

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

function tempDir(files: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-type-'));
  temps.push(dir);
  for (const f of files) fs.writeFileSync(path.join(dir, f), '');
  return dir;
}

describe('detectSourceType (Argo CD ExplicitType, then discovery)', () => {
  it('detects from files: kustomization > Chart.yaml > directory', () => {
    assert.equal(detectSourceType({}, tempDir([])), 'Directory');
    assert.equal(detectSourceType({}, tempDir(['Chart.yaml'])), 'Helm');
    for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
      assert.equal(detectSourceType({}, tempDir([name])), 'Kustomize', name);
    }
    assert.equal(detectSourceType({}, tempDir(['Chart.yaml', 'kustomization.yaml'])), 'Kustomize');
  });

  it('lets an explicit block win over the files; null counts as absent', () => {
    const chartDir = tempDir(['Chart.yaml']);
    assert.equal(detectSourceType({ directory: {} }, chartDir), 'Directory');
    assert.equal(detectSourceType({ kustomize: {} }, chartDir), 'Kustomize');
    assert.equal(detectSourceType({ helm: {} }, tempDir([])), 'Helm');
    assert.equal(detectSourceType({ helm: null, directory: null }, chartDir), 'Helm');
  });

  it('refuses two explicit blocks with Argo CD message, and plugins', () => {
    assert.throws(() => detectSourceType({ helm: {}, kustomize: {} }, tempDir([])), {
      name: 'RenderError',
      message: 'multiple application sources defined: Kustomize,Helm',
    });
    assert.throws(
      () => detectSourceType({ plugin: { name: 'x' } }, tempDir([])),
      /plugins are not supported/,
    );
  });
});

describe('renderSource', () => {
  it('renders a Directory source', async () => {
    const result = await renderSource(
      request({ path: 'directory', directory: { recurse: true, include: '*.yml' } }),
    );
    assert.equal(result.sourceType, 'Directory');
    assert.deepEqual(
      result.objects.map((o) => `${o.kind}/${o.metadata.name}`),
      ['Deployment/web'],
    );
  });

  it('treats a missing path, "" and "." as the repository root', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-root-'));
    temps.push(root);
    fs.writeFileSync(
      path.join(root, 'ns.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: root\n',
    );
    for (const p of [undefined, '', '.']) {
      const result = await renderSource(request({ path: p }, { repoRoot: root }));
      assert.deepEqual(
        result.objects.map((o) => o.metadata.name),
        ['root'],
        String(p),
      );
    }
  });

  it('reports a path that does not exist', async () => {
    await assert.rejects(renderSource(request({ path: 'apps/missing' })), {
      name: 'RenderError',
      message: 'app path "apps/missing" does not exist',
    });
  });

  it('refuses a path outside the repository', async () => {
    await assert.rejects(renderSource(request({ path: '../../..' })), PathEscapeError);
  });

  it('renders nothing for a ref-only source', async () => {
    assert.deepEqual(await renderSource(request({ ref: 'values' })), {
      sourceType: 'Directory',
      objects: [],
    });
  });

  it('refuses a Helm repository chart without a resolved version (helmchart.ts renders it)', async () => {
    await assert.rejects(
      renderSource(request({ chart: 'redis', targetRevision: '19.0.0' })),
      /chart "redis": no resolved chart version to render/,
    );
  });

  it('renders a detected Helm chart', { skip: helmBinary ? false : 'no helm binary' }, async () => {
    const result = await renderSource(request({ path: 'chart', helm: { valueFiles: ['values-prod.yaml'] } }));
    assert.equal(result.sourceType, 'Helm');
    const cm = result.objects.find((o) => o.kind === 'ConfigMap');
    assert.equal(cm?.metadata.name, 'web-settings');
    assert.equal(cm?.metadata.namespace, 'team-a');
    assert.equal((cm?.data as Record<string, string>).replicas, '3');
  });

  it('reads a chart directory as plain files when directory: is explicit', async () => {
    // As Argo CD warns: Chart.yaml and values.yaml are skipped (YAML that is not a manifest), but a JSON file
    // that is not a Kubernetes object (values.schema.json) fails the render.
    await assert.rejects(renderSource(request({ path: 'chart', directory: {} })), {
      name: 'RenderError',
      message: 'chart/values.schema.json: document 1 has no apiVersion',
    });
    const result = await renderSource(request({ path: 'chart', directory: { exclude: '*.json' } }));
    assert.deepEqual(result, { sourceType: 'Directory', objects: [] });
  });

  it('renders a detected kustomization', { skip: kubectlBinary ? false : 'no kubectl binary' }, async () => {
    const result = await renderSource(request({ path: 'kustomize' }));
    assert.equal(result.sourceType, 'Kustomize');
    assert.deepEqual(
      result.objects.map((o) => `${o.kind}/${o.metadata.name}`),
      ['ConfigMap/k-settings'],
    );
  });

  it(
    'applies Kustomize options, expanding the build environment',
    { skip: kubectlBinary ? false : 'no kubectl binary' },
    async () => {
      const result = await renderSource({
        ...request({
          path: 'kustomize',
          kustomize: {
            namePrefix: 'x-',
            images: [],
            commonLabels: { app: '$ARGOCD_APP_NAME' },
            labelWithoutSelector: true,
          },
        }),
        buildEnv: { ARGOCD_APP_NAME: 'web' },
      });
      assert.deepEqual(
        result.objects.map((o) => `${o.kind}/${o.metadata.name} ${o.metadata.labels?.app}`),
        // namePrefix replaces the kustomization's own k- (kustomize edit set nameprefix)
        ['ConfigMap/x-settings web'],
      );
    },
  );

  it('refuses kustomize.version rather than ignoring it', async () => {
    await assert.rejects(renderSource(request({ path: 'kustomize', kustomize: { version: 'v4' } })), {
      name: 'RenderError',
      message: /kustomize\.version "v4" selects a kustomize binary/,
    });
  });

  it('carries kustomize errors', { skip: kubectlBinary ? false : 'no kubectl binary' }, async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-kust-')));
    temps.push(root);
    fs.writeFileSync(path.join(root, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
    await assert.rejects(renderSource(request({}, { repoRoot: root })), (err: unknown) => {
      assert.ok(err instanceof RenderError);
      assert.match(err.message, /^kustomize build failed: .*missing\.yaml/s);
      return true;
    });
  });
});
