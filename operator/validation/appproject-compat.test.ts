/**
 * AppProject API compatibility with Argo CD (issue 8 §3): Argo CD's documented project and projects that set
 * every field of Argo CD's AppProject CRD are fully declared by capstan's schema (the API server would otherwise
 * prune, or under strict field validation refuse, what is not declared) and pass capstan's validation.
 * The fixtures are shared with e2e/suites/appproject-compat.e2e.ts, which applies them to a real API server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { schemas } from '../../generated/schemas';
import { validateResource } from './validate';

const FIXTURES = path.resolve(__dirname, '..', '..', 'e2e', 'fixtures', 'appproject-compat');

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function load(file: string): Obj[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  return YAML.parseAllDocuments(text).map((d) => d.toJSON() as Obj);
}

/**
 * Field paths of `value` that `schema` does not declare, the fields a structural schema makes the API server
 * prune: a property missing from `properties`, unless the node preserves unknown fields or maps any key
 * (`additionalProperties`).
 */
function undeclared(schema: unknown, value: unknown, at: string): string[] {
  if (!isObject(schema) || schema['x-kubernetes-preserve-unknown-fields'] === true) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => undeclared(schema.items, v, `${at}[${i}]`));
  if (!isObject(value)) return [];
  const props = isObject(schema.properties) ? schema.properties : {};
  return Object.entries(value).flatMap(([k, v]) => {
    const child =
      props[k] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
    return child === undefined ? [`${at}.${k}`] : undeclared(child, v, `${at}.${k}`);
  });
}

/** Every leaf field path set in a value, with list indexes dropped: `spec.roles[].jwtTokens[].iat`. */
function leafPaths(value: unknown, at: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => leafPaths(v, `${at}[]`));
  if (!isObject(value)) return [at];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, `${at}.${k}`));
}

const appProjectSchema = schemas.AppProject as unknown as Obj;
const specSchema = (appProjectSchema.properties as Obj).spec;

for (const file of ['argocd-docs-project.yaml', 'all-fields-project.yaml']) {
  test(`${file}: the schema declares every field, so the API server prunes none`, () => {
    for (const project of load(file)) {
      assert.deepEqual(undeclared(specSchema, project.spec, 'spec'), []);
    }
  });

  test(`${file}: passes capstan's AppProject validation`, () => {
    for (const project of load(file)) {
      assert.deepEqual(validateResource('AppProject', project), { valid: true });
    }
  });
}

test('the all-fields projects set the fields issue 8 names, including those Argo CD added last', () => {
  const used = new Set(load('all-fields-project.yaml').flatMap((p) => leafPaths(p.spec, 'spec')));
  for (const field of [
    'spec.clusterResourceWhitelist[].name',
    'spec.clusterResourceBlacklist[].name',
    'spec.destinationServiceAccounts[].server',
    'spec.destinationServiceAccounts[].namespace',
    'spec.destinationServiceAccounts[].defaultServiceAccount',
    'spec.permitOnlyProjectScopedClusters',
    'spec.sourceIntegrity.git.policies[].repos[].url',
    'spec.sourceIntegrity.git.policies[].gpg.mode',
    'spec.sourceIntegrity.git.policies[].gpg.keys[]',
    'spec.syncWindows[].description',
    'spec.syncWindows[].syncOverrun',
    'spec.syncWindows[].andOperator',
    'spec.roles[].jwtTokens[].exp',
    'spec.signatureKeys[].keyID',
  ]) {
    assert.ok(used.has(field), `${field} is not set by any all-fields project`);
  }
});

test('the schema types the new fields as Argo CD does', () => {
  const project = load('all-fields-project.yaml')[0];
  const spec = project.spec as Obj;
  const wrong = (patch: Obj) => validateResource('AppProject', { ...project, spec: { ...spec, ...patch } });
  assert.deepEqual(wrong({ permitOnlyProjectScopedClusters: 'yes' }), {
    valid: false,
    errors: ['spec.permitOnlyProjectScopedClusters: must be boolean'],
    message: 'spec.permitOnlyProjectScopedClusters: must be boolean',
  });
  assert.match(
    JSON.stringify(wrong({ destinationServiceAccounts: [{ server: '*' }] })),
    /spec\.destinationServiceAccounts\[0\]\.defaultServiceAccount: Required value/,
  );
  assert.match(
    JSON.stringify(wrong({ clusterResourceWhitelist: [{ group: '', kind: 'Namespace', name: 7 }] })),
    /spec\.clusterResourceWhitelist\[0\]\.name: must be string/,
  );
  assert.match(
    JSON.stringify(wrong({ sourceIntegrity: { git: { policies: [{ repos: [{ url: 'x' }] }] } } })),
    /spec\.sourceIntegrity\.git\.policies\[0\]\.gpg: Required value/,
  );
  assert.match(
    JSON.stringify(
      wrong({ syncWindows: [{ kind: 'deny', schedule: '* * * * *', duration: '1h', andOperator: 1 }] }),
    ),
    /spec\.syncWindows\[0\]\.andOperator: must be boolean/,
  );
});

test('no optional AppProject field has a server-written default', () => {
  const defaults: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
    if (!isObject(node)) return;
    if ('default' in node && !isObject(node.default)) defaults.push(at);
    for (const [k, v] of Object.entries(node)) walk(v, `${at}.${k}`);
  };
  walk(appProjectSchema, 'AppProject');
  assert.deepEqual(defaults, []);
});
