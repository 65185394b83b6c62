import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushSecret } from '../../generated/pushsecret';
import { decide, expandDataTo, reverseKeys, statusRef, storeStatusKey, storesToClear } from './plan';
import { dueInMs, pushSecretProblems, refreshIntervalMs, sourceChanged } from './reconcile';
import { syncedResourceVersion } from '../externalsecret/refresh';

const entry = (remoteKey: string, property?: string, secretKey = 'k') => ({
  match: { secretKey, remoteRef: { remoteKey, ...(property ? { property } : {}) } },
});

function ps(spec: Partial<PushSecret['spec']>, status?: PushSecret['status']): PushSecret {
  return {
    apiVersion: 'external-secrets.io/v1alpha1',
    kind: 'PushSecret',
    metadata: { name: 'p', namespace: 'n', generation: 1 },
    spec: { secretStoreRefs: [{ name: 's' }], selector: { secret: { name: 'src' } }, ...spec },
    status,
  } as PushSecret;
}

describe('PushSecret plan (ESO statusRef, syncedPushSecrets)', () => {
  it('statusRef and store keys as ESO', () => {
    assert.equal(statusRef(entry('a')), 'a');
    assert.equal(statusRef(entry('a', 'p')), 'a/p');
    assert.equal(storeStatusKey(undefined, 's'), 'SecretStore/s');
    assert.equal(storeStatusKey('ClusterSecretStore', 's'), 'ClusterSecretStore/s');
  });
  it('pushes every planned entry; deletes entries no longer planned only with deletionPolicy Delete', () => {
    const previous = { 'SecretStore/s': { a: entry('a'), old: entry('old') } };
    const planned = [{ entry: entry('a') }];
    const keep = decide(ps({}), 'SecretStore/s', planned, previous);
    assert.deepEqual(
      keep.map((d) => `${d.action}:${statusRef(d.entry)}`),
      ['push:a'],
    );
    const del = decide(ps({ deletionPolicy: 'Delete' }), 'SecretStore/s', planned, previous);
    assert.deepEqual(
      del.map((d) => `${d.action}:${statusRef(d.entry)}`),
      ['push:a', 'delete:old'],
    );
  });
  it('dataTo: per-key entries named by rewrite, or one bundle under remoteKey; match.regexp filters', () => {
    const keys = ['db-host', 'db-user', 'api-token'];
    const perKey = expandDataTo(
      {
        storeRef: { name: 's' },
        match: { regexp: '^db-' },
        rewrite: [{ regexp: { source: '^db-', target: 'app/db/' } }],
      },
      keys,
      'spec.dataTo[0]',
    );
    assert.deepEqual(
      perKey.map((p) => [p.entry.match.secretKey, p.entry.match.remoteRef.remoteKey]),
      [
        ['db-host', 'app/db/host'],
        ['db-user', 'app/db/user'],
      ],
    );
    const bundle = expandDataTo(
      { storeRef: { name: 's' }, remoteKey: 'all-db', match: { regexp: 'db' } },
      keys,
      'x',
    );
    assert.deepEqual(bundle, [
      {
        entry: {
          match: { remoteRef: { remoteKey: 'all-db' } },
          metadata: undefined,
          conversionStrategy: undefined,
        },
        keys: ['db-host', 'db-user'],
      },
    ]);
    assert.equal(expandDataTo({ storeRef: { name: 's' } }, keys, 'x').length, 3, 'no match: every key');
    assert.throws(
      () => expandDataTo({ storeRef: { name: 's' }, match: { regexp: '(' } }, keys, 'spec.dataTo[0]'),
      /match.regexp/,
    );
  });
  it('stores to clear: all on removal, those left out of the spec, none under deletionPolicy None', () => {
    const previous = { 'SecretStore/s': { a: entry('a') }, 'ClusterSecretStore/c': { b: entry('b', 'p') } };
    const del = ps({ deletionPolicy: 'Delete' });
    assert.deepEqual(storesToClear(del, previous), ['SecretStore/s', 'ClusterSecretStore/c']);
    assert.deepEqual(storesToClear(del, previous, ['SecretStore/s']), ['ClusterSecretStore/c']);
    assert.deepEqual(storesToClear(del, previous, ['SecretStore/s', 'ClusterSecretStore/c']), []);
    assert.deepEqual(storesToClear(ps({}), previous, []), []);
  });

  it('ReverseUnicode turns _UXXXX_ back into the character; None keeps keys', () => {
    const data = { a_U002f_b: Buffer.from('1'), plain: Buffer.from('2') };
    assert.deepEqual(Object.keys(reverseKeys('ReverseUnicode', data)).sort(), ['a/b', 'plain']);
    assert.deepEqual(Object.keys(reverseKeys('None', data)).sort(), ['a_U002f_b', 'plain']);
  });
});

describe('PushSecret refresh and validation', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const synced = (refreshTime: string, version = '1-') => ({
    refreshTime,
    syncedResourceVersion: version,
    conditions: [{ type: 'Ready' as const, status: 'True' as const }],
  });
  it('due at once after a spec change or a failure; else refreshInterval after the last push; never for 0', () => {
    assert.equal(dueInMs(ps({ refreshInterval: '1h' }), now), 0, 'never pushed');
    const last = ps({ refreshInterval: '1h' }, synced('2026-01-01T00:00:00Z'));
    last.status!.syncedResourceVersion = dueVersion(last);
    assert.equal(dueInMs(last, now), 50 * 60_000);
    const zero = ps({ refreshInterval: '0s' }, synced('2026-01-01T00:00:00Z'));
    zero.status!.syncedResourceVersion = dueVersion(zero);
    assert.equal(dueInMs(zero, now), undefined);
    const changed = ps({ refreshInterval: '1h' }, synced('2026-01-01T00:00:00Z', 'old'));
    assert.equal(dueInMs(changed, now), 0);
    assert.equal(refreshIntervalMs(ps({})), 3_600_000);
  });
  it('a changed source pushes at once, whatever the refresh interval; a generator only when due', () => {
    const last = ps({ refreshInterval: '0s' }, synced('2026-01-01T00:00:00Z'));
    last.status!.syncedSourceVersion = 'v1';
    assert.equal(sourceChanged(undefined, 'v1', last), false, 'same Secrets: wait');
    assert.equal(sourceChanged(undefined, 'v2', last), true, 'changed Secrets: push');
    assert.equal(sourceChanged(5_000, 'v2', last), true);
    assert.equal(sourceChanged(5_000, undefined, last), false, 'a generator has no version');
    assert.equal(sourceChanged(0, 'v1', last), true, 'due anyway');
  });

  it('problems: bad refreshInterval, a store ref without name or selector, a remote ref pushed twice', () => {
    assert.deepEqual(pushSecretProblems(ps({ data: [entry('a')] })), []);
    assert.match(pushSecretProblems(ps({ refreshInterval: 'often' })).join(), /refreshInterval/);
    assert.match(
      pushSecretProblems(ps({ secretStoreRefs: [{ kind: 'SecretStore' }] })).join(),
      /name or labelSelector/,
    );
    assert.match(pushSecretProblems(ps({ data: [entry('a'), entry('a')] })).join(), /pushed twice/);
  });
});

/** The version dueInMs compares with: generation and metadata hash, as for ExternalSecrets. */
function dueVersion(p: PushSecret): string {
  return syncedResourceVersion(p as never);
}
