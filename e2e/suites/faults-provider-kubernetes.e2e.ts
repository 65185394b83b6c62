/**
 * Fault 5 for the kubernetes provider (issue 7 §2): the store's API server stops answering during an
 * ExternalSecret refresh. The store reaches the run's real API server through an HTTPS front in this
 * process (`server.url` with the cluster's CA), so the outage only touches this store: the front first
 * passes answers on, then drips them one byte every 100 ms (a slow-drip API server: it never answers
 * in time but never goes idle either, so only the provider's overall deadline ends a call), then
 * passes them on again.
 *
 * Asserted: the target Secret is kept (same data hash, never deleted) and Ready turns False with the
 * deadline's reason; after the relay returns, Ready is True again and a value rotated during the outage
 * arrives. Values are compared by hash and by the lib's key-naming helpers only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, kubeconfig, uniqueName } from './lib';
import {
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  mergePatch,
  read,
  readyOf,
  secretPath,
  storePath,
  waitForReady,
  waitForSecretValues,
  type SecretObj,
} from './externalsecret-lib';

/**
 * An HTTPS front of the run's API server, with the API server's own serving certificate (valid for
 * IP:127.0.0.1, signed by the cluster CA), that passes every request on. While dripping it still
 * forwards each request, but sends the answer's body on one byte every 100 ms: each byte is its own
 * TLS record, so the connection is never idle and only an overall deadline (not an idle timeout) ends
 * the call; without one a worker waits for minutes.
 */
class DrippingFront {
  private readonly server: https.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Answers dripped so far. */
  dripped = 0;
  private dripping = false;

  constructor(
    private readonly api: URL,
    private readonly ca: Buffer,
    tls: { cert: Buffer; key: Buffer },
  ) {
    this.server = https.createServer(tls, (req, res) => this.forward(req, res));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const up = https.request(
      {
        host: this.api.hostname,
        port: this.api.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.api.host },
        ca: this.ca,
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!this.dripping) return void answer.pipe(res);
        this.dripped++;
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          let body = Buffer.concat(chunks);
          const t = setInterval(() => {
            if (res.destroyed) return this.stop(t);
            res.write(body.subarray(0, 1));
            body = body.subarray(1);
            if (!body.length) {
              this.stop(t);
              res.end();
            }
          }, 100);
          this.timers.add(t);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  private stop(t: NodeJS.Timeout): void {
    clearInterval(t);
    this.timers.delete(t);
  }

  /** Listens on a free port of 127.0.0.1; resolves with it. */
  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)),
    );
  }

  /** Starts dripping the answers of new requests (open connections are dropped). */
  drip(): void {
    this.dripping = true;
    this.server.closeAllConnections();
  }

  /** Answers at full speed again (dripping connections are dropped, so their callers fail fast and retry). */
  resume(): void {
    this.dripping = false;
    for (const t of this.timers) this.stop(t);
    this.server.closeAllConnections();
  }

  close(): Promise<void> {
    this.resume();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** SHA-256 of a Secret's data (sorted keys), to compare values without printing them. */
function dataHash(s: SecretObj | undefined): string | undefined {
  if (!s) return undefined;
  const data = s.data ?? {};
  const sorted = Object.keys(data)
    .sort()
    .map((k) => [k, data[k]]);
  return crypto.createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/** A ServiceAccount in `ns` that may get the Secret `db` of namespace `remote` (and list rules for validation). */
async function reader(ns: string, remote: string): Promise<void> {
  await kube().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } },
  });
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${remote}`;
  await kube().request('POST', `${rbac}/roles`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'secret-reader', namespace: remote },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['db'] }],
    },
  });
  await kube().request('POST', `${rbac}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'secret-reader', namespace: remote },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    },
  });
}

describe('fault: the kubernetes provider stops answering during a refresh', () => {
  test('the Secret is kept and Ready turns False at the deadline; then it recovers', async () => {
    const ns = uniqueName('fault-k8s');
    const remote = uniqueName('fault-k8s-remote');
    for (const n of [ns, remote]) await createNamespace(n);
    await createSecret(remote, 'db', { password: 'first-S3CRET' });
    await reader(ns, remote);

    const cluster = kube().kubeConfig.getCurrentCluster();
    assert.ok(cluster?.caData, 'the run kubeconfig carries certificate-authority-data');
    // the harness keeps the run's PKI next to the kubeconfig (e2e/harness/controlplane.ts)
    const pki = path.join(path.dirname(kubeconfig()), 'pki');
    const relay = new DrippingFront(new URL(cluster.server), Buffer.from(cluster.caData, 'base64'), {
      cert: fs.readFileSync(path.join(pki, 'serving.crt')),
      key: fs.readFileSync(path.join(pki, 'serving.key')),
    });
    const port = await relay.listen();
    try {
      await createSecretStore(ns, 'remote', {
        kubernetes: {
          // the serving certificate covers IP:127.0.0.1, so TLS verifies through the front
          server: { url: `https://127.0.0.1:${port}`, caBundle: cluster.caData },
          remoteNamespace: remote,
          auth: { serviceAccount: { name: 'reader' } },
        },
      });
      await waitForReady(storePath(ns, 'remote'), 'True', 'Valid');
      await createExternalSecret(ns, 'db', {
        refreshInterval: '2s',
        secretStoreRef: { name: 'remote' },
        data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
      });
      await waitForReady(esPath(ns, 'db'), 'True', 'SecretSynced');
      await waitForSecretValues(ns, 'db', { password: 'first-S3CRET' }, 'the first value');
      const before = await read<SecretObj>(secretPath(ns, 'db'));
      const hash = dataHash(before);

      // outage: the answers drip; only the provider's overall deadline ends each call
      relay.drip();
      const outageStarted = Date.now();
      // the value rotates at the source while capstan cannot read it
      await mergePatch(secretPath(remote, 'db'), {
        data: { password: Buffer.from('second-S3CRET').toString('base64') },
      });
      const down = await waitForReady(esPath(ns, 'db'), 'False', 'SecretSyncedError', 120_000);
      const message = readyOf(down)?.message ?? '';
      assert.match(message, /Secret "[^"]+\/db" of store "remote" failed: .*no answer within \d+(\.\d+)?s/);
      assert.ok(!message.includes('S3CRET'), 'the condition carries no value');
      assert.ok(relay.dripped > 0, 'the provider did reach the dripping server');
      const kept = await read<SecretObj>(secretPath(ns, 'db'));
      assert.ok(kept, 'the target Secret still exists');
      assert.equal(dataHash(kept), hash, 'the target Secret kept its data');
      assert.equal(kept.metadata.resourceVersion, before?.metadata.resourceVersion, 'nor was it rewritten');

      // recovery: the relay forwards again; the retry reads the rotated value
      relay.resume();
      await waitForReady(esPath(ns, 'db'), 'True', 'SecretSynced', 120_000);
      await waitForSecretValues(
        ns,
        'db',
        { password: 'second-S3CRET' },
        'the rotated value after recovery',
        60_000,
      );
      const after = await waitFor(
        async () => {
          const es = await read<{ status?: { refreshTime?: string } }>(esPath(ns, 'db'));
          const t = Date.parse(es?.status?.refreshTime ?? '');
          return t >= Math.floor(outageStarted / 1000) * 1000 ? es : undefined;
        },
        { timeoutMs: 30_000, what: 'a refreshTime after the outage' },
      );
      assert.ok(after.status?.refreshTime);
    } finally {
      await relay.close();
    }
  });
});
