import assert from 'node:assert/strict';
import { Command } from 'commander';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { boundedRequest } from './httpcall';
import {
  checkDestination,
  DEFAULT_NETWORK_POLICY,
  NetworkPolicy,
  parseCidr,
  pinnedLookup,
  type Resolver,
} from './netpolicy';
import { addProviderOptions, providerLimitsFromOptions } from './options';
import { ProviderError } from './types';

/** A resolver double: fixed answers by host, counting calls. */
function resolverOf(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const r = (async (host: string) => {
    calls.push(host);
    const list = table[host];
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
  }) as Resolver & { calls: string[] };
  r.calls = calls;
  return r;
}

describe('NetworkPolicy defaults', () => {
  const denied = [
    '169.254.169.254', // AWS, GCP, Azure, OCI metadata
    '169.254.0.23', // Tencent metadata
    'fe80::1',
    '[fe80::1]',
    'fe80::1%eth0',
    'fd00:ec2::254', // AWS IPv6 metadata
    '100.100.100.200', // Alibaba metadata
    '::ffff:169.254.169.254', // IPv4-mapped
    '::ffff:a9fe:a9fe',
    '0.0.0.0', // reaches the local host on Linux
    '::',
  ];
  for (const a of denied) it(`refuses ${a}`, () => assert.ok(DEFAULT_NETWORK_POLICY.refusal(a)));
  const allowed = [
    '127.0.0.1',
    '::1',
    '10.96.0.1',
    '192.168.1.10',
    'fd00:ec2::253',
    '100.100.100.201',
    '8.8.8.8',
  ];
  for (const a of allowed)
    it(`allows ${a} (loopback and private ranges are the normal in-cluster use)`, () =>
      assert.equal(DEFAULT_NETWORK_POLICY.refusal(a), undefined));
});

describe('NetworkPolicy allow lists', () => {
  const p = new NetworkPolicy({ allowCidrs: ['10.0.0.0/8'], allowHosts: ['*.example.com', 'vault.local'] });
  it('only allowed ranges when an allow list is set', () => {
    assert.equal(p.refusal('10.1.2.3'), undefined);
    assert.match(p.refusal('192.168.1.1') ?? '', /--webhook-allow-cidrs/);
  });
  it('an allowed host name passes the allow lists', () => {
    assert.ok(p.hostAllowed('a.example.com') && p.hostAllowed('VAULT.local.'));
    assert.ok(!p.hostAllowed('example.com') && !p.hostAllowed('evil-example.com'));
    assert.equal(p.refusal('192.168.1.1', true), undefined);
  });
  it('the deny list always wins, also over an allowed host', () => {
    assert.match(p.refusal('169.254.169.254', true) ?? '', /--webhook-deny-cidrs/);
  });
  it('an empty deny list denies nothing but the unspecified addresses', () => {
    const open = new NetworkPolicy({ denyCidrs: [] });
    assert.equal(open.refusal('169.254.169.254'), undefined);
    assert.ok(open.refusal('0.0.0.0'));
  });
});

describe('flags', () => {
  const parse = (...argv: string[]) => {
    const cmd = addProviderOptions(new Command().exitOverride(), {});
    cmd.parse(argv, { from: 'user' });
    return providerLimitsFromOptions(cmd.opts());
  };
  it('defaults', () => {
    const l = parse();
    assert.deepEqual(l.network.options.denyCidrs, [
      '169.254.0.0/16',
      'fe80::/10',
      'fd00:ec2::254/128',
      '100.100.100.200/32',
    ]);
    assert.equal(l.network.restricted, false);
    assert.deepEqual(
      [l.webhookMaxTimeoutMs, l.kubernetesTimeoutMs, l.maxResponseBytes],
      [30_000, 30_000, 4 * 1024 * 1024],
    );
  });
  it('lists and numbers', () => {
    const l = parse(
      '--webhook-deny-cidrs',
      '127.0.0.0/8, ::1',
      '--webhook-allow-hosts',
      'vault.example.com',
      '--webhook-max-timeout',
      '5',
      '--provider-max-response-bytes',
      '1024',
    );
    assert.ok(l.network.refusal('127.0.0.1') && l.network.refusal('::1'));
    assert.ok(l.network.restricted && l.network.hostAllowed('vault.example.com'));
    assert.equal(l.webhookMaxTimeoutMs, 5000);
    assert.equal(l.maxResponseBytes, 1024);
  });
  const bad: Array<[string[], RegExp]> = [
    [['--webhook-deny-cidrs', '169.254.0.0/33'], /--webhook-deny-cidrs: "169.254.0.0\/33" is not a CIDR/],
    [['--webhook-allow-cidrs', 'example.com'], /--webhook-allow-cidrs: "example.com" is not a CIDR/],
    [['--webhook-allow-hosts', 'http://x'], /--webhook-allow-hosts: "http:\/\/x" is not a host name/],
    [['--webhook-max-timeout', '0'], /--webhook-max-timeout must be a positive number/],
    [['--provider-timeout', 'soon'], /--provider-timeout must be a positive number/],
  ];
  for (const [argv, re] of bad)
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parse(...argv), re));
  it('parseCidr: a bare address is a single host', () =>
    assert.deepEqual(parseCidr('fd00:ec2::254', 'f'), {
      address: 'fd00:ec2::254',
      prefix: 128,
      family: 'ipv6',
    }));
});

describe('checkDestination', () => {
  it('checks every resolved address, not only the first', async () => {
    const r = resolverOf({ 'mixed.test': ['10.0.0.1', '169.254.169.254'] });
    await assert.rejects(
      checkDestination(new URL('http://mixed.test/x'), DEFAULT_NETWORK_POLICY, r, 'W'),
      (e: unknown) =>
        e instanceof ProviderError &&
        !e.retryable &&
        e.message ===
          'W: "mixed.test" resolves to 169.254.169.254, which is in a range the operator denies (--webhook-deny-cidrs); capstan does not connect to it',
    );
  });
  it('an IP literal is checked without resolving', async () => {
    const r = resolverOf({});
    await assert.rejects(
      checkDestination(new URL('http://[::ffff:169.254.169.254]/'), DEFAULT_NETWORK_POLICY, r, 'W'),
      /W: the address ::ffff:a9fe:a9fe is in a range the operator denies/,
    );
    assert.deepEqual(r.calls, []);
  });
  it('a name that does not resolve is retryable', async () => {
    await assert.rejects(
      checkDestination(new URL('http://nowhere.test/'), DEFAULT_NETWORK_POLICY, resolverOf({}), 'W'),
      (e: unknown) =>
        e instanceof ProviderError && e.retryable && /does not resolve \(ENOTFOUND\)/.test(e.message),
    );
  });
  it('returns the first checked address', async () => {
    const r = resolverOf({ 'ok.test': ['127.0.0.1', '::1'] });
    assert.deepEqual(await checkDestination(new URL('http://ok.test/'), DEFAULT_NETWORK_POLICY, r, 'W'), {
      address: '127.0.0.1',
      family: 4,
    });
  });
  it('pinnedLookup answers both callback shapes', () => {
    const lookup = pinnedLookup({ address: '127.0.0.1', family: 4 }) as unknown as (
      h: string,
      o: object,
      cb: (...a: unknown[]) => void,
    ) => void;
    lookup('x', {}, (...a) => assert.deepEqual(a, [null, '127.0.0.1', 4]));
    lookup('x', { all: true }, (...a) => assert.deepEqual(a, [null, [{ address: '127.0.0.1', family: 4 }]]));
  });
});

describe('boundedRequest against a real server on 127.0.0.1', () => {
  let written = 0;
  let closedAt = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/ok') return void res.end('fine');
    if (req.url === '/drip') {
      // headers at once, then one byte every 50 ms: an idle timeout never fires
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      return void res.write('x');
    }
    if (req.url === '/huge') {
      // an endless body without Content-Length, counting what was written until the client hung up
      written = 0;
      closedAt = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = (): void => {
        while (!closedAt && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => (closedAt = written));
      return pump();
    }
    res.statusCode = 404;
    res.end();
  });
  let base = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const call = (path: string, extra: Partial<Parameters<typeof boundedRequest>[0]> = {}) =>
    boundedRequest({
      url: new URL(base + path),
      method: 'GET',
      deadlineMs: 5000,
      maxBytes: 1024 * 1024,
      what: 'T',
      sizeFlag: '--provider-max-response-bytes',
      ...extra,
    });

  it('a complete answer', async () => {
    const a = await call('/ok');
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'fine');
  });

  it('a slow drip fails at the overall deadline, retryable', async () => {
    const start = Date.now();
    await assert.rejects(
      call('/drip', { deadlineMs: 400 }),
      (e: unknown) => e instanceof ProviderError && e.retryable && e.message === 'T: no answer within 0.4s',
    );
    const took = Date.now() - start;
    assert.ok(took >= 390 && took < 2000, `took ${took} ms`);
  });

  it('a declared Content-Length above the cap is refused before reading', async () => {
    await assert.rejects(
      call('/declared'),
      (e: unknown) =>
        e instanceof ProviderError &&
        e.retryable &&
        e.message === 'T: the response is larger than 1048576 bytes (--provider-max-response-bytes)',
    );
  });

  it('an endless body is cut at the cap: the server is hung up on soon after', async () => {
    await assert.rejects(call('/huge'), /T: the response is larger than 1048576 bytes/);
    await new Promise<void>((r) => {
      const t = setInterval(() => closedAt && (clearInterval(t), r()), 10);
    });
    // socket buffers hold a few MB at most; without the cap the server would write all 512 MiB
    assert.ok(closedAt < 64 * 1024 * 1024, `the server wrote ${closedAt} bytes before the client hung up`);
  });

  it('the connection goes to the checked address (pinned), never re-resolved', async () => {
    // "pinned.test" is unknown to the system resolver: only the pinned lookup can reach the server
    const port = new URL(base).port;
    const r = resolverOf({ 'pinned.test': ['127.0.0.1'] });
    const a = await call('/ok', {
      url: new URL(`http://pinned.test:${port}/ok`),
      policy: DEFAULT_NETWORK_POLICY,
      resolver: r,
    });
    assert.equal(a.body.toString(), 'fine');
    assert.deepEqual(r.calls, ['pinned.test']);
  });

  it('a denied destination is refused before any connection, whether or not something listens', async () => {
    const deny = new NetworkPolicy({ denyCidrs: ['127.0.0.0/8'] });
    const connections: number[] = [];
    server.on('connection', () => connections.push(1));
    const port = Number(new URL(base).port);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const messages: string[] = [];
    for (const p of [port, freePort]) {
      await assert.rejects(
        call('/ok', { url: new URL(`http://127.0.0.1:${p}/ok`), policy: deny }),
        (e: unknown) => {
          assert.ok(e instanceof ProviderError && !e.retryable);
          messages.push((e as Error).message);
          return true;
        },
      );
    }
    assert.equal(messages[0], messages[1], 'the same answer for a listening and a closed port');
    assert.equal(connections.length, 0);
  });
});
