/**
 * Kubernetes Events on capstan's custom resources (Applications, ExternalSecrets, stores, PushSecrets)
 * through the core Events API (`/api/v1/.../events`), recorded as client-go's event broadcaster records
 * them (ESO's recorder is client-go's; `kubectl describe` shows them):
 *
 *   queue       {@link recordEvent} never waits for the API server: the event goes on a bounded in-memory
 *               queue (client-go's 1,000) that a background sender empties, a few requests at a time; a
 *               full queue drops the event (client-go drops too) and counts it in
 *               `capstan_events_dropped_total{cause="queue_full"}`. A reconcile's worker therefore never
 *               holds its object for an event's round trip.
 *   correlator  client-go's EventCorrelator with its defaults ({@link EventCorrelator}): an event
 *               identical to one recorded before is a PATCH of that event's `count` and
 *               `lastTimestamp`; more than 10 distinct messages of one reason about one object within
 *               10 minutes become one "(combined from similar events): ..." event; a source may burst
 *               25 events about one object, then 1 every 5 minutes (the spam filter; dropped events are
 *               counted with cause `spam_filter`).
 *   shutdown    {@link flushEvents} sends what is queued before a graceful exit (main.ts, before a
 *               leader's write fence closes).
 *
 * Argo CD's application controller creates each event with its own request (its AuditLogger) and never
 * aggregates; capstan applies client-go's correlator to Application events as well, so a sync loop of
 * one app cannot flood the Events API. Recording is best effort: a failure is retried a few times
 * (transport errors, 429, 5xx), then logged at debug level and counted (`send_failed`); it never fails a
 * reconcile. Messages carry key names only.
 */
import os from 'node:os';
import client from 'prom-client';
import { KubeApiError, isNotFound } from '../kube/client';
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { registry } from '../common/metrics';

/** The component name events are reported from. */
export const EVENT_SOURCE = 'capstan';

/** The object an event is about. */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** What an event says. */
export interface EventNote {
  /** type - Normal or Warning. */
  type: 'Normal' | 'Warning';
  /** reason - CamelCase reason (Created, Updated, UpdateFailed, ...). */
  reason: string;
  /** message - a sentence without secret values. */
  message: string;
}

/** A core/v1 Event as capstan sends it. */
export interface CoreEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  involvedObject: {
    apiVersion?: string;
    kind?: string;
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
  /** RFC 3339. */
  firstTimestamp: string;
  /** RFC 3339. */
  lastTimestamp: string;
  count: number;
}

/** Events recorded but never sent, by cause: queue_full, spam_filter, send_failed. */
export const eventsDropped = new client.Counter({
  name: 'capstan_events_dropped_total',
  help: 'Kubernetes Events not sent, by cause (queue_full, spam_filter, send_failed).',
  labelNames: ['cause'],
  registers: [registry],
});

/** client-go's `maxQueuedEvents`: events waiting to be sent before new ones are dropped. */
export const EVENT_QUEUE_SIZE = 1000;
/** Requests the sender has in flight at most (client-go's sink sends one at a time per watcher). */
export const EVENT_SENDERS = 4;
/** Tries per event, for transport errors, 429 and 5xx (client-go: 12, 10 s apart). */
const MAX_TRIES = 3;
/** client-go's correlator defaults (tools/record/events_cache.go). */
const LRU_SIZE = 4096;
const AGGREGATE_MAX_EVENTS = 10;
const AGGREGATE_INTERVAL_MS = 600_000;
const SPAM_BURST = 25;
const SPAM_QPS = 1 / 300;
/** client-go's aggregate message prefix. */
export const COMBINED_PREFIX = '(combined from similar events): ';

/** A Map kept to `size` entries, least recently used out first (groupcache's lru, as client-go). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly size: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value as string);
  }
}

const objectKey = (e: CoreEvent): string[] => {
  const o = e.involvedObject;
  return [
    e.source.component,
    e.source.host ?? '',
    o.kind ?? '',
    o.namespace ?? '',
    o.name,
    o.uid ?? '',
    o.apiVersion ?? '',
  ];
};
/** client-go's getEventKey: source, object, type, reason, message. */
const eventKey = (e: CoreEvent): string => [...objectKey(e), e.type, e.reason, e.message].join('\u0000');
/** client-go's getSpamKey: source and object. */
const spamKey = (e: CoreEvent): string => objectKey(e).join('\u0000');
/** client-go's EventAggregatorByReasonFunc: source, object, type, reason, reporting controller/instance. */
const aggregateKey = (e: CoreEvent): string =>
  [...objectKey(e), e.type, e.reason, e.reportingComponent, e.reportingInstance].join('\u0000');

/** What the correlator makes of an event: send it (created, or a count PATCH of an earlier one), or skip it. */
export type Correlated = { event: CoreEvent; patch: boolean } | { skip: true };

/**
 * client-go's EventCorrelator with its default options (aggregation, de-duplication, spam filter, in
 * that order; tools/record/events_cache.go `EventCorrelate`).
 */
export class EventCorrelator {
  private readonly aggregates = new Lru<{ keys: Set<string>; lastMs: number }>(LRU_SIZE);
  private readonly seen = new Lru<{ count: number; first: string; name: string }>(LRU_SIZE);
  private readonly buckets = new Lru<{ tokens: number; atMs: number }>(LRU_SIZE);

  /** @param now - the clock in ms (tests pass their own). */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Correlates one new event (count 1, its own name).
   * @returns the event to send (with the name, count and first timestamp of the earlier identical one
   *   when `patch`), or `skip` when the spam filter holds it back.
   */
  correlate(fresh: CoreEvent): Correlated {
    const { event, key } = this.aggregate(fresh);
    const prev = this.seen.get(key);
    const observed = prev
      ? {
          ...event,
          metadata: { ...event.metadata, name: prev.name },
          firstTimestamp: prev.first,
          count: prev.count + 1,
        }
      : event;
    this.seen.set(key, {
      count: observed.count,
      first: observed.firstTimestamp,
      name: observed.metadata.name,
    });
    if (!this.accept(spamKey(observed))) return { skip: true };
    return { event: observed, patch: !!prev };
  }

  /** EventAggregator: past 10 distinct messages of one reason in 10 minutes, one combined event. */
  private aggregate(event: CoreEvent): { event: CoreEvent; key: string } {
    const now = this.now();
    const aKey = aggregateKey(event);
    let record = this.aggregates.get(aKey);
    if (!record || now - record.lastMs > AGGREGATE_INTERVAL_MS) record = { keys: new Set(), lastMs: now };
    record.keys.add(event.message);
    record.lastMs = now;
    this.aggregates.set(aKey, record);
    if (record.keys.size < AGGREGATE_MAX_EVENTS) return { event, key: eventKey(event) };
    // do not grow the set past the maximum (client-go pops any one key)
    record.keys.delete(record.keys.values().next().value as string);
    const at = new Date(now).toISOString();
    return {
      event: {
        ...event,
        metadata: { ...event.metadata, name: eventName(event.involvedObject.name, now) },
        message: COMBINED_PREFIX + event.message,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      },
      key: aKey,
    };
  }

  /** EventSourceObjectSpamFilter: a token bucket per source and object (burst 25, 1 per 300 s). */
  private accept(key: string): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: SPAM_BURST, atMs: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + ((now - b.atMs) / 1000) * SPAM_QPS);
    b.atMs = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(key, b);
    return ok;
  }
}

/** As client-go and Argo CD: `<object name>.<hex time>` (ms here, plus a random suffix). */
function eventName(name: string, nowMs: number): string {
  return `${name}.${nowMs.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
}

/** The Event a note about `subject` makes, stamped now. */
export function makeEvent(subject: EventSubject, note: EventNote, nowMs = Date.now()): CoreEvent {
  const name = subject.metadata.name ?? 'unknown';
  const at = new Date(nowMs).toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    // as kubectl and client-go: events about cluster-scoped objects go to the default namespace
    metadata: { name: eventName(name, nowMs), namespace: subject.metadata.namespace || 'default' },
    involvedObject: {
      apiVersion: subject.apiVersion,
      kind: subject.kind,
      name,
      namespace: subject.metadata.namespace,
      uid: subject.metadata.uid,
      resourceVersion: subject.metadata.resourceVersion,
    },
    reason: note.reason,
    message: note.message.slice(0, 1024),
    type: note.type,
    source: { component: EVENT_SOURCE, host: os.hostname() },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: os.hostname(),
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

/** Options of an {@link EventRecorder} (tests shrink them). */
export interface EventRecorderOptions {
  /** Events queued at most; default {@link EVENT_QUEUE_SIZE}. */
  queueSize?: number;
  /** Requests in flight at most; default {@link EVENT_SENDERS}. */
  senders?: number;
  /** Wait before a retry, ms, times the try number; default 1,000. */
  retryDelayMs?: number;
  /** The clock in ms. */
  now?: () => number;
}

/**
 * client-go's EventBroadcaster and sink for one client: {@link record} queues, a background sender
 * POSTs new events and PATCHes the count of repeated ones.
 */
export class EventRecorder {
  private readonly queue: Array<{ event: CoreEvent; patch: boolean }> = [];
  private inFlight = 0;
  private idle: Array<() => void> = [];
  private readonly correlator: EventCorrelator;
  private readonly queueSize: number;
  private readonly senders: number;
  private readonly retryDelayMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    opts: EventRecorderOptions = {},
  ) {
    this.queueSize = opts.queueSize ?? EVENT_QUEUE_SIZE;
    this.senders = opts.senders ?? EVENT_SENDERS;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.correlator = new EventCorrelator(this.now);
  }

  /** Events queued or being sent. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Queues an event about `subject`; returns at once (a full queue drops it, counted). */
  record(subject: EventSubject, note: EventNote): void {
    if (this.queue.length >= this.queueSize) {
      eventsDropped.inc({ cause: 'queue_full' });
      return;
    }
    const c = this.correlator.correlate(makeEvent(subject, note, this.now()));
    if ('skip' in c) {
      eventsDropped.inc({ cause: 'spam_filter' });
      return;
    }
    this.queue.push(c);
    this.pump();
  }

  /**
   * Resolves once every queued event is sent (or given up), or after `timeoutMs`.
   * @returns the events still pending at the timeout (0 when flushed).
   */
  async flush(timeoutMs: number): Promise<number> {
    if (this.pending === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => this.idle.push(r)),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.pending;
  }

  private pump(): void {
    while (this.inFlight < this.senders && this.queue.length) {
      const item = this.queue.shift()!;
      this.inFlight++;
      void this.send(item).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.pending === 0) this.idle.splice(0).forEach((r) => r());
      });
    }
  }

  /** client-go's recordToSink: PATCH a repeated event (create it when it is gone), POST a new one; retried. */
  private async send({ event, patch }: { event: CoreEvent; patch: boolean }): Promise<void> {
    const base = `/api/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`;
    for (let attempt = 1; ; attempt++) {
      try {
        if (patch) {
          try {
            await this.client.request('PATCH', `${base}/${encodeURIComponent(event.metadata.name)}`, {
              body: { count: event.count, lastTimestamp: event.lastTimestamp, message: event.message },
              contentType: 'application/merge-patch+json',
            });
            return;
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        await this.client.request('POST', base, { body: event });
        return;
      } catch (err) {
        if (attempt < MAX_TRIES && retriable(err)) {
          await new Promise((r) => setTimeout(r, this.retryDelayMs * attempt).unref());
          continue;
        }
        eventsDropped.inc({ cause: 'send_failed' });
        this.log.debug(
          `Could not record event ${event.reason} on ${event.involvedObject.kind ?? 'object'} ${event.involvedObject.name}.`,
          {
            error: (err as Error).message,
          },
        );
        return;
      }
    }
  }
}

/** Transport errors, throttling and server errors are worth another try; a refusal is not. */
function retriable(err: unknown): boolean {
  return err instanceof KubeApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
}

const recorders = new WeakMap<KubeClient, EventRecorder>();
/** Recorders with events pending, for {@link flushEvents}. */
const active = new Set<EventRecorder>();

/** The recorder of `client` (one per client, made on first use). */
export function recorderFor(client: KubeClient, log: Logger): EventRecorder {
  let r = recorders.get(client);
  if (!r) {
    r = new EventRecorder(client, log);
    recorders.set(client, r);
  }
  return r;
}

/**
 * Records one event about `subject` through `client`'s {@link EventRecorder}: queued and sent in the
 * background (see the module comment), so the returned promise is already resolved; callers may await it.
 * @param note - type, reason and message.
 */
export function recordEvent(
  client: KubeClient,
  log: Logger,
  subject: EventSubject,
  note: EventNote,
): Promise<void> {
  const r = recorderFor(client, log);
  r.record(subject, note);
  if (r.pending) active.add(r);
  return Promise.resolve();
}

/**
 * Sends every queued event of every recorder (graceful shutdown), waiting `timeoutMs` at most.
 * @returns the events still pending at the timeout.
 */
export async function flushEvents(timeoutMs: number): Promise<number> {
  const left = await Promise.all([...active].map((r) => r.flush(timeoutMs)));
  for (const r of active) if (r.pending === 0) active.delete(r);
  return left.reduce((a, b) => a + b, 0);
}
