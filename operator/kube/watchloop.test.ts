import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, RequestOptions, WatchEvent, WatchStreamError } from './client';
import type { KubeObject } from './object';
import { WatchLoop, WatchLoopClient, WatchLoopClock, WatchLoopEvent, watchRetryDelayMs } from './watchloop';

const obj = (name: string, rv: string, namespace = 'ns'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, resourceVersion: rv },
});

type Emit = (e: WatchEvent<unknown>) => void;
/** One scripted watch call: emits, then resolves (stream ended) or throws (stream failed). */
type WatchStep = (emit: Emit) => Promise<void> | void;

/** A fake list+watch transport: list pages and watch calls are scripted; calls are recorded. */
class FakeStream implements WatchLoopClient {
  readonly calls: string[] = [];
  /** The next list answers (one entry per page, or an error to throw). */
  lists: Array<{ items: KubeObject[]; rv: string; continue?: string } | Error> = [];
  watches: WatchStep[] = [];
  private parked?: () => void;
  readonly idle: Promise<void>;

  constructor() {
    this.idle = new Promise((r) => (this.parked = r));
  }

  async request<T>(_method: string, _path: string, opts: RequestOptions = {}): Promise<T> {
    const q = opts.query ?? {};
    this.calls.push(`LIST${q.continue ? ` continue=${String(q.continue)}` : ''}`);
    const next = this.lists.shift();
    if (!next) throw new Error('unexpected list');
    if (next instanceof Error) throw next;
    return { metadata: { resourceVersion: next.rv, continue: next.continue }, items: next.items } as T;
  }

  async watch<T>(
    _path: string,
    query: RequestOptions['query'],
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    assert.equal(query?.allowWatchBookmarks, true);
    this.calls.push(`WATCH rv=${String(query?.resourceVersion)}`);
    const step = this.watches.shift();
    if (!step) {
      // Script done: park until the test stops the loop.
      this.parked?.();
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      return;
    }
    await step(onEvent as Emit);
  }
}

/** A clock whose sleeps return at once and advance time; each sleep is recorded. */
function fakeClock(): WatchLoopClock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    random: () => 0.5,
  };
}

/** Runs a loop over a scripted stream until the script is exhausted; returns what it reported. */
async function runLoop(stream: FakeStream, clock = fakeClock(), failFast = false) {
  const events: string[] = [];
  const errors: string[] = [];
  const recovered: number[] = [];
  const loop = new WatchLoop(stream, {
    path: '/api/v1/configmaps',
    apiVersion: 'v1',
    kind: 'ConfigMap',
    watchTimeoutSeconds: 60,
    clock,
    onEvent: (e: WatchLoopEvent) =>
      events.push(
        `${e.type}${e.listed ? '(list)' : ''} ${e.object.metadata.name}@${e.object.metadata.resourceVersion ?? ''}`,
      ),
    onError: (err, failures, retryInMs) => errors.push(`${failures}:${retryInMs}:${(err as Error).message}`),
    onRecovered: (n) => recovered.push(n),
  });
  const started = loop.start(failFast);
  await Promise.race([stream.idle, loop.done()]);
  loop.stop();
  await loop.done();
  return { events, errors, recovered, started, loop };
}

test('watchRetryDelayMs doubles from the base, jitters between half and all, and caps at the maximum', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => watchRetryDelayMs(n, 500, 30_000, 0)),
    [250, 500, 1000, 2000],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => watchRetryDelayMs(n, 500, 30_000, 0.999999)),
    [500, 1000, 2000],
  );
  assert.equal(watchRetryDelayMs(20, 500, 30_000, 0.999999), 30_000);
  assert.equal(watchRetryDelayMs(20, 500, 30_000, 0), 15_000);
});

test('lists every key, then watches from the list resourceVersion; a bookmark moves the resume point', async () => {
  const s = new FakeStream();
  s.lists = [{ items: [obj('a', '5'), obj('b', '6')], rv: '10' }];
  s.watches = [
    (emit) => {
      emit({ type: 'MODIFIED', object: obj('a', '11') });
      emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });
    },
  ];
  const r = await runLoop(s);
  assert.deepEqual(r.events, ['ADDED(list) a@5', 'ADDED(list) b@6', 'MODIFIED a@11']);
  assert.deepEqual(s.calls, ['LIST', 'WATCH rv=10', 'WATCH rv=15']);
  assert.deepEqual(r.errors, []);
  assert.equal(r.loop.size, 2);
  await r.started;
});

test('a list is read in pages at the first page resourceVersion', async () => {
  const s = new FakeStream();
  s.lists = [
    { items: [obj('a', '1')], rv: '20', continue: 'tok' },
    { items: [obj('b', '2')], rv: '21' },
  ];
  const r = await runLoop(s);
  assert.deepEqual(s.calls, ['LIST', 'LIST continue=tok', 'WATCH rv=20']);
  assert.deepEqual(r.events, ['ADDED(list) a@1', 'ADDED(list) b@2']);
});

test('failures are retried in-process with growing, capped backoff, resuming from the last resourceVersion', async () => {
  const s = new FakeStream();
  s.lists = [{ items: [obj('a', '1')], rv: '10' }];
  const down = () => {
    throw new KubeApiError(0, 'TransportError', 'connect ECONNREFUSED');
  };
  s.watches = [
    (emit) => emit({ type: 'MODIFIED', object: obj('a', '12') }),
    ...Array.from({ length: 9 }, () => down),
    (emit) => emit({ type: 'ADDED', object: obj('c', '40') }),
  ];
  const r = await runLoop(s);
  // Resumed from rv 12 every time: no re-list, nothing replayed.
  assert.deepEqual(s.calls, [
    'LIST',
    'WATCH rv=10',
    ...Array.from({ length: 10 }, () => 'WATCH rv=12'),
    'WATCH rv=40',
  ]);
  assert.deepEqual(r.events, ['ADDED(list) a@1', 'MODIFIED a@12', 'ADDED c@40']);
  // One report per attempt, delays 375, 750, ... capped at 30 s (random 0.5: three quarters of the step).
  assert.deepEqual(
    r.errors.map((e) => e.split(':').slice(0, 2).join(':')),
    ['1:375', '2:750', '3:1500', '4:3000', '5:6000', '6:12000', '7:22500', '8:22500', '9:22500'],
  );
  assert.ok(r.errors.every((e) => e.includes('ECONNREFUSED')));
  assert.deepEqual(r.recovered, [9]);
});

test('410 Gone, as an ERROR event or when opening, re-lists at once and reports vanished objects as DELETED', async () => {
  const s = new FakeStream();
  s.lists = [
    { items: [obj('a', '1'), obj('b', '2')], rv: '10' },
    { items: [obj('a', '30')], rv: '31' },
    { items: [obj('a', '30'), obj('d', '50')], rv: '51' },
  ];
  s.watches = [
    (emit) => {
      emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } });
      // Anything after the ERROR on the same stream is ignored.
      emit({ type: 'ADDED', object: obj('zzz', '99') });
    },
    () => {
      throw new KubeApiError(410, 'Gone', 'too old resource version');
    },
  ];
  const r = await runLoop(s);
  assert.deepEqual(s.calls, ['LIST', 'WATCH rv=10', 'LIST', 'WATCH rv=31', 'LIST', 'WATCH rv=51']);
  assert.deepEqual(r.events, [
    'ADDED(list) a@1',
    'ADDED(list) b@2',
    'ADDED(list) a@30',
    'DELETED(list) b@',
    'ADDED(list) a@30',
    'ADDED(list) d@50',
  ]);
  assert.deepEqual(r.errors, [], 'Gone is not a failure');
});

test('a malformed stream and other ERROR events are reported and the watch restarts from the last good resourceVersion', async () => {
  const s = new FakeStream();
  s.lists = [{ items: [], rv: '10' }];
  s.watches = [
    (emit) => {
      emit({ type: 'ADDED', object: obj('a', '11') });
      throw new WatchStreamError('watch stream sent a line that is not JSON (12 characters)');
    },
    (emit) => emit({ type: 'ERROR', object: { kind: 'Status', code: 500, message: 'etcd leader changed' } }),
  ];
  const r = await runLoop(s);
  assert.deepEqual(s.calls, ['LIST', 'WATCH rv=10', 'WATCH rv=11', 'WATCH rv=11']);
  assert.equal(r.errors.length, 2);
  assert.match(r.errors[0], /^1:375:watch stream sent a line that is not JSON/);
  assert.match(r.errors[1], /^2:750:etcd leader changed/);
});

test('a watch that closes at once without an event counts as a failure (no tight reconnect loop)', async () => {
  const s = new FakeStream();
  s.lists = [{ items: [], rv: '10' }];
  s.watches = [() => undefined, () => undefined];
  const r = await runLoop(s);
  assert.deepEqual(
    r.errors.map((e) => e.split(':').slice(0, 2).join(':')),
    ['1:375', '2:750'],
  );
});

test('a throwing handler does not stop the loop', async () => {
  const s = new FakeStream();
  s.lists = [{ items: [obj('a', '1')], rv: '10' }];
  s.watches = [(emit) => emit({ type: 'MODIFIED', object: obj('a', '11') })];
  const handlerErrors: unknown[] = [];
  const loop = new WatchLoop(s, {
    path: '/api/v1/configmaps',
    apiVersion: 'v1',
    clock: fakeClock(),
    watchTimeoutSeconds: 60,
    onEvent: () => {
      throw new Error('bug');
    },
    onHandlerError: (err) => handlerErrors.push(err),
  });
  await loop.start();
  await s.idle;
  loop.stop();
  await loop.done();
  assert.equal(handlerErrors.length, 2);
  assert.deepEqual(s.calls, ['LIST', 'WATCH rv=10', 'WATCH rv=11']);
});

test('a failed first list is retried with backoff; with failFast it rejects start() instead', async () => {
  const s = new FakeStream();
  s.lists = [new KubeApiError(429, 'TooManyRequests', 'storage is (re)initializing'), { items: [], rv: '3' }];
  const r = await runLoop(s);
  await r.started;
  assert.deepEqual(s.calls, ['LIST', 'LIST', 'WATCH rv=3']);
  assert.equal(r.errors.length, 1);

  const f = new FakeStream();
  f.lists = [new KubeApiError(404, 'NotFound', 'the server could not find the requested resource')];
  const loop = new WatchLoop(f, {
    path: '/x',
    apiVersion: 'v1',
    clock: fakeClock(),
    onEvent: () => undefined,
  });
  await assert.rejects(loop.start(true), /could not find/);
  await loop.done();
  assert.deepEqual(f.calls, ['LIST']);
});

test('list items get the list kind without its List suffix when no kind is given', async () => {
  const s = new FakeStream();
  s.request = async <T>() => {
    s.calls.push('LIST');
    return {
      kind: 'ApplicationList',
      metadata: { resourceVersion: '1' },
      items: [{ metadata: { name: 'x' } }],
    } as T;
  };
  const kinds: string[] = [];
  const loop = new WatchLoop(s, {
    path: '/apis/argoproj.io/v1alpha1/applications',
    apiVersion: 'argoproj.io/v1alpha1',
    clock: fakeClock(),
    onEvent: (e) => kinds.push(`${e.object.apiVersion} ${e.object.kind}`),
  });
  await loop.start();
  loop.stop();
  await loop.done();
  assert.deepEqual(kinds, ['argoproj.io/v1alpha1 Application']);
});
