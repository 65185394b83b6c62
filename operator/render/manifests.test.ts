import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CeilingError } from './errors';
import { RenderError, parseManifests } from './manifests';

describe('parseManifests', () => {
  it('splits multi-document YAML and skips empty documents', () => {
    const text = [
      '# leading comment',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: a}',
      '---',
      '# only a comment',
      '---',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: b}',
      '---',
      'null',
      '',
    ].join('\n');
    assert.deepEqual(
      parseManifests(text, 'cm.yaml').map((o) => o.metadata.name),
      ['a', 'b'],
    );
  });

  it('yields nothing for empty text', () => {
    assert.deepEqual(parseManifests('', 'empty.yaml'), []);
    assert.deepEqual(parseManifests('# nothing\n', 'empty.yaml'), []);
    assert.deepEqual(parseManifests('  \n', 'empty.json'), []);
  });

  it('reads scalars as kubectl does (YAML 1.1 as go-yaml v2)', () => {
    const [cm] = parseManifests(
      'apiVersion: v1\nkind: X\nmetadata: {name: x}\nspec: {mode: 0644, on: yes, off: no, date: 2024-01-01, time: 1:20, str: "0644", hex: 0x1F, dup: 1, dup: 2}\n',
      'x.yaml',
    );
    assert.deepEqual(cm.spec, {
      mode: 420,
      true: true,
      false: false,
      date: '2024-01-01',
      time: '1:20',
      str: '0644',
      hex: 31,
      dup: 2,
    });
  });

  it('supports anchors and merge keys', () => {
    const [obj] = parseManifests(
      'apiVersion: v1\nkind: X\nmetadata: {name: x}\nbase: &b {a: 1}\nspec:\n  <<: *b\n  c: 2\n',
      'x.yaml',
    );
    assert.deepEqual(obj.spec, { a: 1, c: 2 });
  });

  it('reads a JSON object, a JSON array and flattens Lists', () => {
    assert.equal(
      parseManifests('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}', 's.json')[0].kind,
      'Secret',
    );
    const arr = parseManifests(
      '[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b"}}]',
      'arr.json',
    );
    assert.deepEqual(
      arr.map((o) => o.metadata.name),
      ['a', 'b'],
    );
    const list = parseManifests(
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: first}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: second}}\n',
      'list.yaml',
    );
    assert.deepEqual(
      list.map((o) => o.metadata.name),
      ['first', 'second'],
    );
    assert.deepEqual(
      parseManifests('apiVersion: v1\nkind: ConfigMapList\nitems: null\n', 'null-list.yaml'),
      [],
    );
    assert.deepEqual(
      parseManifests('apiVersion: v1\nkind: ConfigMapList\nitems: []\n', 'empty-list.yaml'),
      [],
    );
  });

  it('defaults missing metadata to an empty object', () => {
    const [obj] = parseManifests('apiVersion: v1\nkind: Namespace\n', 'ns.yaml');
    assert.deepEqual(obj.metadata, {});
  });

  it('names the file and line of a YAML syntax error', () => {
    assert.throws(
      () => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\n', 'apps/web/cm.yaml'),
      (err: unknown) =>
        err instanceof RenderError &&
        err.name === 'RenderError' &&
        err.message.startsWith('apps/web/cm.yaml: invalid YAML: ') &&
        err.message.includes('line 4') &&
        !err.retryable,
    );
  });

  it('names the file and line of a JSON syntax error', () => {
    assert.throws(
      () => parseManifests('{\n  "apiVersion": "v1",\n  "kind": "X"\n  "metadata": {}\n}\n', 'x.json'),
      (err: unknown) => err instanceof RenderError && /^x\.json: invalid JSON at line 4: /.test(err.message),
    );
  });

  it('names the helm template of a bad document in helm output', () => {
    const out =
      '---\n# Source: demo/templates/ok.yaml\napiVersion: v1\nkind: X\n---\n# Source: demo/templates/bad.yaml\nfoo: bar\n';
    assert.throws(() => parseManifests(out, 'helm template of "chart"'), {
      message: 'helm template of "chart": document 2 (demo/templates/bad.yaml) has no apiVersion',
    });
  });

  it('names the file and document of an object without apiVersion or kind', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n';
    assert.throws(() => parseManifests(text, 'cm.yaml'), {
      name: 'RenderError',
      message: 'cm.yaml: document 2 has no kind',
    });
    assert.throws(() => parseManifests('kind: X\n', 'x.yaml'), {
      message: 'x.yaml: document 1 has no apiVersion',
    });
    assert.throws(() => parseManifests('- a\n- b\n', 'x.yaml'), {
      message: 'x.yaml: document 1 is not a Kubernetes object (found a list)',
    });
    assert.throws(() => parseManifests('{}', 'x.yaml'), { message: 'x.yaml: document 1 has no apiVersion' });
    assert.throws(() => parseManifests('apiVersion: v1\nkind: List\nitems:\n- {kind: X}\n', 'l.yaml'), {
      message: 'l.yaml: document 1 item 1 has no apiVersion',
    });
  });
});

it('reads a lone "." as a string, as go-yaml v2 does (app paths are often ".")', () => {
  const [obj] = parseManifests(
    'apiVersion: v1\nkind: X\nmetadata: {name: a}\npath: .\nhalf: .5\nfloat: 1.5\n',
    'x.yaml',
  );
  assert.equal(obj.path, '.');
  assert.equal(obj.half, 0.5);
  assert.equal(obj.float, 1.5);
});

describe('parseManifests with maxObjects (--max-objects)', () => {
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;

  it('accepts up to maxObjects and refuses more, naming the file, the ceiling and the flag', () => {
    const three = [cm('a'), cm('b'), cm('c')].join('---\n');
    assert.equal(parseManifests(three, 'x.yaml', { maxObjects: 3 }).length, 3);
    assert.throws(
      () => parseManifests(three, 'helm template of "big"', { maxObjects: 2 }),
      (err: unknown) => {
        assert.ok(err instanceof CeilingError);
        assert.equal(
          err.message,
          'helm template of "big" rendered more than 2 objects (the limit set by --max-objects; ' +
            'an operator can raise it)',
        );
        return true;
      },
    );
  });

  it('counts the items of a List, not the List', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n${['a', 'b', 'c'].map((n) => `- {apiVersion: v1, kind: ConfigMap, metadata: {name: ${n}}}`).join('\n')}\n`;
    assert.throws(() => parseManifests(list, 'list.yaml', { maxObjects: 2 }), CeilingError);
  });

  it('stops at the first document past the ceiling: later documents are not even checked', () => {
    const text = [cm('a'), cm('b'), 'apiVersion: v1\nmetadata: {name: no-kind}\n'].join('---\n');
    assert.throws(() => parseManifests(text, 'x.yaml', { maxObjects: 1 }), CeilingError);
    assert.throws(() => parseManifests(text, 'x.yaml'), /document 3 has no kind/);
  });
});
