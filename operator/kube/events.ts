/**
 * Kubernetes Events on capstan's custom resources (Applications, ExternalSecrets, stores) through the
 * core Events API (`/api/v1/.../events`), as Argo CD's and ESO's event recorders write them
 * (`kubectl describe` shows them). Recording is best
 * effort: a failure is logged at debug level and never fails a reconcile. Messages carry key names only.
 */
import os from 'node:os';
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';

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

/**
 * Records one event about `subject`.
 * @param note - type, reason and message.
 */
export async function recordEvent(
  client: KubeClient,
  log: Logger,
  subject: EventSubject,
  note: EventNote,
): Promise<void> {
  const { type, reason, message } = note;
  const name = subject.metadata.name ?? 'unknown';
  // as kubectl and client-go: events about cluster-scoped objects go to the default namespace
  const namespace = subject.metadata.namespace || 'default';
  const now = new Date().toISOString();
  const body = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
      namespace,
    },
    involvedObject: {
      apiVersion: subject.apiVersion,
      kind: subject.kind,
      name,
      namespace: subject.metadata.namespace,
      uid: subject.metadata.uid,
      resourceVersion: subject.metadata.resourceVersion,
    },
    reason,
    message: message.slice(0, 1024),
    type,
    source: { component: EVENT_SOURCE },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: os.hostname(),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
  try {
    await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { body });
  } catch (err) {
    log.debug(`Could not record event ${reason} on ${subject.kind ?? 'object'} ${name}.`, {
      error: (err as Error).message,
    });
  }
}
