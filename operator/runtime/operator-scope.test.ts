/** QueuedOperator's `namespaces` option (`--watch-namespaces`): one watch per namespace, or one over all. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient, RequestOptions } from '../kube/client';
import type { Logger } from '../log';
import { QueuedOperator } from './operator';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

/** A client whose lists answer one object per namespaced path and whose watches park until stopped. */
function recordingClient() {
  const paths: string[] = [];
  const client = {
    async request<T>(_m: string, path: string): Promise<T> {
      paths.push(`list ${path}`);
      return { metadata: { resourceVersion: '1' }, items: [] } as T;
    },
    async watch(path: string, _q: RequestOptions['query'], _e: unknown, signal: AbortSignal) {
      paths.push(`watch ${path}`);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    },
  };
  return { client: client as unknown as KubeClient, paths };
}

class Probe extends QueuedOperator {
  protected async init(): Promise<void> {
    await this.watchAndEnqueue('argoproj.io', 'v1alpha1', 'applications', 'Application');
  }
  protected async reconcile(): Promise<void> {}
}

const lists = (paths: string[]) => paths.filter((p) => p.startsWith('list')).sort();

test('without namespaces: one list and watch over all namespaces', async () => {
  const { client, paths } = recordingClient();
  const op = new Probe(silent, { name: 'probe', concurrency: 1, client });
  await op.start();
  op.stop();
  assert.deepEqual(lists(paths), ['list /apis/argoproj.io/v1alpha1/applications']);
});

test('with namespaces: one list and watch per namespace, never one over all', async () => {
  const { client, paths } = recordingClient();
  const op = new Probe(silent, { name: 'probe', concurrency: 1, client, namespaces: ['argocd', 'team-a'] });
  await op.start();
  await new Promise((r) => setTimeout(r, 20));
  op.stop();
  assert.deepEqual(lists(paths), [
    'list /apis/argoproj.io/v1alpha1/namespaces/argocd/applications',
    'list /apis/argoproj.io/v1alpha1/namespaces/team-a/applications',
  ]);
  assert.ok(
    paths.every((p) => p.includes('/namespaces/')),
    paths.join('\n'),
  );
});
