import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import { PathEscapeError } from '../sources/paths';
import { RenderError } from './errors';
import {
  escapeSetValue,
  HELM_RELEASE_NAME,
  HELM_RELEASE_NAME_MAX,
  renderHelm,
  type HelmRenderRequest,
} from './helm';
import { testBinary } from './testtools';

const helmBinary = testBinary('helm', 'HELM_BINARY');
const testdata = path.join(__dirname, 'testdata');

function render(overrides: Partial<HelmRenderRequest> = {}): Promise<KubeObject[]> {
  return renderHelm({
    repoRoot: testdata,
    chartPath: 'chart',
    appName: 'demo-app',
    namespace: 'team-a',
    helmBinary,
    ...overrides,
  });
}

function find(objects: KubeObject[], kind: string): KubeObject {
  const obj = objects.find((o) => o.kind === kind);
  assert.ok(obj, `no ${kind} in ${objects.map((o) => o.kind).join(', ')}`);
  return obj;
}

function settings(objects: KubeObject[]): Record<string, string> {
  return find(objects, 'ConfigMap').data as Record<string, string>;
}

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

/** A temporary repository holding a copy of testdata. */
function tempCopy(): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-helm-test-')));
  temps.push(root);
  fs.cpSync(testdata, root, { recursive: true });
  return root;
}

describe('escapeSetValue (Argo CD cleanSetParameters)', () => {
  it('escapes commas unless escaped already or a {list}', () => {
    assert.equal(escapeSetValue('a,b'), 'a\\,b');
    assert.equal(escapeSetValue('a\\,b'), 'a\\,b');
    assert.equal(escapeSetValue('{a,b}'), '{a,b}');
    assert.equal(escapeSetValue('plain'), 'plain');
  });
});

describe('Helm release name rule', () => {
  it('is the same in the Application schema (CRD, admission) and in the renderer', () => {
    const schema = JSON.parse(
      fs.readFileSync(path.join(__dirname, '../../schemas/application.schema.json'), 'utf8'),
    ) as {
      definitions: {
        ApplicationSource: { properties: { helm: { $ref: string } } };
        ApplicationSourceHelm: { properties: Record<string, unknown> };
      };
    };
    // spec.source.helm (and sources[].helm, drySource.helm) is one shared definition.
    assert.equal(
      schema.definitions.ApplicationSource.properties.helm.$ref,
      '#/definitions/ApplicationSourceHelm',
    );
    const rule = schema.definitions.ApplicationSourceHelm.properties.releaseName as {
      pattern: string;
      maxLength: number;
    };
    assert.equal(rule.pattern, HELM_RELEASE_NAME.source);
    assert.equal(rule.maxLength, HELM_RELEASE_NAME_MAX);
  });
});

describe(
  'renderHelm',
  { skip: helmBinary ? false : 'no helm binary (.tools/bin/helm or HELM_BINARY)' },
  () => {
    it('renders with the app name as release, the destination namespace, CRDs, hooks and tests', async () => {
      const objects = await render();
      assert.deepEqual(
        objects.map((o) => `${o.kind}/${o.metadata.name}`),
        [
          'CustomResourceDefinition/widgets.example.com',
          'ConfigMap/demo-app-settings',
          'Pod/demo-app-test',
          'Job/demo-app-migrate',
        ],
      );
      const cm = find(objects, 'ConfigMap');
      assert.equal(cm.metadata.namespace, 'team-a');
      assert.equal(cm.metadata.labels?.['app.kubernetes.io/instance'], 'demo-app');
      assert.deepEqual(
        {
          replicas: settings(objects).replicas,
          greeting: settings(objects).greeting,
          color: settings(objects).color,
        },
        { replicas: '1', greeting: 'hello', color: 'blue' },
      );
      assert.equal(find(objects, 'Job').metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    });

    it('uses helm.releaseName and helm.namespace', async () => {
      const objects = await render({ helm: { releaseName: 'custom', namespace: 'other' } });
      assert.equal(find(objects, 'ConfigMap').metadata.name, 'custom-settings');
      assert.equal(find(objects, 'ConfigMap').metadata.namespace, 'other');
    });

    it('applies value files in order, relative to the chart, .. and absolute paths inside the repository', async () => {
      const objects = await render({
        helm: { valueFiles: ['values-prod.yaml', '../shared/values-shared.yaml', '/chart/env/extra.yaml'] },
      });
      assert.deepEqual(
        { ...settings(objects), kubeVersion: undefined, hasWidgets: undefined },
        {
          replicas: '3',
          greeting: 'shared hello',
          color: 'green',
          kubeVersion: undefined,
          hasWidgets: undefined,
        },
      );
    });

    it('passes inline values after value files; valuesObject replaces values', async () => {
      const withValues = await render({
        helm: { valueFiles: ['values-prod.yaml'], values: 'color: purple\n' },
      });
      assert.equal(settings(withValues).color, 'purple');
      const both = await render({
        helm: { values: 'color: purple\ngreeting: from-values\n', valuesObject: { color: 'orange' } },
      });
      assert.equal(settings(both).color, 'orange');
      assert.equal(
        settings(both).greeting,
        'hello',
        'values is ignored when valuesObject is set (as Argo CD)',
      );
    });

    it('applies parameters after all values, with --set-string and escaped commas', async () => {
      const objects = await render({
        helm: {
          valuesObject: { color: 'orange' },
          parameters: [
            { name: 'color', value: 'black' },
            { name: 'greeting', value: 'hi,there' },
            { name: 'extra', value: 'true', forceString: true },
          ],
        },
      });
      assert.equal(settings(objects).color, 'black');
      assert.equal(settings(objects).greeting, 'hi,there');
      assert.equal(settings(objects).extra, 'true');
    });

    it('reads file parameters relative to the chart', async () => {
      const objects = await render({ helm: { fileParameters: [{ name: 'motd', path: 'files/motd.txt' }] } });
      assert.equal(settings(objects).motd, 'welcome aboard\n');
    });

    it('skips CRDs and tests when asked', async () => {
      const objects = await render({ helm: { skipCrds: true, skipTests: true } });
      assert.deepEqual(
        objects.map((o) => o.kind),
        ['ConfigMap', 'Job'],
      );
    });

    it('passes the kube version and API versions (helm.* overriding the cluster values)', async () => {
      const fromCluster = await render({ kubeVersion: 'v1.29.3', apiVersions: ['example.com/v1/Widget'] });
      assert.equal(settings(fromCluster).kubeVersion, 'v1.29.3');
      assert.equal(settings(fromCluster).hasWidgets, 'true');
      const overridden = await render({
        kubeVersion: 'v1.29.3',
        apiVersions: ['example.com/v1/Widget'],
        helm: { kubeVersion: 'v1.31.0', apiVersions: ['apps/v1'] },
      });
      assert.equal(settings(overridden).kubeVersion, 'v1.31.0');
      assert.equal(settings(overridden).hasWidgets, 'false');
    });

    it('validates values against values.schema.json unless skipSchemaValidation', async () => {
      const parameters = [{ name: 'replicas', value: 'many', forceString: true }];
      await assert.rejects(render({ helm: { parameters } }), (err: unknown) => {
        assert.ok(err instanceof RenderError);
        assert.match(err.message, /^helm template failed: .*schema/s);
        assert.match(err.message, /replicas/);
        assert.equal(err.retryable, false);
        return true;
      });
      const objects = await render({ helm: { parameters, skipSchemaValidation: true } });
      assert.equal(settings(objects).replicas, 'many');
    });

    it('refuses value files and file parameters outside the repository (CVE-2022-24348)', async () => {
      await assert.rejects(render({ helm: { valueFiles: ['../../../../../../etc/passwd'] } }), {
        name: 'PathEscapeError',
        message: 'value file "../../../../../../etc/passwd" resolves outside the repository',
      });
      await assert.rejects(
        render({ helm: { fileParameters: [{ name: 'x', path: '../../../etc/hostname' }] } }),
        PathEscapeError,
      );
    });

    it('reports a missing value file unless ignoreMissingValueFiles', async () => {
      await assert.rejects(render({ helm: { valueFiles: ['values-missing.yaml'] } }), {
        name: 'RenderError',
        message: 'value file "values-missing.yaml" does not exist',
      });
      const objects = await render({
        helm: { valueFiles: ['values-missing.yaml'], ignoreMissingValueFiles: true },
      });
      assert.equal(settings(objects).color, 'blue');
    });

    it('refuses value file URL schemes other than http(s)', async () => {
      await assert.rejects(
        render({ helm: { valueFiles: ['file:///etc/passwd'] } }),
        /spec\.source\.helm\.valueFiles: value file "file:\/\/\/etc\/passwd": the URL scheme 'file' is not allowed/,
      );
    });

    it('fetches http(s) value files only when the scheme is in valuesFileSchemes (Argo CD helm.valuesFileSchemes)', async () => {
      const server = http.createServer((_req, res) => res.end('color: from-url\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/values.yaml`;
      try {
        // Default (Argo CD's `https, http`): helm fetches it.
        assert.equal(settings(await render({ helm: { valueFiles: [url] } })).color, 'from-url');
        for (const valuesFileSchemes of [['https'], []]) {
          await assert.rejects(render({ helm: { valueFiles: [url] }, valuesFileSchemes }), (err: unknown) => {
            assert.ok(err instanceof RenderError);
            assert.match(err.message, /the URL scheme 'http' is not allowed/);
            assert.match(err.message, /--helm-values-file-schemes/);
            return true;
          });
        }
      } finally {
        server.close();
      }
    });

    it('refuses a releaseName that is not a Helm release name before helm runs (argument injection)', async () => {
      // Outside the repository: an injected --set-file would copy it into the rendered ConfigMap.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-helm-secret-'));
      temps.push(dir);
      const token = path.join(dir, 'token');
      fs.writeFileSync(token, 'TOKEN-VALUE');
      const names = [`--set-file=extra=${token}`, '-x', '--', 'Upper', 'a_b', 'a-', 'x'.repeat(54), 'a..b'];
      for (const releaseName of names) {
        await assert.rejects(render({ helm: { releaseName } }), (err: unknown) => {
          assert.ok(err instanceof RenderError, `${releaseName}: ${String(err)}`);
          assert.match(err.message, /^spec\.source\.helm\.releaseName .* is not a valid Helm release name/);
          assert.doesNotMatch(err.message, /TOKEN-VALUE/);
          return true;
        });
      }
      const ok = await render({ helm: { releaseName: `web.v2-${'a'.repeat(46)}` } });
      assert.equal(find(ok, 'ConfigMap').metadata.name, `web.v2-${'a'.repeat(46)}-settings`);
    });

    it('refuses parameter names that would add --set-file pairs (reading files outside the repository)', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-helm-secret-'));
      temps.push(dir);
      const token = path.join(dir, 'token');
      fs.writeFileSync(token, 'TOKEN-VALUE');
      const cases: Array<[Partial<HelmRenderRequest>['helm'], RegExp]> = [
        [
          { fileParameters: [{ name: `extra=${token},motd`, path: 'values.yaml' }] },
          /^spec\.source\.helm\.fileParameters\[0\]\.name ".*" may not contain '=' or ','$/,
        ],
        [{ parameters: [{ name: 'a,extra', value: 'x' }] }, /^spec\.source\.helm\.parameters\[0\]\.name/],
      ];
      for (const [helm, message] of cases) {
        await assert.rejects(render({ helm }), (err: unknown) => {
          assert.ok(err instanceof RenderError, String(err));
          assert.match(err.message, message);
          return true;
        });
      }
    });

    it('passes author values beginning with "-" as values, never as flags', async () => {
      const root = tempCopy();
      fs.writeFileSync(path.join(root, 'chart/-dash.yaml'), 'color: dash-file\n');
      const objects = await render({
        repoRoot: root,
        helm: {
          namespace: '--create-namespace',
          valueFiles: ['-dash.yaml'],
          parameters: [
            { name: 'extra', value: '--set-file=extra=/etc/hostname' },
            { name: 'greeting', value: '-n', forceString: true },
          ],
          apiVersions: ['--show-only=templates/empty.yaml'],
        },
      });
      const cm = find(objects, 'ConfigMap');
      assert.equal(cm.metadata.namespace, '--create-namespace');
      assert.deepEqual(
        {
          color: settings(objects).color,
          extra: settings(objects).extra,
          greeting: settings(objects).greeting,
        },
        { color: 'dash-file', extra: '--set-file=extra=/etc/hostname', greeting: '-n' },
      );
    });

    it('resolves $ref value files in the referenced checkout', async () => {
      const other = tempCopy();
      fs.writeFileSync(path.join(other, 'shared/prod.yaml'), 'color: from-ref\n');
      const objects = await render({
        helm: { valueFiles: ['$values/shared/prod.yaml'] },
        refRoots: { values: other },
      });
      assert.equal(settings(objects).color, 'from-ref');
      await assert.rejects(
        render({ helm: { valueFiles: ['$values/../outside.yaml'] }, refRoots: { values: other } }),
        PathEscapeError,
      );
    });

    it('refuses a chart with a symlink out of the repository', async () => {
      const root = tempCopy();
      fs.symlinkSync('/etc/hostname', path.join(root, 'chart/files/host.txt'));
      await assert.rejects(render({ repoRoot: root }), PathEscapeError);
    });

    it('carries helm stderr into the error', async () => {
      const root = tempCopy();
      fs.writeFileSync(path.join(root, 'chart/templates/broken.yaml'), '{{ .Values.missing.deeper }}\n');
      await assert.rejects(render({ repoRoot: root }), (err: unknown) => {
        assert.ok(err instanceof RenderError);
        assert.match(err.message, /^helm template failed: .*broken\.yaml/s);
        assert.doesNotMatch(err.message, /^helm template failed: Error:/);
        return true;
      });
    });

    it('builds file:// dependencies in a temporary copy, leaving the checkout untouched', async () => {
      const objects = await render({ chartPath: 'chart-local-dep' });
      assert.deepEqual(
        objects.map((o) => o.metadata.name),
        ['demo-app-common', 'demo-app-parent'],
      );
      assert.ok(!fs.existsSync(path.join(testdata, 'chart-local-dep/charts')), 'the checkout was written');
    });

    it('explains a missing remote dependency instead of fetching it', async () => {
      await assert.rejects(render({ chartPath: 'chart-remote-dep' }), (err: unknown) => {
        assert.ok(err instanceof RenderError);
        assert.match(
          err.message,
          /chart dependency "redis" \(repository https:\/\/charts\.example\.com\/stable\) is missing/,
        );
        return true;
      });
    });

    it('isolates helm from the process environment', async () => {
      const saved = process.env.HELM_NAMESPACE;
      process.env.HELM_NAMESPACE = 'leaked';
      try {
        const objects = await render({ namespace: '' });
        assert.equal(find(objects, 'ConfigMap').metadata.namespace, 'default');
      } finally {
        if (saved === undefined) delete process.env.HELM_NAMESPACE;
        else process.env.HELM_NAMESPACE = saved;
      }
    });

    it('times out (retryable)', async () => {
      await assert.rejects(render({ timeoutMs: 1 }), (err: unknown) => {
        assert.ok(err instanceof RenderError);
        assert.equal(err.message, 'helm template timed out after 1ms');
        assert.equal(err.retryable, true);
        return true;
      });
    });

    it('reports a missing helm binary (retryable)', async () => {
      await assert.rejects(render({ helmBinary: '/nonexistent/helm' }), {
        message: 'helm template: cannot run "/nonexistent/helm" (ENOENT)',
        retryable: true,
      });
    });
  },
);
