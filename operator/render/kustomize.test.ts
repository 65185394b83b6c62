import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PathEscapeError } from '../sources/paths';
import { RenderError } from './errors';
import { renderKustomize, type KustomizeRenderRequest } from './kustomize';
import { remoteRepoURL, scanKustomization } from './kustomizerefs';
import { testBinary } from './testtools';

const kubectlBinary = testBinary('kubectl', 'KUBECTL_BINARY');

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

/** A temporary repository with the given files (path -> content). */
function repo(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-kustomize-test-')));
  temps.push(root);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n';

/** An app `app/` whose kustomization lists `resources` (YAML list items) over a local `base/`. */
function appWith(resources: string[], extra = ''): string {
  return repo({
    'base/kustomization.yaml': 'resources:\n  - cm.yaml\n',
    'base/cm.yaml': CONFIGMAP,
    'app/kustomization.yaml': `resources:\n${resources.map((r) => `  - ${JSON.stringify(r)}\n`).join('')}${extra}`,
  });
}

function render(root: string, overrides: Partial<KustomizeRenderRequest> = {}) {
  return renderKustomize({ repoRoot: root, path: 'app', kubectlBinary, ...overrides });
}

describe('remoteRepoURL (kustomize repospec)', () => {
  it('cuts the repository out of each remote form', () => {
    const cases: Array<[string, string]> = [
      ['https://github.com/org/repo//base?ref=v1', 'https://github.com/org/repo'],
      ['https://github.com/org/repo/base?ref=v1', 'https://github.com/org/repo'],
      ['github.com/org/repo/overlays/prod?ref=main', 'https://github.com/org/repo'],
      ['git::https://git.example.com/team/repo.git/base', 'https://git.example.com/team/repo.git'],
      ['git@github.com:org/repo.git//base', 'git@github.com:org/repo.git'],
      ['ssh://git@git.example.com/org/repo//base', 'ssh://git@git.example.com/org/repo'],
      ['https://dev.azure.com/org/proj/_git/repo/base', 'https://dev.azure.com/org/proj/_git/repo'],
      ['gh:org/repo/base', 'https://github.com/org/repo'],
    ];
    for (const [ref, want] of cases) assert.equal(remoteRepoURL(ref), want, ref);
  });
});

describe('scanKustomization', () => {
  it('finds remote references in every reachable kustomization, and Helm charts', () => {
    const root = repo({
      'app/kustomization.yaml': [
        'resources:',
        '  - ../base',
        '  - https://github.com/org/repo//base?ref=v1',
        'components:',
        '  - git@github.com:org/comp.git//c',
        'patches:',
        '  - path: https://example.com/patch.yaml',
        '  - path: local-patch.yaml',
        'helmCharts:',
        '  - name: redis',
        '    repo: https://charts.example.com',
        '',
      ].join('\n'),
      'app/local-patch.yaml': '[]\n',
      'base/kustomization.yml': 'bases:\n  - github.com/org/other/base\nresources:\n  - cm.yaml\n',
      'base/cm.yaml': CONFIGMAP,
    });
    const scan = scanKustomization(root, path.join(root, 'app'));
    assert.deepEqual(
      scan.remote.map((r) => `${r.file} ${r.field} ${r.repoURL}`),
      [
        'base/kustomization.yml bases[0] https://github.com/org/other',
        'app/kustomization.yaml resources[1] https://github.com/org/repo',
        'app/kustomization.yaml components[0] git@github.com:org/comp.git',
        'app/kustomization.yaml patches[0].path https://example.com/patch.yaml',
        'app/kustomization.yaml helmCharts[0].repo https://charts.example.com',
      ],
    );
    assert.deepEqual(scan.helmCharts, [
      { file: 'app/kustomization.yaml', field: 'helmCharts[0]', name: 'redis' },
    ]);
  });

  it('counts an entry that is no path in the repository as remote (kustomize would fetch it)', () => {
    const root = appWith(['github.com/org/repo']);
    const [ref] = scanKustomization(root, path.join(root, 'app')).remote;
    assert.equal(ref.notLocal, true);
    assert.equal(ref.repoURL, 'https://github.com/org/repo');
    // A missing file is kustomize's to report, not a remote reference.
    const missing = appWith(['missing.yaml', 'sub/missing.yaml']);
    assert.deepEqual(scanKustomization(missing, path.join(missing, 'app')).remote, []);
  });

  it('refuses local paths outside the repository, also through absolute paths', () => {
    for (const entry of ['../../../../../etc', '/etc', '../app/../../x']) {
      const root = appWith([entry]);
      assert.throws(
        () => scanKustomization(root, path.join(root, 'app')),
        (err: unknown) => err instanceof PathEscapeError && /resources\[0\]/.test(err.message),
        entry,
      );
    }
    const root = appWith(
      ['../base'],
      'configMapGenerator:\n  - name: x\n    files:\n      - key=/etc/hostname\n',
    );
    assert.throws(
      () => scanKustomization(root, path.join(root, 'app')),
      /configMapGenerator\[0\]\.files\[0\]/,
    );
  });

  it('fails closed on a kustomization that is not YAML', () => {
    const root = repo({ 'app/kustomization.yaml': 'resources: [\n' });
    assert.throws(() => scanKustomization(root, path.join(root, 'app')), RenderError);
  });
});

describe(
  'renderKustomize remote references',
  { skip: kubectlBinary ? false : 'no kubectl binary (.tools/bin/kubectl or KUBECTL_BINARY)' },
  () => {
    it('renders local bases (kubectl kustomize -- .)', async () => {
      const objects = await render(appWith(['../base']));
      assert.deepEqual(
        objects.map((o) => `${o.kind}/${o.metadata.name}`),
        ['ConfigMap/settings'],
      );
    });

    it('refuses remote bases before kustomize runs, without --kustomize-allow-remote', async () => {
      for (const remote of [
        'https://127.0.0.1:1/org/repo//base?ref=v1',
        'github.com/org/repo/base',
        'git@github.com:org/repo.git',
        'ssh://git@127.0.0.1:1/org/repo',
        'git::https://127.0.0.1:1/org/repo',
      ]) {
        // A binary that does not exist: the refusal must come before any process is started.
        await assert.rejects(
          render(appWith(['../base', remote]), { kubectlBinary: '/nonexistent/kubectl' }),
          (err: unknown) => {
            assert.ok(err instanceof RenderError, String(err));
            assert.match(
              err.message,
              /^app\/kustomization\.yaml: resources\[1\] ".*" is (a remote reference|no path)/,
            );
            assert.match(err.message, /--kustomize-allow-remote/);
            return true;
          },
        );
      }
    });

    it('refuses a remote base the project does not permit, and passes one it permits to kustomize', async () => {
      const root = appWith(['https://127.0.0.1:1/org/repo//base?ref=v1&timeout=1s']);
      const asked: string[] = [];
      const deny = {
        allowRemote: true,
        enableHelm: false,
        permitsRepo: (u: string) => (asked.push(u), false),
      };
      await assert.rejects(
        render(root, { remote: deny }),
        /repository "https:\/\/127\.0\.0\.1:1\/org\/repo" is not permitted by the project's sourceRepos/,
      );
      assert.deepEqual(asked, ['https://127.0.0.1:1/org/repo']);
      const allow = { allowRemote: true, enableHelm: false, permitsRepo: () => true };
      // Permitted: kustomize itself tries to fetch it (and fails: nothing listens on port 1).
      await assert.rejects(render(root, { remote: allow }), /^RenderError: kustomize build failed/);
    });

    it('refuses file:// bases even when remote bases are allowed and the project permits all', async () => {
      const root = appWith(['file:///var/cache/capstan/other-app.git//base']);
      const allowAll = { allowRemote: true, enableHelm: false, permitsRepo: () => true };
      await assert.rejects(
        render(root, { remote: allowAll, kubectlBinary: '/nonexistent/kubectl' }),
        /resources\[0\] "file:\/\/\/var\/cache\/capstan\/other-app\.git\/\/base" is a remote reference; only https, http, ssh and git remotes/,
      );
    });

    it('refuses helmCharts unless --kustomize-enable-helm', async () => {
      const root = appWith(['../base'], 'helmCharts:\n  - name: local-chart\n');
      await assert.rejects(
        render(root),
        /helmCharts\[0\] inflates the Helm chart "local-chart".*--kustomize-enable-helm/,
      );
    });
  },
);
