import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventTap } from '../kube/eventtap';
import { ResourceEventType, type ResourceEvent } from '../kube/resourceevent';
import { silentLogger } from '../log';
import type { ReconcileResult } from '../runtime/workqueue';
import { ClusterExternalSecretOperator } from './operator';
import type { CesContext } from './reconcile';

/** The operator without a cluster: records the collections it would watch and the keys it reconciles. */
class Probe extends ClusterExternalSecretOperator {
  readonly watched: string[] = [];
  readonly reconciled: string[] = [];
  protected override watchResource(_group: string, _version: string, plural: string): Promise<void> {
    this.watched.push(plural);
    return Promise.resolve();
  }
  protected override reconcile(key: string): Promise<ReconcileResult> {
    this.reconciled.push(key);
    return Promise.resolve({});
  }
}

function probe(tap?: EventTap): Probe {
  return new Probe({ log: silentLogger(), now: Date.now } as unknown as CesContext, silentLogger(), 1, tap);
}

function esEvent(type: ResourceEventType, owner?: string, generation = 1): ResourceEvent {
  const ownerReferences = owner
    ? [
        {
          apiVersion: 'external-secrets.io/v1',
          kind: 'ClusterExternalSecret',
          name: owner,
          uid: 'u',
          controller: true,
        },
      ]
    : undefined;
  return {
    type,
    meta: {
      name: 'db',
      namespace: 'team-a',
      id: 'x',
      resourceVersion: '1',
      apiVersion: 'v1',
      kind: 'ExternalSecret',
    },
    object: {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db', namespace: 'team-a', generation, ownerReferences },
    },
  } as ResourceEvent;
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('ClusterExternalSecret operator: ExternalSecret events', () => {
  it('reads the shared watch when given one, and opens no watch of ExternalSecrets', async () => {
    const tap = new EventTap();
    const op = probe(tap);
    await op.start();
    assert.deepEqual(op.watched, ['clusterexternalsecrets', 'namespaces']);
    assert.equal(tap.size, 1);
    op.stop();
    assert.equal(tap.size, 0, 'stop leaves the shared watch');
  });

  it('opens its own watch of ExternalSecrets when alone', async () => {
    const op = probe();
    await op.start();
    assert.deepEqual(op.watched, ['clusterexternalsecrets', 'namespaces', 'externalsecrets']);
    op.stop();
  });

  it('repairs an owned ExternalSecret first seen in a MODIFIED event (the shared watch listed before it subscribed)', async () => {
    const tap = new EventTap();
    const op = probe(tap);
    await op.start();
    tap.emit(esEvent(ResourceEventType.Modified, 'shared'));
    await settle();
    assert.deepEqual(op.reconciled, ['ClusterExternalSecret//shared']);
    op.stop();
  });

  it('ignores a listed or created ExternalSecret, an unchanged one and one it does not own', async () => {
    const tap = new EventTap();
    const op = probe(tap);
    await op.start();
    tap.emit(esEvent(ResourceEventType.Added, 'shared'));
    tap.emit(esEvent(ResourceEventType.Modified, 'shared')); // a status write: nothing watched changed
    tap.emit(esEvent(ResourceEventType.Modified, undefined, 2));
    await settle();
    assert.deepEqual(op.reconciled, []);
    tap.emit(esEvent(ResourceEventType.Modified, 'shared', 2)); // someone edited its spec
    await settle();
    assert.deepEqual(op.reconciled, ['ClusterExternalSecret//shared']);
    op.stop();
  });
});

describe('EventTap', () => {
  it('passes each event to every listener; one that throws stops neither the others nor the watch', () => {
    const tap = new EventTap();
    const seen: string[] = [];
    const errors: string[] = [];
    tap.subscribe(() => {
      throw new Error('boom');
    });
    const leave = tap.subscribe((e) => seen.push(e.type));
    tap.emit(esEvent(ResourceEventType.Added), (err) => errors.push((err as Error).message));
    assert.deepEqual(seen, ['ADDED']);
    assert.deepEqual(errors, ['boom']);
    leave();
    tap.emit(esEvent(ResourceEventType.Deleted));
    assert.deepEqual(seen, ['ADDED']);
  });
});
