/**
 * Render ceilings (`--max-manifest-bytes`, `--max-objects`) through `renderSource`, for each source type:
 * a chart or kustomization that prints more than the ceiling is stopped with a CeilingError, and a
 * Directory source is sized before any file is read.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CeilingError } from './errors';
import { renderSource, type RenderRequest } from './index';
import { testBinary } from './testtools';

const helmBinary = testBinary('helm', 'HELM_BINARY');
const kubectlBinary = testBinary('kubectl', 'KUBECTL_BINARY');

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

/** A temporary repository with the given files. */
function tempRepo(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-limits-')));
  temps.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

function request(repoRoot: string, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return {
    appName: 'big',
    namespace: 'ns',
    repoRoot,
    source: { repoURL: 'git://example/repo.git', path: '.' },
    helmBinary,
    kubectlBinary,
    ...overrides,
  };
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

/** A chart printing `count` ConfigMaps of `size` bytes of data each. */
function bigChart(count: number, size: number): Record<string, string> {
  return {
    'Chart.yaml': 'apiVersion: v2\nname: big\nversion: 0.1.0\n',
    'values.yaml': `count: ${count}\nsize: ${size}\n`,
    'templates/cms.yaml': [
      '{{- range $i := until (int .Values.count) }}',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: cm-{{ $i }}',
      'data:',
      '  blob: {{ repeat (int $.Values.size) "x" | quote }}',
      '{{- end }}',
      '',
    ].join('\n'),
  };
}

describe('Directory source ceilings', () => {
  it('refuses files larger than maxBytes from their sizes, before reading them', async () => {
    const root = tempRepo({ 'a.yaml': cm('a'), 'b.yaml': '' });
    // A sparse 3 GiB file: reading it would take seconds and fail on Node's string length limit.
    fs.truncateSync(path.join(root, 'b.yaml'), 3 * 1024 ** 3);
    await assert.rejects(renderSource(request(root)), (err: unknown) => {
      assert.ok(err instanceof CeilingError, String(err));
      assert.equal(
        err.message,
        'the manifest files of path "." hold more than 32 MiB of manifests (the limit set by ' +
          '--max-manifest-bytes; an operator can raise it)',
      );
      return true;
    });
  });

  it('counts the objects of all files against maxObjects', async () => {
    const root = tempRepo({ 'a.yaml': cm('a') + '---\n' + cm('b'), 'c.yaml': cm('c') });
    const limits = { maxBytes: 1024 * 1024, maxObjects: 2 };
    await assert.rejects(renderSource(request(root, { limits })), /hold more than 2 objects .*--max-objects/);
    const ok = await renderSource(request(root, { limits: { ...limits, maxObjects: 3 } }));
    assert.equal(ok.objects.length, 3);
  });

  it('a ceiling error is never taken for a YAML file that merely is not a manifest', async () => {
    // Not manifest-looking text (no `metadata:`), so a parse error would be skipped; the ceiling is not.
    const root = tempRepo({
      'a.yaml': '{apiVersion: v1, kind: ConfigMap}\n---\n{apiVersion: v1, kind: Secret}\n',
    });
    await assert.rejects(
      renderSource(request(root, { limits: { maxBytes: 1024, maxObjects: 1 } })),
      CeilingError,
    );
  });
});

describe('Helm source ceilings', { skip: helmBinary ? false : 'no helm binary' }, () => {
  it('a chart printing more than maxBytes gets a CeilingError naming the flag', async () => {
    const root = tempRepo(bigChart(64, 64 * 1024)); // about 4 MiB of output
    await assert.rejects(
      renderSource(request(root, { limits: { maxBytes: 1024 * 1024, maxObjects: 10_000 } })),
      (err: unknown) => {
        assert.ok(err instanceof CeilingError, String(err));
        assert.match(err.message, /^helm template produced more than 1 MiB of manifests/);
        assert.match(err.message, /--max-manifest-bytes/);
        return true;
      },
    );
  });

  it('a chart printing more objects than maxObjects gets a CeilingError naming the flag', async () => {
    const root = tempRepo(bigChart(50, 1));
    await assert.rejects(
      renderSource(request(root, { limits: { maxBytes: 1024 * 1024, maxObjects: 49 } })),
      /helm template of "\." rendered more than 49 objects \(the limit set by --max-objects/,
    );
    const ok = await renderSource(request(root, { limits: { maxBytes: 1024 * 1024, maxObjects: 50 } }));
    assert.equal(ok.objects.length, 50);
  });
});

describe('Kustomize source ceilings', { skip: kubectlBinary ? false : 'no kubectl binary' }, () => {
  it('a kustomization printing more than maxBytes gets a CeilingError', async () => {
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ${'x'.repeat(300_000)}\n`;
    const root = tempRepo({ 'kustomization.yaml': 'resources: [big.yaml]\n', 'big.yaml': big });
    await assert.rejects(
      renderSource(request(root, { limits: { maxBytes: 100_000, maxObjects: 10 } })),
      /kustomize build produced more than 97.7 KiB of manifests .*--max-manifest-bytes/,
    );
  });
});
