/** The pure parts of multi-source apps: `$ref` value files, ref validation, revisions per source, dedupe. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderSource } from '../render';
import type { SourceSpec } from '../render';
import { dedupe } from './compare';
import {
  SourcesError,
  assertSourcesValid,
  isRefOnly,
  refTargets,
  refsNamedBy,
  sourceRevision,
  sourcesProblems,
  valueFileRef,
} from './sources';

const chart = (valueFiles: string[]): SourceSpec => ({
  repoURL: 'https://git.example/charts.git',
  path: 'web',
  helm: { valueFiles },
});
const values = (ref = 'values', extra: Partial<SourceSpec> = {}): SourceSpec => ({
  repoURL: 'https://git.example/config.git',
  targetRevision: 'main',
  ref,
  ...extra,
});

describe('valueFileRef', () => {
  it('names the ref of a $ref/path value file only', () => {
    assert.equal(valueFileRef('$values/env/prod.yaml'), 'values');
    assert.equal(valueFileRef('$my_ref-2/a.yaml'), 'my_ref-2');
    // Argo CD: $values may only start the path; a bare `$values` is no file of a ref.
    assert.equal(valueFileRef('env/$values/prod.yaml'), undefined);
    assert.equal(valueFileRef('$values'), undefined);
    assert.equal(valueFileRef('values-prod.yaml'), undefined);
    assert.equal(valueFileRef('https://h/v.yaml'), undefined);
  });
});

describe('isRefOnly and refsNamedBy', () => {
  it('a ref without path or chart renders nothing; with a path it renders too', () => {
    assert.equal(isRefOnly(values()), true);
    assert.equal(isRefOnly(values('values', { path: 'manifests' })), false);
    assert.equal(isRefOnly(chart([])), false);
  });

  it('lists each ref a source names once, in order', () => {
    assert.deepEqual(refsNamedBy(chart(['$b/x.yaml', 'local.yaml', '$a/y.yaml', '$b/z.yaml'])), ['b', 'a']);
    assert.deepEqual(refsNamedBy(values()), []);
  });
});

describe('sourcesProblems', () => {
  it('accepts the documented chart + $values pattern, and a ref source with a path', () => {
    assert.deepEqual(sourcesProblems([chart(['$values/web/prod.yaml']), values()]), []);
    assert.deepEqual(sourcesProblems([chart(['$values/a.yaml']), values('values', { path: 'extra' })]), []);
  });

  it('checks nothing for a single source (a $x/ file there is a relative path, as Argo CD)', () => {
    assert.deepEqual(sourcesProblems(undefined), []);
    assert.deepEqual(sourcesProblems([]), []);
  });

  it('names a $ref no source declares, with the refs there are', () => {
    assert.deepEqual(sourcesProblems([chart(['prod.yaml', '$valuez/web/prod.yaml']), values()]), [
      'spec.sources[0].helm.valueFiles[1] "$valuez/web/prod.yaml": no source of this app has ref "valuez" ' +
        '(refs: $values)',
    ]);
    assert.deepEqual(sourcesProblems([chart(['$values/a.yaml']), chart([])]), [
      'spec.sources[0].helm.valueFiles[0] "$values/a.yaml": no source of this app has ref "values" ' +
        '(no source sets ref)',
    ]);
  });

  it('refuses refs with special characters, duplicates and a ref on a chart source (Argo CD rules)', () => {
    assert.deepEqual(sourcesProblems([chart([]), values('va.l')]), [
      `spec.sources[1].ref "va.l": cannot contain any special characters except '_' and '-'`,
    ]);
    assert.deepEqual(sourcesProblems([values('v'), values('v')], 'operation.sync.sources'), [
      'operation.sync.sources[1].ref "v": multiple sources had the same ref key (operation.sync.sources[0])',
    ]);
    assert.match(
      sourcesProblems([chart([]), values('v', { chart: 'nginx' })])[0],
      /^spec\.sources\[1\]: a source with ref cannot set chart/,
    );
  });

  it('assertSourcesValid throws one SourcesError with every problem', () => {
    assert.throws(
      () => assertSourcesValid([chart(['$nope/a.yaml']), values('a b')]),
      (err: unknown) =>
        err instanceof SourcesError &&
        err.message.split('; ').length === 2 &&
        /"\$nope\/a\.yaml"/.test(err.message),
    );
    assert.doesNotThrow(() => assertSourcesValid([chart(['$values/a.yaml']), values()]));
  });
});

describe('revisions per source', () => {
  it('maps each ref to its own source and resolved revision (the first of a name)', () => {
    const sources = [chart(['$values/a.yaml']), values(), values('other')];
    assert.deepEqual(
      [...refTargets(sources, ['c1', 'v1', 'o1'])],
      [
        ['values', { index: 1, repoURL: 'https://git.example/config.git', revision: 'v1' }],
        ['other', { index: 2, repoURL: 'https://git.example/config.git', revision: 'o1' }],
      ],
    );
  });

  it('an operation revision per position wins; an empty one means targetRevision', () => {
    const s = values();
    assert.equal(sourceRevision(s, 1, {}), 'main');
    assert.equal(sourceRevision(s, 1, { revisionOverrides: ['a', 'b'] }), 'b');
    assert.equal(sourceRevision(s, 1, { revisionOverrides: ['a', ''] }), 'main');
    assert.equal(sourceRevision(s, 1, { revisionOverrides: ['a'] }), 'main');
    assert.equal(sourceRevision(s, 0, { revisionOverride: 'v2' }), 'v2');
  });
});

describe('dedupe', () => {
  const cm = (name: string, v: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data: { v },
  });

  it('keeps the last rendering of an object and reports the sources that repeated it', () => {
    const { objects, repeated } = dedupe([cm('a', '0'), cm('b', '0'), cm('a', '2')], [0, 0, 2]);
    assert.deepEqual(
      objects.map((o) => [o.metadata.name, (o as unknown as { data: { v: string } }).data.v]),
      [
        ['a', '2'],
        ['b', '0'],
      ],
    );
    assert.deepEqual(repeated, [{ key: '/ConfigMap//a', count: 2, sources: [0, 2] }]);
  });

  it('an object without a namespace is the one in the destination namespace (Argo CD)', () => {
    const inNs = { ...cm('a', '0'), metadata: { name: 'a', namespace: 'team' } };
    const { objects, repeated } = dedupe([inNs, cm('a', '1')], [0, 1], 'team');
    assert.equal(objects.length, 1);
    assert.deepEqual(repeated, [{ key: '/ConfigMap/team/a', count: 2, sources: [0, 1] }]);
    assert.equal(dedupe([inNs, cm('a', '1')], [0, 1], 'other').objects.length, 2);
  });

  it('reports nothing when every object is rendered once', () => {
    assert.deepEqual(dedupe([cm('a', '0'), cm('b', '0')]).repeated, []);
  });
});

describe('rendering with a ref source', () => {
  const helm = process.env.HELM_BINARY;
  it(
    "a $ref value file is read from that source's checkout, relative to its root",
    { skip: !helm },
    async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capstan-ref-'));
      const charts = path.join(tmp, 'charts');
      const config = path.join(tmp, 'config');
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
      };
      write(path.join(charts, 'web/Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
      write(path.join(charts, 'web/values.yaml'), 'greeting: default\n');
      write(
        path.join(charts, 'web/templates/cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
      );
      // The ref source has a path: $values still means its repository root (Argo CD's note).
      write(path.join(config, 'web/prod.yaml'), 'greeting: from-config\n');
      try {
        const out = await renderSource({
          appName: 'web',
          namespace: 'ns',
          repoRoot: charts,
          source: chart(['$values/web/prod.yaml']),
          refRoots: { values: config },
          helmBinary: helm,
        });
        assert.equal(out.sourceType, 'Helm');
        assert.deepEqual((out.objects[0] as { data?: unknown }).data, { greeting: 'from-config' });
        await assert.rejects(
          renderSource({
            appName: 'web',
            namespace: 'ns',
            repoRoot: charts,
            source: chart(['$values/../../etc/passwd']),
            refRoots: { values: config },
            helmBinary: helm,
          }),
          /outside/,
        );
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  );
});
