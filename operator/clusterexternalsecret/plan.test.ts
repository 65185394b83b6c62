import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterExternalSecret } from '../../generated/clusterexternalsecret';
import type { KubeObject } from '../kube/object';
import { cesProblems, refreshMs } from './reconcile';
import { controlledBy, decide, desiredExternalSecret, targetNamespaces, type NamespaceView } from './plan';

function ces(spec: Partial<ClusterExternalSecret['spec']>, name = 'db'): ClusterExternalSecret {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ClusterExternalSecret',
    metadata: { name, uid: 'u-1' },
    spec: {
      externalSecretSpec: {
        secretStoreRef: { name: 's' },
        data: [{ secretKey: 'k', remoteRef: { key: 'r' } }],
      },
      ...spec,
    },
  } as ClusterExternalSecret;
}

const namespaces: NamespaceView[] = [
  { name: 'a', labels: { team: 'a', tier: 'prod' } },
  { name: 'b', labels: { team: 'b' } },
  { name: 'c', labels: {} },
  { name: 'gone', labels: { team: 'a' }, terminating: true },
];

describe('targetNamespaces (ESO GetTargetNamespaces)', () => {
  it('selectors are ORed, names are added, terminating namespaces left out, sorted', () => {
    const c = ces({
      namespaceSelectors: [{ matchLabels: { team: 'b' } }, { matchLabels: { team: 'a' } }],
      namespaces: ['c'],
    });
    assert.deepEqual(targetNamespaces(c, namespaces), ['a', 'b', 'c']);
  });
  it('the deprecated namespaceSelector counts too; matchExpressions', () => {
    const c = ces({
      namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod'] }] },
    });
    assert.deepEqual(targetNamespaces(c, namespaces), ['a']);
  });
  it('no selector and no names: no namespace; an empty selector: all', () => {
    assert.deepEqual(targetNamespaces(ces({}), namespaces), []);
    assert.deepEqual(targetNamespaces(ces({ namespaceSelectors: [{}] }), namespaces), ['a', 'b', 'c']);
  });
  it('a named namespace that does not exist is not a target', () => {
    assert.deepEqual(targetNamespaces(ces({ namespaces: ['nope'] }), namespaces), []);
  });
});

describe('decide', () => {
  const c = ces({ externalSecretName: 'db-es', externalSecretMetadata: { labels: { l: '1' } } });
  const ours = desiredExternalSecret(c, 'a');
  const theirs: KubeObject = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'db-es' },
  };
  it('applies in targets, deletes where no longer targeted, refuses an ExternalSecret it does not control', () => {
    const existing = new Map<string, KubeObject | undefined>([
      ['a', ours],
      ['b', theirs],
      ['c', undefined],
    ]);
    const d = decide(c, ['a', 'b', 'c'], existing, ['a', 'old']);
    assert.deepEqual(
      d.map((x) => [x.action, x.namespace]),
      [
        ['delete', 'old'],
        ['apply', 'a'],
        ['conflict', 'b'],
        ['apply', 'c'],
      ],
    );
    const conflict = d.find((x) => x.action === 'conflict');
    assert.equal(
      conflict && 'reason' in conflict ? conflict.reason : '',
      'external secret already exists in namespace',
    );
  });
  it('a rename deletes the old name in every provisioned namespace', () => {
    const d = decide(c, ['a'], new Map([['a', undefined]]), ['a', 'x'], 'db-old');
    assert.deepEqual(
      d
        .filter((x) => x.action === 'delete')
        .map((x) => (x.action === 'delete' ? `${x.namespace}/${x.name}` : '')),
      ['a/db-old', 'x/db-old', 'x/db-es'],
    );
  });
  it('the desired ExternalSecret: spec, metadata, controller reference, force-sync copied', () => {
    const withForce = ces({ externalSecretMetadata: { annotations: { a: 'b' } } });
    withForce.metadata.annotations = { 'external-secrets.io/force-sync': '123' };
    const es = desiredExternalSecret(withForce, 'n');
    assert.equal(es.metadata.name, 'db');
    assert.equal(es.metadata.namespace, 'n');
    assert.deepEqual(es.metadata.annotations, { a: 'b', 'external-secrets.io/force-sync': '123' });
    assert.deepEqual(es.spec, withForce.spec.externalSecretSpec);
    assert.equal(controlledBy(es, 'db'), true);
    assert.equal(controlledBy(es, 'other'), false);
    assert.equal(es.metadata.ownerReferences?.[0].uid, 'u-1');
  });
});

describe('cesProblems / refreshMs', () => {
  it('accepts a valid spec; refuses a bad refreshTime and a bad embedded ExternalSecret spec', () => {
    assert.deepEqual(cesProblems(ces({ refreshTime: '1m' })), []);
    assert.match(cesProblems(ces({ refreshTime: 'soon' })).join(), /refreshTime/);
    const bad = ces({});
    bad.spec.externalSecretSpec = { refreshPolicy: 'Sometimes' } as never;
    assert.ok(cesProblems(bad).length > 0);
  });
  it('refreshTime defaults to 1m', () => {
    assert.equal(refreshMs(ces({})), 60_000);
    assert.equal(refreshMs(ces({ refreshTime: '10s' })), 10_000);
  });
});
