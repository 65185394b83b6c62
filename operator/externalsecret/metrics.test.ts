import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registry } from '../common/metrics';
import { silentLogger } from '../log';
import type { ExternalSecretContext } from './context';
import { ExternalSecretOperator } from './operator';
import {
  conditionSamples,
  forgetExternalSecret,
  observeExternalSecret,
  syncCalls,
  syncCallsError,
} from './metrics';

async function value(
  metric: typeof syncCalls | typeof syncCallsError,
  labels: Record<string, string>,
): Promise<number> {
  const v = (await metric.get()).values.find((s) =>
    Object.entries(labels).every(([k, want]) => (s.labels as Record<string, unknown>)[k] === want),
  );
  return v?.value ?? 0;
}

/** An operator whose API client answers every GET with `answer` (an object, nothing, or a throw). */
function operatorAnswering(answer: () => unknown): ExternalSecretOperator {
  const ctx = {
    client: { request: async () => answer() },
    now: () => Date.now(),
    refs: { delete() {} },
  } as unknown as ExternalSecretContext;
  return new ExternalSecretOperator(ctx, silentLogger(), 1);
}

const reconcile = (op: ExternalSecretOperator, key: string) =>
  (op as unknown as { reconcile(key: string): Promise<unknown> }).reconcile(key);

test('capstan_externalsecret_sync_calls_total counts every reconcile of an ExternalSecret (ESO sync_calls_total)', async () => {
  const op = operatorAnswering(() => undefined); // the ExternalSecret is gone: the reconcile ends at once
  await reconcile(op, 'ExternalSecret/team-a/db');
  await reconcile(op, 'ExternalSecret/team-a/db');
  assert.equal(await value(syncCalls, { namespace: 'team-a', name: 'db' }), 2);
  assert.equal(await value(syncCallsError, { namespace: 'team-a', name: 'db' }), 0);
});

test('capstan_externalsecret_sync_calls_error counts reconciles that fail (ESO sync_calls_error)', async () => {
  const op = operatorAnswering(() => {
    throw new Error('the API server is down');
  });
  await assert.rejects(reconcile(op, 'ExternalSecret/team-b/api'), /down/);
  assert.equal(await value(syncCalls, { namespace: 'team-b', name: 'api' }), 1);
  assert.equal(await value(syncCallsError, { namespace: 'team-b', name: 'api' }), 1);
});

test('conditionSamples: the current status is 1 and the opposite 0, as ESO externalsecret_status_condition', () => {
  const es = {
    metadata: { name: 'db', namespace: 'team-a' },
    status: { conditions: [{ type: 'Ready', status: 'False' }] },
  };
  assert.deepEqual(conditionSamples(es), [
    { labels: { name: 'db', namespace: 'team-a', condition: 'Ready', status: 'False' }, value: 1 },
    { labels: { name: 'db', namespace: 'team-a', condition: 'Ready', status: 'True' }, value: 0 },
  ]);
  assert.deepEqual(conditionSamples({ metadata: { name: 'x', namespace: 'y' } }), []);
});

test('capstan_externalsecret_status_condition follows the watch: the latest conditions, gone once deleted', async () => {
  const scrape = () => registry.getSingleMetricAsString('capstan_externalsecret_status_condition');
  const es = (status: string) => ({
    metadata: { name: 'cond', namespace: 'team-c' },
    status: { conditions: [{ type: 'Ready', status }] },
  });
  observeExternalSecret(es('False'));
  observeExternalSecret(es('True'));
  const text = await scrape();
  assert.match(text, /\{name="cond",namespace="team-c",condition="Ready",status="True"\} 1/);
  assert.match(text, /\{name="cond",namespace="team-c",condition="Ready",status="False"\} 0/);
  forgetExternalSecret('team-c', 'cond');
  assert.doesNotMatch(await scrape(), /name="cond"/);
});
