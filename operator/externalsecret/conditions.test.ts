import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sameCondition, setCondition } from './conditions';
import { ReferenceIndex } from './refs';

describe('conditions', () => {
  test('lastTransitionTime is kept while the status stays, even when the message changes', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'R', message: 'a' },
      't1',
    );
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'R', message: 'b' }, 't2');
    assert.equal(second[0].lastTransitionTime, 't1');
    assert.equal(second[0].message, 'b');
    const third = setCondition(second, { type: 'Ready', status: 'True', reason: 'S' }, 't3');
    assert.equal(third[0].lastTransitionTime, 't3');
    assert.equal(third.length, 1);
  });

  test('sameCondition ignores times', () => {
    assert.equal(
      sameCondition(
        { type: 'Ready', status: 'True', reason: 'x', lastTransitionTime: '1' },
        { type: 'Ready', status: 'True', reason: 'x' },
      ),
      true,
    );
    assert.equal(sameCondition({ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'False' }), false);
  });
});

describe('reference index', () => {
  test('target Secrets and stores map back to their ExternalSecrets', () => {
    const idx = new ReferenceIndex();
    idx.set({
      metadata: { name: 'a', namespace: 'n' },
      spec: {
        secretStoreRef: { name: 's' },
        target: { name: 'sec' },
        data: [
          { secretKey: 'k', remoteRef: { key: 'x' } },
          {
            secretKey: 'j',
            remoteRef: { key: 'y' },
            sourceRef: { storeRef: { name: 'c', kind: 'ClusterSecretStore' } },
          },
        ],
      },
    });
    assert.deepEqual(idx.writersOf('n', 'sec'), ['ExternalSecret/n/a']);
    assert.deepEqual(idx.usersOf('SecretStore/n/s'), ['ExternalSecret/n/a']);
    assert.deepEqual(idx.usersOf('ClusterSecretStore//c'), ['ExternalSecret/n/a']);
    idx.set({ metadata: { name: 'a', namespace: 'n' }, spec: { secretStoreRef: { name: 's2' }, data: [] } });
    assert.deepEqual(idx.writersOf('n', 'sec'), [], 'a changed target replaces the old one');
    assert.deepEqual(idx.writersOf('n', 'a'), ['ExternalSecret/n/a']);
    idx.delete('ExternalSecret/n/a');
    assert.equal(idx.size, 0);
  });
});
