/**
 * What each request of bench P7 costs the API server (issue 10 §2 P7), one kind of request at a time:
 * `node --import tsx bench/p7-costs.ts [n]` starts its own control plane (no capstan) and sends `n`
 * (default 1,000) requests of each kind at concurrency 10 (`COST_CONCURRENCY`), as the bench does,
 * printing the wall time, the rate and the CPU time kube-apiserver and etcd spent per request (from
 * /proc, Linux only). CPU time per request, unlike the rate, hardly depends on what else the machine
 * runs, so it compares request shapes on a loaded machine too.
 *
 * - `secret POST`: the baseline, creating a Secret;
 * - `ExternalSecret POST`: what the bench itself sends before capstan does anything;
 * - `Secret apply create-only`: capstan's create of an absent target (write.ts: server-side apply with
 *   the resourceVersion precondition), with the labels, annotations and owner reference it sets; then
 *   the same without `fieldValidation`, and the same Secret by a plain POST;
 * - `ExternalSecret status merge-patch`: capstan's status write (status.ts markDone), a second one (a
 *   refresh), and the same status by PUT and by JSON patch;
 * - `event POST`: the `Created` event.
 *
 * A measurement tool, not a scenario of `make bench`.
 */
import fs from 'node:fs';
import os from 'node:os';
import { startControlPlane } from '../e2e/harness/controlplane';
import { installCrds } from '../e2e/operator';
import { KubeClient, loadKubeConfig } from '../operator/kube/client';
import { pool, round, since } from './lib';

const N = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.env.COST_CONCURRENCY ?? 10);
const ES = '/apis/external-secrets.io/v1/namespaces/cost/externalsecrets';
const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** An object as the API server returns it. */
type KubeObjectLike = Record<string, unknown>;

/** The bench's ExternalSecret (bench/run.ts P7). */
function externalSecret(name: string): KubeObjectLike {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: 'cost' },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: 'fake', kind: 'SecretStore' },
      target: { name },
      data: [{ secretKey: 'v', remoteRef: { key: 'k' } }],
    },
  };
}

async function main(): Promise<void> {
  const cp = await startControlPlane({ log: () => undefined });
  try {
    await installCrds(cp.kubeconfigPath);
    const kube = new KubeClient(loadKubeConfig(cp.kubeconfigPath));
    const [etcdPid, apiPid] = cp.pids;
    await kube.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cost' } },
    });
    const uids: string[] = [];
    const phase = async (what: string, fn: (i: number) => Promise<void>): Promise<void> => {
      const api0 = cpuSeconds(apiPid);
      const etcd0 = cpuSeconds(etcdPid);
      const t0 = performance.now();
      await pool([...Array(N).keys()], CONCURRENCY, (i) => fn(i));
      const s = since(t0) / 1000;
      const api = ((cpuSeconds(apiPid) - api0) / N) * 1000;
      const etcd = ((cpuSeconds(etcdPid) - etcd0) / N) * 1000;
      process.stdout.write(
        `${what.padEnd(36)} ${round(s, 2)} s  ${round(N / s, 0)}/s  kube-apiserver ${round(api, 2)} ms CPU/request  etcd ${round(etcd, 2)} ms\n`,
      );
    };
    process.stdout.write(
      `${N} requests of each kind at concurrency ${CONCURRENCY}, ${os.cpus().length} cores\n`,
    );
    await phase('secret POST (baseline)', async (i) => {
      await kube.request('POST', '/api/v1/namespaces/cost/secrets', {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `raw-${i}` },
          stringData: { v: 'value' },
        },
      });
    });
    await phase('ExternalSecret POST (the bench)', async (i) => {
      const es = await kube.request<{ metadata: { uid: string } }>('POST', ES, {
        body: externalSecret(`es-${i}`),
      });
      uids[i] = es.metadata.uid;
    });
    const secret = (
      name: string,
      i: number,
      extra: Record<string, unknown> = {},
    ): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: 'cost',
        ...extra,
        labels: {
          'reconcile.external-secrets.io/managed': 'true',
          'reconcile.external-secrets.io/created-by': 'a'.repeat(56),
        },
        annotations: {
          'reconcile.external-secrets.io/data-hash': 'b'.repeat(32),
          'capstan.dev/external-secret': `es-${i}`,
        },
        ownerReferences: [
          {
            apiVersion: 'external-secrets.io/v1',
            kind: 'ExternalSecret',
            name: `es-${i}`,
            uid: uids[i],
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      type: 'Opaque',
      data: { v: Buffer.from('value').toString('base64') },
    });
    await phase('Secret apply create-only (capstan)', async (i) => {
      await kube.request('PATCH', `/api/v1/namespaces/cost/secrets/es-${i}`, {
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'capstan', force: true, fieldValidation: 'Strict' },
        body: secret(`es-${i}`, i, { resourceVersion: '1' }),
      });
    });
    await phase('  same, without fieldValidation', async (i) => {
      await kube.request('PATCH', `/api/v1/namespaces/cost/secrets/nv-${i}`, {
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'capstan', force: true },
        body: secret(`nv-${i}`, i, { resourceVersion: '1' }),
      });
    });
    await phase('  same Secret by POST (create)', async (i) => {
      await kube.request('POST', '/api/v1/namespaces/cost/secrets', {
        query: { fieldManager: 'capstan' },
        body: secret(`po-${i}`, i),
      });
    });
    const status = (i: number): Record<string, unknown> => {
      const now = new Date().toISOString();
      return {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'SecretSynced',
            message: 'secret synced',
            lastTransitionTime: now,
          },
        ],
        refreshTime: now,
        syncedResourceVersion: '1-abc',
        binding: { name: `es-${i}` },
      };
    };
    await phase('ExternalSecret status merge-patch', async (i) => {
      await kube.request('PATCH', `${ES}/es-${i}/status`, {
        contentType: 'application/merge-patch+json',
        body: { status: status(i) },
      });
    });
    await phase('  same, a second time (a refresh)', async (i) => {
      await kube.request('PATCH', `${ES}/es-${i}/status`, {
        contentType: 'application/merge-patch+json',
        body: { status: status(i) },
      });
    });
    // the variants write the status of ExternalSecrets made for them (untimed)
    const made: Record<string, KubeObjectLike> = {};
    await pool([...Array(N).keys()], CONCURRENCY, async (i) => {
      for (const prefix of ['put', 'jp']) {
        made[`${prefix}-${i}`] = await kube.request<KubeObjectLike>('POST', ES, {
          body: externalSecret(`${prefix}-${i}`),
        });
      }
    });
    await phase('  same by PUT of the object', async (i) => {
      await kube.request('PUT', `${ES}/put-${i}/status`, {
        body: { ...made[`put-${i}`], status: status(i) },
      });
    });
    await phase('  same by JSON patch', async (i) => {
      await kube.request('PATCH', `${ES}/jp-${i}/status`, {
        contentType: 'application/json-patch+json',
        body: [{ op: 'add', path: '/status', value: status(i) }],
      });
    });
    await phase('event POST', async (i) => {
      const now = new Date().toISOString();
      await kube.request('POST', '/api/v1/namespaces/cost/events', {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `es-${i}.${Date.now().toString(16)}`, namespace: 'cost' },
          involvedObject: {
            apiVersion: 'external-secrets.io/v1',
            kind: 'ExternalSecret',
            name: `es-${i}`,
            namespace: 'cost',
            uid: uids[i],
          },
          reason: 'Created',
          message: 'secret created',
          type: 'Normal',
          source: { component: 'capstan' },
          reportingComponent: 'capstan',
          reportingInstance: os.hostname(),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    });
  } finally {
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
