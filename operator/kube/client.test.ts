import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import {
  KubeClient,
  LeadershipLostError,
  WatchEvent,
  WatchLineDecoder,
  WatchStreamError,
  isMutating,
  parseWatchLine,
} from './client';

test('WatchLineDecoder joins chunks into lines and keeps the partial tail', () => {
  const d = new WatchLineDecoder();
  assert.deepEqual(d.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(d.push(':2}\n\n  \n{"c":3}'), ['{"b":2}']);
  assert.deepEqual(d.push('\n'), ['{"c":3}']);
});

test('WatchLineDecoder refuses a line that grows past its limit without a newline', () => {
  const d = new WatchLineDecoder(10);
  assert.deepEqual(d.push('0123456789'), []);
  assert.throws(() => d.push('x'), WatchStreamError);
  // The buffer was dropped: the decoder does not keep the oversized text.
  assert.deepEqual(d.push('{}\n'), ['{}']);
});

test('parseWatchLine accepts events and ERROR statuses', () => {
  const e = parseWatchLine('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"3"}}}');
  assert.equal(e.type, 'ADDED');
  const err = parseWatchLine('{"type":"ERROR","object":{"kind":"Status","code":410}}');
  assert.equal(err.type, 'ERROR');
  assert.equal(
    parseWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}').type,
    'BOOKMARK',
  );
});

test('parseWatchLine rejects malformed lines without quoting them', () => {
  const secret = 's3cr3t-value';
  for (const line of [
    `{"type":"ADDED","object":{"data":{"k":"${secret}"`,
    `["${secret}"]`,
    'null',
    `{"type":"WHATEVER","object":{"metadata":{},"data":"${secret}"}}`,
    '{"type":"MODIFIED"}',
    `{"type":"MODIFIED","object":{"data":"${secret}"}}`,
  ]) {
    assert.throws(
      () => parseWatchLine(line),
      (err: unknown) => err instanceof WatchStreamError && !err.message.includes(secret),
      line,
    );
  }
});

test('isMutating: POST, PUT, PATCH, DELETE only', () => {
  assert.deepEqual(['GET', 'HEAD', 'POST', 'PUT', 'patch', 'DELETE', 'OPTIONS'].map(isMutating), [
    false,
    false,
    true,
    true,
    true,
    true,
    false,
  ]);
});

/** A local HTTP server standing in for the API server's transport (not for its semantics). */
async function withServer(
  handler: http.RequestListener,
  fn: (client: KubeClient, requests: string[]) => Promise<void>,
): Promise<void> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  try {
    await fn(new KubeClient(kc), requests);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test('a malformed watch line rejects the watch after the good events; nothing throws out of the stream', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}\n');
        res.write('{"type":"MODIFIED","object":{"metadata":{"na');
        res.write('me":"a","resourceVersion":"2"}}}\n{"type":"ADDED","obj\n');
        // Keep the stream open: the client must end it itself.
      },
      async (client) => {
        const seen: string[] = [];
        const abort = new AbortController();
        await assert.rejects(
          client.watch(
            '/api/v1/configmaps',
            {},
            (e: WatchEvent<{ metadata: { resourceVersion: string } }>) =>
              seen.push(`${e.type}@${e.object.metadata.resourceVersion}`),
            abort.signal,
          ),
          WatchStreamError,
        );
        assert.deepEqual(seen, ['ADDED@1', 'MODIFIED@2']);
      },
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

test('a throwing event handler rejects the watch instead of escaping the stream handler', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
    },
    async (client) => {
      await assert.rejects(
        client.watch(
          '/api/v1/pods',
          {},
          () => {
            throw new Error('handler bug');
          },
          new AbortController().signal,
        ),
        /handler bug/,
      );
    },
  );
});

test('the write fence refuses every mutating request before it is sent; reads pass', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    },
    async (client, requests) => {
      let allowed = true;
      const checked: string[] = [];
      client.setWriteFence({
        check: (method, path) => {
          checked.push(`${method} ${path}`);
          if (!allowed) throw new LeadershipLostError('Leadership lost: test');
        },
      });
      await client.request('PATCH', '/api/v1/namespaces/a/configmaps/x', { body: {} });
      allowed = false;
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
        await assert.rejects(
          client.request(method, '/api/v1/namespaces/a/configmaps/x', { body: {} }),
          LeadershipLostError,
        );
      await client.request('GET', '/api/v1/namespaces/a/configmaps/x');
      assert.deepEqual(requests, [
        'PATCH /api/v1/namespaces/a/configmaps/x',
        'GET /api/v1/namespaces/a/configmaps/x',
      ]);
      assert.equal(checked.length, 5, 'GET is never checked');
      client.setWriteFence(undefined);
      await client.request('DELETE', '/api/v1/namespaces/a/configmaps/x');
      assert.equal(requests.length, 3, 'without a fence, writes go out');
    },
  );
});

test('impersonating(user) sends Impersonate-User on every request; the parent client sends none', async () => {
  const seen: Array<string | undefined> = [];
  await withServer(
    (req, res) => {
      seen.push(req.headers['impersonate-user'] as string | undefined);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    },
    async (client) => {
      const as = client.impersonating('system:serviceaccount:team-a:deployer');
      assert.equal(as.actingAs, 'system:serviceaccount:team-a:deployer');
      assert.equal(client.actingAs, undefined);
      await as.request('GET', '/api/v1/namespaces/team-a/configmaps');
      await as.request('PATCH', '/api/v1/namespaces/team-a/configmaps/x', { body: {} });
      await client.request('GET', '/api/v1/namespaces');
    },
  );
  assert.deepEqual(seen, [
    'system:serviceaccount:team-a:deployer',
    'system:serviceaccount:team-a:deployer',
    undefined,
  ]);
});

test("an impersonating client obeys its parent's write fence, also one installed after it was made", async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    },
    async (client, requests) => {
      const as = client.impersonating('system:serviceaccount:team-a:deployer');
      client.setWriteFence({
        check(method, path) {
          throw new LeadershipLostError(`not the leader: ${method} ${path}`);
        },
      });
      await assert.rejects(
        as.request('DELETE', '/api/v1/namespaces/team-a/configmaps/x'),
        LeadershipLostError,
      );
      await as.request('GET', '/api/v1/namespaces/team-a/configmaps/x');
      assert.deepEqual(requests, ['GET /api/v1/namespaces/team-a/configmaps/x']);
    },
  );
});

test('drainWrites waits for the writes in flight (also of an impersonating client), not for reads, up to its timeout', async () => {
  const held: http.ServerResponse[] = [];
  await withServer(
    (_req, res) => held.push(res),
    async (client, requests) => {
      assert.equal(await client.drainWrites(1000), 0, 'nothing in flight: resolves at once');
      const read = client.request('GET', '/api/v1/namespaces/a/configmaps/r');
      const write = client.request('PATCH', '/api/v1/namespaces/a/configmaps/w', { body: {} });
      const asOther = client
        .impersonating('u2')
        .request('POST', '/api/v1/namespaces/a/configmaps', { body: {} });
      await waitUntil(() => held.length === 3);
      assert.equal(await client.drainWrites(50), 2, 'two writes are unanswered at the timeout');
      let drained = false;
      const draining = client.drainWrites(10_000).then((left) => {
        drained = true;
        return left;
      });
      // Answer the read first: drainWrites does not wait for it, and is still waiting.
      const answer = (path: string) => {
        const i = requests.findIndex((r) => r.endsWith(path));
        held[i].writeHead(200, { 'Content-Type': 'application/json' });
        held[i].end('{}');
      };
      answer('/configmaps/r');
      await read;
      assert.equal(drained, false, 'a read does not count');
      answer('/configmaps/w');
      answer('/configmaps');
      await Promise.all([write, asOther]);
      assert.equal(await draining, 0);
    },
  );
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition met within 2 s');
}
