import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import { buildEnv } from './buildenv';
import { helmCapabilities, kustomizeArgs, renderKustomize } from './kustomize';
import { envsubst, parseImageOverride, type KustomizeOptions } from './kustomizeedit';
import { testBinary } from './testtools';

const kubectlBinary = testBinary('kubectl', 'KUBECTL_BINARY');

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

function repo(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-kedit-test-')));
  temps.push(root);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

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
          image: nginx:1.25
`;

function app(extra = '', files: Record<string, string> = {}): string {
  return repo({
    'app/kustomization.yaml': `resources:\n  - deploy.yaml\n${extra}`,
    'app/deploy.yaml': DEPLOYMENT,
    ...files,
  });
}

const env = buildEnv({
  appName: 'shop',
  appNamespace: 'argocd',
  project: 'default',
  revision: '0123456789abcdef0123456789abcdef01234567',
  repoURL: 'https://git.example.com/shop.git',
  path: 'app',
  targetRevision: 'main',
});

async function build(root: string, kustomize: KustomizeOptions): Promise<KubeObject[]> {
  return renderKustomize({ repoRoot: root, path: 'app', kubectlBinary, kustomize, buildEnv: env });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const spec = (o: KubeObject): any => (o as unknown as { spec: unknown }).spec;

describe('envsubst (Argo CD Env.Envsubst)', () => {
  it('expands $NAME and ${NAME}, empties unknown names, keeps $$ as $', () => {
    assert.equal(envsubst('${ARGOCD_APP_NAME}-$ARGOCD_APP_REVISION_SHORT', env), 'shop-0123456');
    assert.equal(envsubst('a$UNKNOWN-b${NOPE}c', env), 'a-bc');
    assert.equal(envsubst('cost: $$5 and $ alone', env), 'cost: $5 and $ alone');
  });
});

describe('parseImageOverride (kustomize edit set image)', () => {
  it('reads every form, a registry port is no tag', () => {
    assert.deepEqual(parseImageOverride('nginx:1.27'), { name: 'nginx', newTag: '1.27', digest: undefined });
    assert.deepEqual(parseImageOverride('nginx=registry:5000/mirror/nginx:1.27'), {
      name: 'nginx',
      newName: 'registry:5000/mirror/nginx',
      newTag: '1.27',
      digest: undefined,
    });
    assert.deepEqual(parseImageOverride('nginx=mirror/nginx@sha256:abc'), {
      name: 'nginx',
      newName: 'mirror/nginx',
      newTag: undefined,
      digest: 'sha256:abc',
    });
    assert.deepEqual(parseImageOverride('registry:5000/nginx'), {
      name: 'registry:5000/nginx',
      newTag: undefined,
      digest: undefined,
    });
  });
});

describe('kubeVersion / apiVersions for kustomize Helm charts', () => {
  it('pass the app fields, else the cluster values, only with --enable-helm', () => {
    const req = { repoRoot: '', path: '', kubeVersion: '1.31.0', apiVersions: ['v1'] };
    const own = helmCapabilities({
      ...req,
      kustomize: { kubeVersion: '1.29.0', apiVersions: ['a/v1', 'b/v2'] },
    });
    assert.deepEqual(kustomizeArgs({ allowRemote: false, enableHelm: true }, '/bin/helm', own), [
      'kustomize',
      '--enable-helm',
      '--helm-command=/bin/helm',
      '--helm-kube-version=1.29.0',
      '--helm-api-versions=a/v1',
      '--helm-api-versions=b/v2',
      '--',
      '.',
    ]);
    assert.deepEqual(helmCapabilities(req), { kubeVersion: '1.31.0', apiVersions: ['v1'] });
    assert.deepEqual(kustomizeArgs({ allowRemote: false, enableHelm: false }, undefined, own), [
      'kustomize',
      '--',
      '.',
    ]);
  });
});

describe(
  'renderKustomize with spec.source.kustomize options',
  { skip: kubectlBinary ? false : 'no kubectl binary (.tools/bin/kubectl or KUBECTL_BINARY)' },
  () => {
    it('commonLabels go into selectors; labelWithoutSelector keeps selectors and templates', async () => {
      const root = app();
      const [plain] = await build(root, { commonLabels: { team: 'a' } });
      assert.equal(spec(plain).selector.matchLabels.team, 'a');
      assert.equal(spec(plain).template.metadata.labels.team, 'a');

      const [without] = await build(root, { commonLabels: { team: 'a' }, labelWithoutSelector: true });
      assert.equal(without.metadata.labels?.team, 'a');
      assert.deepEqual(spec(without).selector.matchLabels, { app: 'web' });
      assert.deepEqual(spec(without).template.metadata.labels, { app: 'web' });

      const [templates] = await build(root, {
        commonLabels: { team: 'a' },
        labelWithoutSelector: true,
        labelIncludeTemplates: true,
      });
      assert.deepEqual(spec(templates).selector.matchLabels, { app: 'web' });
      assert.equal(spec(templates).template.metadata.labels.team, 'a');
      await assert.rejects(
        build(root, { commonLabels: { team: 'a' }, labelIncludeTemplates: true }),
        /labelIncludeTemplates needs labelWithoutSelector/,
      );
      // The shared checkout is never written.
      assert.equal(
        fs.readFileSync(path.join(root, 'app/kustomization.yaml'), 'utf8'),
        'resources:\n  - deploy.yaml\n',
      );
    });

    it('a label the kustomization sets needs forceCommonLabels', async () => {
      const root = app('commonLabels:\n  team: b\n');
      await assert.rejects(
        build(root, { commonLabels: { team: 'a' } }),
        /label "team" is already set.*forceCommonLabels/,
      );
      const [forced] = await build(root, { commonLabels: { team: 'a' }, forceCommonLabels: true });
      assert.equal(forced.metadata.labels?.team, 'a');
    });

    it('commonAnnotationsEnvsubst expands the build environment; without it values are literal', async () => {
      const root = app();
      const annotations = { rev: '${ARGOCD_APP_NAME}@$ARGOCD_APP_REVISION_SHORT_8', price: '$$1' };
      const [expanded] = await build(root, {
        commonAnnotations: annotations,
        commonAnnotationsEnvsubst: true,
      });
      assert.equal(expanded.metadata.annotations?.rev, 'shop@01234567');
      assert.equal(expanded.metadata.annotations?.price, '$1');
      const [literal] = await build(root, { commonAnnotations: annotations });
      assert.equal(literal.metadata.annotations?.rev, '${ARGOCD_APP_NAME}@$ARGOCD_APP_REVISION_SHORT_8');
    });

    it('components: a missing one fails unless ignoreMissingComponents', async () => {
      const root = app('', {
        'comp/kustomization.yaml':
          'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  from: comp\n',
      });
      await assert.rejects(
        build(root, { components: ['../comp', '../missing'] }),
        /"\.\.\/missing" does not exist/,
      );
      const [obj] = await build(root, {
        components: ['../comp', '../missing'],
        ignoreMissingComponents: true,
      });
      assert.equal(obj.metadata.annotations?.from, 'comp');
    });

    it('namePrefix, nameSuffix, images (with $VARs), replicas, namespace and patches', async () => {
      const root = app();
      const [obj] = await build(root, {
        namePrefix: 'p-',
        nameSuffix: '-s',
        images: ['nginx=mirror/nginx:${ARGOCD_APP_REVISION_SHORT}'],
        replicas: [{ name: 'web', count: '3' }],
        namespace: 'shop',
        patches: [
          {
            target: { kind: 'Deployment' },
            patch: '[{"op":"add","path":"/metadata/annotations","value":{"patched":"yes"}}]',
          },
        ],
      });
      assert.equal(obj.metadata.name, 'p-web-s');
      assert.equal(obj.metadata.namespace, 'shop');
      assert.equal(spec(obj).replicas, 3);
      assert.equal(spec(obj).template.spec.containers[0].image, 'mirror/nginx:0123456');
      assert.equal(obj.metadata.annotations?.patched, 'yes');
    });

    it('refuses kustomize.version (only kubectl kustomize is available)', async () => {
      await assert.rejects(build(app(), { version: 'v4.5.7' }), /kustomize\.version "v4\.5\.7"/);
    });
  },
);
