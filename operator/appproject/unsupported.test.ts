import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unsupportedProjectFields } from './unsupported';

/** Field paths only, the part before the reason. */
const fields = (lines: string[]) => lines.map((l) => l.slice(0, l.indexOf(':')));

test('a project that uses only enforced fields reports nothing', () => {
  assert.deepEqual(
    unsupportedProjectFields({
      description: 'team a',
      sourceRepos: ['*'],
      destinations: [{ server: '*', namespace: 'team-a' }],
      clusterResourceWhitelist: [{ group: '', kind: 'Namespace', name: 'team-a-*' }],
      syncWindows: [
        { kind: 'deny', schedule: '0 22 * * *', duration: '1h', andOperator: true, description: 'night' },
      ],
      orphanedResources: { warn: true },
    }),
    [],
  );
});

test('fields that ask for nothing (empty, false, absent) report nothing', () => {
  assert.deepEqual(
    unsupportedProjectFields({
      roles: [],
      signatureKeys: [],
      permitOnlyProjectScopedClusters: false,
      destinationServiceAccounts: [],
    }),
    [],
  );
});

test('each unenforced field in use is reported with its path and why, in a fixed order', () => {
  const out = unsupportedProjectFields({
    destinationServiceAccounts: [{ server: '*', defaultServiceAccount: 'deployer' }],
    permitOnlyProjectScopedClusters: true,
    sourceIntegrity: { git: { policies: [] } },
    signatureKeys: [{ keyID: 'ABC' }],
    roles: [{ name: 'ci' }],
  });
  assert.deepEqual(fields(out), [
    'spec.roles',
    'spec.signatureKeys',
    'spec.sourceIntegrity',
    'spec.permitOnlyProjectScopedClusters',
    'spec.destinationServiceAccounts',
  ]);
  assert.match(out[1], /^spec\.signatureKeys: not supported: .*unsigned commits are synced/);
  assert.match(out[4], /--impersonation/);
});

test('destinationServiceAccounts is reported only while impersonation is off', () => {
  const spec = { destinationServiceAccounts: [{ server: '*', defaultServiceAccount: 'ns:deployer' }] };
  assert.deepEqual(fields(unsupportedProjectFields(spec)), ['spec.destinationServiceAccounts']);
  assert.deepEqual(unsupportedProjectFields(spec, { impersonation: true }), []);
});

test('a malformed spec reports nothing and does not throw', () => {
  for (const spec of [undefined, null, 'x', 3, [], { roles: 'x', sourceIntegrity: [] }]) {
    assert.deepEqual(unsupportedProjectFields(spec), []);
  }
});
