import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Discovery, ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import {
  WatchScopeError,
  assertDestinationInScope,
  assertObjectsInScope,
  destinationScopeProblem,
  objectScopeProblems,
} from './scope';

const rt = (kind: string, namespaced: boolean): ResourceType => ({
  group: '',
  version: 'v1',
  kind,
  plural: `${kind.toLowerCase()}s`,
  namespaced,
});
const obj = (kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});
const app = (namespace?: string, syncOptions?: string[]) => ({
  spec: { destination: { namespace }, syncPolicy: syncOptions ? { syncOptions } : undefined },
});

describe('what a scoped capstan may deploy', () => {
  it('cluster-wide: any destination and any object', () => {
    assert.equal(destinationScopeProblem([], app('anywhere', ['CreateNamespace=true'])), undefined);
    assert.deepEqual(
      objectScopeProblems([], [{ obj: obj('ClusterRole', 'x'), rt: rt('ClusterRole', false) }]),
      [],
    );
  });

  it('refuses a destination namespace that is not watched, and CreateNamespace, naming the flag', () => {
    assert.equal(destinationScopeProblem(['team-a'], app('team-a')), undefined);
    assert.equal(destinationScopeProblem(['team-a'], app(undefined)), undefined);
    assert.match(
      destinationScopeProblem(['team-a'], app('team-b')) ?? '',
      /destination namespace "team-b" is not watched: capstan runs with --watch-namespaces=team-a/,
    );
    assert.match(
      destinationScopeProblem(['team-a'], app('team-a', ['CreateNamespace=true'])) ?? '',
      /CreateNamespace=true .* --watch-namespaces=team-a/,
    );
    assert.throws(() => assertDestinationInScope(['team-a'], app('team-b')), WatchScopeError);
  });

  it('refuses cluster-scoped objects and namespaced ones outside the list', () => {
    const problems = objectScopeProblems(
      ['team-a'],
      [
        { obj: obj('ConfigMap', 'ok', 'team-a'), rt: rt('ConfigMap', true) },
        { obj: obj('ClusterRole', 'admin'), rt: rt('ClusterRole', false) },
        { obj: obj('ConfigMap', 'away', 'team-b'), rt: rt('ConfigMap', true) },
        { obj: obj('Widget', 'nowhere'), rt: undefined },
      ],
    );
    assert.deepEqual(problems, [
      'ClusterRole/admin is cluster-scoped',
      'ConfigMap/away is in namespace "team-b", which is not watched',
      'Widget/nowhere has no namespace (destination.namespace is empty)',
    ]);
  });

  it('assertObjectsInScope places objects (destination namespace filled in) and names at most five', async () => {
    const ctx = { discovery: {} as Discovery, settings: { watchNamespaces: ['team-a'] } };
    const place = async (_d: Discovery, o: KubeObject, ns: string | undefined) => {
      const namespaced = o.kind !== 'ClusterRole';
      return {
        obj: {
          ...o,
          metadata: { ...o.metadata, namespace: namespaced ? (o.metadata.namespace ?? ns) : undefined },
        },
        rt: rt(o.kind, namespaced),
      };
    };
    await assertObjectsInScope(ctx, app('team-a'), [obj('ConfigMap', 'a')], place);
    const many = Array.from({ length: 7 }, (_, i) => obj('ClusterRole', `r${i}`));
    await assert.rejects(
      assertObjectsInScope(ctx, app('team-a'), many, place),
      (err: Error) =>
        err instanceof WatchScopeError &&
        /--watch-namespaces=team-a/.test(err.message) &&
        err.message.includes('ClusterRole/r4 is cluster-scoped (and 2 more)') &&
        !err.message.includes('r5'),
    );
    let placed = 0;
    await assertObjectsInScope({ ...ctx, settings: {} }, app('x'), many, async (d, o, ns) => {
      placed++;
      return place(d, o, ns);
    });
    assert.equal(placed, 0, 'cluster-wide: no placement at all');
  });
});
