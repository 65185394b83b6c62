/**
 * The webhook provider against a real HTTP server on 127.0.0.1: values flow into the Secret; while the
 * server is down the Secret keeps its values and the ExternalSecret says why; once the server is back
 * the new value arrives.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNamespace, uniqueName } from './lib';
import {
  assertSecretValues,
  createExternalSecret,
  createSecretStore,
  esPath,
  readyOf,
  storePath,
  waitForReady,
  waitForSecretValues,
} from './externalsecret-lib';

/** A secrets API: `GET /secrets/<key>` answers `{"value": ...}`; counts the requests it serves. */
function secretsServer(values: Record<string, string>): http.Server & { requests: number } {
  const server = http.createServer((req, res) => {
    server.requests++;
    const key = decodeURIComponent((req.url ?? '').replace(/^\/secrets\//, ''));
    if (!(key in values)) {
      res.statusCode = 404;
      return void res.end('{}');
    }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ value: values[key] }));
  }) as http.Server & { requests: number };
  server.requests = 0;
  return server;
}

function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('ExternalSecret with the webhook provider', () => {
  test('values from an HTTP server; an outage keeps the Secret and sets a condition; recovery', async () => {
    const ns = uniqueName('es-webhook');
    await createNamespace(ns);
    let server = secretsServer({ api: 'token-1' });
    const port = await listen(server);
    try {
      await createSecretStore(
        ns,
        'webhook',
        {
          webhook: {
            url: `http://127.0.0.1:${port}/secrets/{{ .remoteRef.key }}`,
            result: { jsonPath: '$.value' },
            timeout: '2s',
          },
        },
        { refreshInterval: 2 },
      );
      await waitForReady(storePath(ns, 'webhook'), 'True', 'Valid');
      await createExternalSecret(ns, 'api', {
        refreshInterval: '2s',
        secretStoreRef: { name: 'webhook' },
        data: [{ secretKey: 'token', remoteRef: { key: 'api' } }],
      });
      await waitForReady(esPath(ns, 'api'), 'True', 'SecretSynced');
      await assertSecretValues(ns, 'api', { token: 'token-1' });

      // outage: the Secret keeps its last good value, Ready turns False with the reason
      await close(server);
      const down = await waitForReady(esPath(ns, 'api'), 'False', 'SecretSyncedError', 30_000);
      assert.match(
        readyOf(down)?.message ?? '',
        /could not (get secret data from provider|use secret store)/,
      );
      await assertSecretValues(ns, 'api', { token: 'token-1' });
      await sleep(3000);
      await assertSecretValues(ns, 'api', { token: 'token-1' });

      // recovery on the same port, with a rotated value
      server = secretsServer({ api: 'token-2' });
      await listen(server, port);
      await waitForReady(esPath(ns, 'api'), 'True', 'SecretSynced', 30_000);
      await waitForSecretValues(ns, 'api', { token: 'token-2' }, 'the rotated value after recovery', 30_000);
      assert.ok(server.requests > 0);
    } finally {
      await close(server);
    }
  });
});
