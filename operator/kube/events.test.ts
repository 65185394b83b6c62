import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, KubeClient } from './client';
import {
  COMBINED_PREFIX,
  EventCorrelator,
  EventRecorder,
  eventsDropped,
  flushEvents,
  makeEvent,
  recordEvent,
} from './events';
import { createLogger } from '../log';

const log = createLogger('error');
const es = (name = 'db', uid = 'u1') => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ExternalSecret',
  metadata: { name, namespace: 'ns', uid },
});
const note = (message = 'Updated Secret', reason = 'Updated') => ({
  type: 'Normal' as const,
  reason,
  message,
});

interface Sent {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/** A client whose requests are recorded and answered by `answer` (after `gate` resolves, when given). */
function fakeClient(answer: (s: Sent) => unknown = () => ({}), gate?: Promise<void>) {
  const sent: Sent[] = [];
  const client = {
    request: async (method: string, path: string, opts: { body: Record<string, unknown> }) => {
      const s = { method, path, body: opts.body };
      sent.push(s);
      if (gate) await gate;
      const a = answer(s);
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as KubeClient;
  return { client, sent };
}

async function dropped(cause: string): Promise<number> {
  const m = await eventsDropped.get();
  return m.values.find((v) => v.labels.cause === cause)?.value ?? 0;
}

test('an identical event is a count PATCH of the first one (client-go dedupe), a new message a new event', () => {
  let now = 1_000_000;
  const c = new EventCorrelator(() => now);
  const first = c.correlate(makeEvent(es(), note(), now));
  assert.ok(!('skip' in first) && !first.patch);
  now += 5_000;
  const again = c.correlate(makeEvent(es(), note(), now));
  assert.ok(!('skip' in again));
  assert.equal(again.patch, true);
  assert.equal(again.event.metadata.name, first.event.metadata.name);
  assert.equal(again.event.count, 2);
  assert.equal(again.event.firstTimestamp, first.event.firstTimestamp);
  assert.equal(again.event.lastTimestamp, new Date(now).toISOString());
  const other = c.correlate(makeEvent(es(), note('Updated Secret again'), now));
  assert.ok(!('skip' in other) && !other.patch);
  // another object (uid) is another event
  const elsewhere = c.correlate(makeEvent(es('db', 'u2'), note(), now));
  assert.ok(!('skip' in elsewhere) && !elsewhere.patch);
});

test('the 10th distinct message of one reason within 10 minutes is combined (client-go aggregation)', () => {
  let now = 0;
  const c = new EventCorrelator(() => now);
  for (let i = 1; i < 10; i++) {
    const r = c.correlate(makeEvent(es(), note(`m${i}`), now));
    assert.ok(!('skip' in r));
    assert.equal(r.event.message, `m${i}`);
  }
  const tenth = c.correlate(makeEvent(es(), note('m10'), now));
  assert.ok(!('skip' in tenth));
  assert.equal(tenth.event.message, `${COMBINED_PREFIX}m10`);
  assert.equal(tenth.patch, false);
  // the next one of that reason counts on the combined event
  const eleventh = c.correlate(makeEvent(es(), note('m11'), now));
  assert.ok(!('skip' in eleventh));
  assert.equal(eleventh.patch, true);
  assert.equal(eleventh.event.metadata.name, tenth.event.metadata.name);
  assert.equal(eleventh.event.count, 2);
  // another reason is not combined
  const other = c.correlate(makeEvent(es(), note('x', 'Deleted'), now));
  assert.ok(!('skip' in other) && other.event.message === 'x');
  // after 10 quiet minutes the messages stand alone again
  now += 600_001;
  const later = c.correlate(makeEvent(es(), note('m12'), now));
  assert.ok(!('skip' in later) && later.event.message === 'm12');
});

test('the spam filter lets 25 events about one object through, then 1 per 5 minutes', () => {
  let now = 0;
  const c = new EventCorrelator(() => now);
  const sent = () => {
    let n = 0;
    for (let i = 0; i < 40; i++)
      if (!('skip' in c.correlate(makeEvent(es(), note(`same ${i % 3}`), now)))) n++;
    return n;
  };
  assert.equal(sent(), 25);
  now += 300_000;
  assert.equal(sent(), 1);
  // another object has its own bucket
  assert.ok(!('skip' in c.correlate(makeEvent(es('other', 'u9'), note(), now))));
});

test('recordEvent returns before the API answers; flushEvents waits for the sends', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const { client, sent } = fakeClient(() => ({}), gate);
  await recordEvent(client, log, es(), note());
  await recordEvent(
    client,
    log,
    { kind: 'ClusterSecretStore', metadata: { name: 'store' } },
    note('Valid', 'Valid'),
  );
  assert.equal(sent.length, 2, 'sent in the background');
  assert.equal(await flushEvents(20), 2, 'still unanswered');
  open();
  assert.equal(await flushEvents(1000), 0);
  assert.equal(sent[0].method, 'POST');
  assert.equal(sent[0].path, '/api/v1/namespaces/ns/events');
  assert.equal(sent[0].body.reason, 'Updated');
  assert.deepEqual((sent[0].body.involvedObject as { uid: string }).uid, 'u1');
  // a cluster-scoped object's events go to the default namespace, as client-go's
  assert.equal(sent[1].path, '/api/v1/namespaces/default/events');
});

test('a repeated event PATCHes count and lastTimestamp; a PATCH of a vanished event creates it', async () => {
  let gone = false;
  const { client, sent } = fakeClient((s) =>
    s.method === 'PATCH' && gone ? new KubeApiError(404, 'NotFound', 'gone') : {},
  );
  const r = new EventRecorder(client, log);
  r.record(es(), note());
  await r.flush(1000);
  r.record(es(), note());
  await r.flush(1000);
  assert.deepEqual(
    sent.map((s) => s.method),
    ['POST', 'PATCH'],
  );
  const name = (sent[0].body.metadata as { name: string }).name;
  assert.equal(sent[1].path, `/api/v1/namespaces/ns/events/${name}`);
  assert.equal(sent[1].body.count, 2);
  assert.ok(sent[1].body.lastTimestamp);
  gone = true;
  r.record(es(), note());
  await r.flush(1000);
  assert.deepEqual(
    sent.map((s) => s.method),
    ['POST', 'PATCH', 'PATCH', 'POST'],
  );
  assert.equal((sent[3].body as { count: number }).count, 3);
});

test('a full queue drops events and counts them; at most `senders` requests are in flight', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const { client, sent } = fakeClient(() => ({}), gate);
  const r = new EventRecorder(client, log, { queueSize: 3, senders: 2 });
  const before = await dropped('queue_full');
  for (let i = 0; i < 8; i++) r.record(es(`app${i}`, `u${i}`), note());
  assert.equal(sent.length, 2, 'two in flight');
  assert.equal(r.pending, 5, '2 in flight + 3 queued');
  assert.equal((await dropped('queue_full')) - before, 3);
  open();
  assert.equal(await r.flush(1000), 0);
  assert.equal(sent.length, 5);
});

test('transport and server errors are retried; a refusal is dropped and counted', async () => {
  let fail = 2;
  const { client, sent } = fakeClient((s) => {
    if ((s.body.reason as string) === 'Refused') return new KubeApiError(422, 'Invalid', 'no');
    return fail-- > 0 ? new KubeApiError(503, 'ServiceUnavailable', 'busy') : {};
  });
  const r = new EventRecorder(client, log, { retryDelayMs: 1 });
  const before = await dropped('send_failed');
  r.record(es(), note());
  r.record(es('x', 'ux'), note('no', 'Refused'));
  assert.equal(await r.flush(1000), 0);
  assert.equal(sent.filter((s) => s.body.reason === 'Updated').length, 3, 'two failures, then sent');
  assert.equal(sent.filter((s) => s.body.reason === 'Refused').length, 1, 'not retried');
  assert.equal((await dropped('send_failed')) - before, 1);
});
