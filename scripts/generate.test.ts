/** `imports` of scripts/generate.ts: a kind borrows another schema file's shape without a copy. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { crdSchema, loadSchemas, resolveImports, type SchemaFile } from './generate';

const other = {
  definitions: {
    Ref: { type: 'object', description: 'r', properties: { name: { type: 'string', description: 'n' } } },
  },
  schema: {
    properties: {
      spec: {
        type: 'object',
        title: 'OtherSpec',
        description: 's',
        properties: { ref: { $ref: '#/definitions/Ref', description: 'x' } },
      },
    },
  },
};

test('resolveImports adds the node at the pointer and the other file definitions', () => {
  const data = { imports: { OtherSpec: 'other.schema.json#/schema/properties/spec' }, schema: {} };
  const out = resolveImports('mine.schema.json', data, new Map([['other.schema.json', other]])) as Record<
    string,
    unknown
  >;
  assert.equal(out.imports, undefined);
  const defs = out.definitions as Record<string, unknown>;
  assert.deepEqual(Object.keys(defs).sort(), ['OtherSpec', 'Ref']);
  assert.deepEqual(defs.OtherSpec, other.schema.properties.spec);
});

test('resolveImports refuses an unknown file, a bad pointer and a clashing name', () => {
  const raw = new Map<string, unknown>([['other.schema.json', other]]);
  assert.throws(() => resolveImports('m', { imports: { X: 'nope.schema.json#/a' } }, raw), /no schema file/);
  assert.throws(
    () => resolveImports('m', { imports: { X: 'other.schema.json#/schema/nope' } }, raw),
    /not a schema node/,
  );
  assert.throws(
    () =>
      resolveImports(
        'm',
        {
          imports: { X: 'other.schema.json#/schema/properties/spec' },
          definitions: { Ref: { type: 'string' } },
        },
        raw,
      ),
    /clashes/,
  );
});

test("the repository's ClusterExternalSecret embeds exactly ExternalSecret's spec", async () => {
  const all = await loadSchemas(path.resolve(__dirname, '..', 'schemas'));
  const file = (kind: string): SchemaFile => all.find((l) => l.file.kind === kind)!.file;
  const esSpec = (crdSchema(file('ExternalSecret')).properties as Record<string, Record<string, unknown>>)
    .spec;
  const cesSpec = (
    crdSchema(file('ClusterExternalSecret')).properties as Record<
      string,
      { properties: Record<string, Record<string, unknown>> }
    >
  ).spec;
  const embedded = cesSpec.properties.externalSecretSpec;
  assert.deepEqual(embedded.properties, esSpec.properties);
});
