import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import { PathEscapeError } from '../sources/paths';
import { renderDirectory } from './directory';
import { RenderError } from './errors';

const testdata = path.join(__dirname, 'testdata');

/** `Kind/name` of each object, in order. */
function ids(objects: KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`);
}

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

/** A temporary repository with the given files (content `apiVersion: v1 / kind: ConfigMap / name`). */
function tempRepo(files: Record<string, string>): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-dir-')));
  temps.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

function configMap(name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
}

/** A logger that records warnings. */
function recordingLogger(): { logger: Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  const logger = {
    warn: (message: string, meta: Record<string, unknown>) => warnings.push({ message, ...meta }),
    debug: () => undefined,
  } as unknown as Logger;
  return { logger, warnings };
}

describe('renderDirectory', () => {
  it('disableExtensionFilter: include/exclude alone select files, whatever their extension', async () => {
    const root = tempRepo({
      'app/a.yaml.tmpl': configMap('tmpl'),
      'app/b.yaml': configMap('plain'),
      'app/README.md': '# not a manifest\n',
    });
    assert.deepEqual(ids(await renderDirectory(root, 'app', {})), ['ConfigMap/plain']);
    const all = await renderDirectory(root, 'app', { disableExtensionFilter: true });
    assert.deepEqual(ids(all), ['ConfigMap/tmpl', 'ConfigMap/plain']);
    const only = await renderDirectory(root, 'app', { disableExtensionFilter: true, include: '*.tmpl' });
    assert.deepEqual(ids(only), ['ConfigMap/tmpl']);
  });

  it('reads only the app directory by default, in name order, hidden files included', async () => {
    const objects = await renderDirectory(testdata, 'directory', {});
    assert.deepEqual(ids(objects), [
      'ConfigMap/hidden',
      'ConfigMap/first',
      'ConfigMap/second',
      'ServiceAccount/listed-a',
      'ServiceAccount/listed-b',
      'Secret/from-array',
    ]);
    // ci-config.yaml is YAML but not a manifest: skipped; skipped.yaml carries the skip marker.
  });

  it('descends into subdirectories with recurse, depth first in name order', async () => {
    const objects = await renderDirectory(testdata, 'directory', { recurse: true });
    assert.deepEqual(ids(objects), [
      'ConfigMap/hidden',
      'ConfigMap/first',
      'ConfigMap/second',
      'ServiceAccount/listed-a',
      'ServiceAccount/listed-b',
      'Secret/from-array',
      'ConfigMap/use2',
      'ConfigMap/usw2',
      'Service/web',
      'Deployment/web',
    ]);
  });

  it('matches include against the app-relative path where * crosses directories (as Argo CD)', async () => {
    const objects = await renderDirectory(testdata, 'directory', { recurse: true, include: '*.yaml' });
    assert.deepEqual(ids(objects), [
      'ConfigMap/hidden',
      'ConfigMap/first',
      'ConfigMap/second',
      'ConfigMap/use2',
      'ConfigMap/usw2',
    ]);
  });

  it('applies exclude over include, with brace lists', async () => {
    const objects = await renderDirectory(testdata, 'directory', {
      recurse: true,
      include: '{*.yml,*.yaml}',
      exclude: '{.hidden.yaml,env-usw2/*}',
    });
    assert.deepEqual(ids(objects), [
      'ConfigMap/first',
      'ConfigMap/second',
      'ConfigMap/use2',
      'Deployment/web',
    ]);
  });

  it('excludes a whole subdirectory', async () => {
    const objects = await renderDirectory(testdata, 'directory', { recurse: true, exclude: 'nested/*' });
    assert.ok(!ids(objects).some((id) => id.endsWith('/web')));
    assert.equal(objects.length, 8);
  });

  it('renders the repository root for an empty path or .', async () => {
    const root = tempRepo({ 'a.yaml': configMap('a'), 'sub/b.yaml': configMap('b') });
    assert.deepEqual(ids(await renderDirectory(root, '', {})), ['ConfigMap/a']);
    assert.deepEqual(ids(await renderDirectory(root, '.', { recurse: true })), [
      'ConfigMap/a',
      'ConfigMap/b',
    ]);
  });

  it('keeps the same order on every render', async () => {
    const first = ids(await renderDirectory(testdata, 'directory', { recurse: true }));
    const second = ids(await renderDirectory(testdata, 'directory', { recurse: true }));
    assert.deepEqual(first, second);
  });

  it('reports a missing app path, and a file given as app path', async () => {
    await assert.rejects(renderDirectory(testdata, 'nope', {}), {
      name: 'RenderError',
      message: 'app path "nope" does not exist',
    });
    await assert.rejects(renderDirectory(testdata, 'directory/b-list.json', {}), {
      message: 'app path "directory/b-list.json" is not a directory',
    });
  });

  it('refuses an app path outside the repository', async () => {
    await assert.rejects(renderDirectory(path.join(testdata, 'directory'), '../chart', {}), PathEscapeError);
  });

  it('names the file of a manifest that does not parse', async () => {
    const root = tempRepo({
      'apps/web/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n',
    });
    await assert.rejects(renderDirectory(root, 'apps/web', {}), (err: unknown) => {
      assert.ok(err instanceof RenderError);
      assert.match(err.message, /^apps\/web\/bad\.yaml: invalid YAML: .*line/);
      return true;
    });
  });

  it('names the file and document of an object without kind', async () => {
    const root = tempRepo({ 'x.yaml': configMap('a') + '---\napiVersion: v1\nmetadata:\n  name: b\n' });
    await assert.rejects(renderDirectory(root, '', {}), { message: 'x.yaml: document 2 has no kind' });
  });

  it('refuses Jsonnet files rather than skipping them', async () => {
    const root = tempRepo({ 'main.jsonnet': '{}' });
    await assert.rejects(renderDirectory(root, '', {}), /main\.jsonnet: Jsonnet is not supported/);
    // Excluded, it is fine.
    assert.deepEqual(await renderDirectory(root, '', { exclude: '*.jsonnet' }), []);
  });

  it('refuses malformed globs', async () => {
    const root = tempRepo({ 'a.yaml': configMap('a') });
    await assert.rejects(renderDirectory(root, '', { include: '{a.yaml' }), RenderError);
  });

  describe('symlinks', () => {
    it('reads a symlinked file whose target is inside the repository', async () => {
      const root = tempRepo({ 'shared/cm.yaml': configMap('shared'), 'app/own.yaml': configMap('own') });
      fs.symlinkSync('../shared/cm.yaml', path.join(root, 'app/linked.yaml'));
      assert.deepEqual(ids(await renderDirectory(root, 'app', {})), ['ConfigMap/shared', 'ConfigMap/own']);
    });

    it('refuses a symlinked file whose target is outside the repository', async () => {
      const outside = tempRepo({ 'secret.yaml': configMap('stolen') });
      const root = tempRepo({ 'app/own.yaml': configMap('own') });
      fs.symlinkSync(path.join(outside, 'secret.yaml'), path.join(root, 'app/secret.yaml'));
      await assert.rejects(renderDirectory(root, 'app', {}), (err: unknown) => {
        assert.ok(err instanceof PathEscapeError);
        assert.equal(
          err.message,
          'symlinked manifest file "app/secret.yaml" resolves outside the repository',
        );
        return true;
      });
      // Even when excluded: the link itself is the problem (as Argo CD).
      await assert.rejects(renderDirectory(root, 'app', { exclude: 'secret.yaml' }), PathEscapeError);
    });

    it('refuses an app path that is a symlink to outside', async () => {
      const outside = tempRepo({ 'cm.yaml': configMap('stolen') });
      const root = tempRepo({});
      fs.symlinkSync(outside, path.join(root, 'app'));
      await assert.rejects(renderDirectory(root, 'app', {}), PathEscapeError);
    });

    it('skips a dangling symlink with a warning', async () => {
      const root = tempRepo({ 'app/own.yaml': configMap('own') });
      fs.symlinkSync('missing.yaml', path.join(root, 'app/gone.yaml'));
      const { logger, warnings } = recordingLogger();
      assert.deepEqual(ids(await renderDirectory(root, 'app', { logger })), ['ConfigMap/own']);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].file, 'app/gone.yaml');
    });

    it('does not descend into symlinked directories', async () => {
      const root = tempRepo({ 'app/own.yaml': configMap('own'), 'other/x.yaml': configMap('other') });
      fs.symlinkSync('../other', path.join(root, 'app/linked-dir'));
      assert.deepEqual(ids(await renderDirectory(root, 'app', { recurse: true })), ['ConfigMap/own']);
    });
  });
});
