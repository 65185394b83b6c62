/**
 * The work queue owns retry pacing (issue 10 §3, runtime/workqueue.ts), on a private control plane with
 * its own capstan serving `/metrics`: an ExternalSecret whose remote key is missing backs off (1 s
 * doubling), and hand edits of its Secret meanwhile do not run it again before its retry is due (counted
 * with ESO's `externalsecret_sync_calls_total`, one per reconcile), while a change of its store runs it
 * at once, past its backoff.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts } from '../harness/process';
import { waitFor } from '../harness/wait';
import { FaultEnv, createNamespaceOn, startFaultEnv } from './faults-lib';

const NS = 'backoff-es';
const ES_API = '/apis/external-secrets.io/v1';
const STORE = `${ES_API}/namespaces/${NS}/secretstores/fake`;
const ES = `${ES_API}/namespaces/${NS}/externalsecrets/api`;

let env: FaultEnv;
let port: number;

/** capstan's `capstan_externalsecret_sync_calls_total` for the ExternalSecret `api` (0 when absent). */
async function syncCalls(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('capstan_externalsecret_sync_calls_total{') &&
        l.includes(`name="api"`) &&
        l.includes(`namespace="${NS}"`),
    );
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The ExternalSecret's Ready condition status. */
async function ready(): Promise<string | undefined> {
  const es = (await env.kube.request('GET', ES)) as {
    status?: { conditions?: Array<{ type: string; status: string }> };
  };
  return es.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

const storeData = (data: Array<{ key: string; value: string }>) =>
  env.kube.request('PATCH', STORE, {
    body: { spec: { provider: { fake: { data } } } },
    contentType: 'application/merge-patch+json',
  });

before(async () => {
  [port] = await freePorts(1);
  env = await startFaultEnv({ operatorArgs: ['--metrics-port', String(port)] });
  await createNamespaceOn(env.kube, NS);
});

after(async () => {
  await env?.stop();
});

describe('retries are paced by the work queue', () => {
  test('a failing ExternalSecret is not refetched by its Secret events before its retry; a store change runs it at once', async () => {
    await env.kube.request('POST', `${ES_API}/namespaces/${NS}/secretstores`, {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'fake', namespace: NS },
        spec: { provider: { fake: { data: [{ key: 'api-key', value: 'one' }] } } },
      },
    });
    await env.kube.request('POST', `${ES_API}/namespaces/${NS}/externalsecrets`, {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'api', namespace: NS },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: 'fake', kind: 'SecretStore' },
          target: { name: 'api' },
          data: [{ secretKey: 'key', remoteRef: { key: 'api-key' } }],
        },
      },
    });
    await waitFor(async () => ((await ready()) === 'True' ? true : undefined), {
      what: 'Ready True',
      timeoutMs: 30_000,
    });

    // It now asks for a key the store does not have: its fetch fails, Ready turns False.
    await env.kube.request('PATCH', ES, {
      body: { spec: { data: [{ secretKey: 'key', remoteRef: { key: 'later-key' } }] } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor(async () => ((await ready()) === 'False' ? true : undefined), {
      what: 'Ready False',
      timeoutMs: 30_000,
    });
    const before = await syncCalls();
    const started = Date.now();
    // Ten hand edits of its Secret within about a second: each is a watch event of a managed Secret.
    for (let i = 0; i < 10; i++) {
      await env.kube.request('PATCH', `/api/v1/namespaces/${NS}/secrets/api`, {
        body: { metadata: { annotations: { 'e2e/edit': String(i) } } },
        contentType: 'application/merge-patch+json',
      });
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsed = Date.now() - started;
    const during = (await syncCalls()) - before;
    // Backoff 1 s, 2 s, 4 s ...: at most about log2(elapsed) retries, never one per edit.
    const retriesDue = Math.ceil(Math.log2(elapsed / 1000 + 1)) + 1;
    assert.ok(
      during <= retriesDue,
      `${during} reconciles in ${elapsed} ms of Secret edits; at most ${retriesDue} backoff retries expected`,
    );

    // The store gets the key: the store's change runs it at once, not at its next retry.
    await storeData([{ key: 'later-key', value: 'two' }]);
    await waitFor(async () => ((await ready()) === 'True' ? true : undefined), {
      what: 'Ready True again',
      timeoutMs: 10_000,
    });
  });
});
