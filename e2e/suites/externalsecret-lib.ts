/**
 * Helpers of the ExternalSecret end-to-end suites: create and read ExternalSecrets, stores and
 * Secrets on the run's real API server, and wait for their conditions. Secret values are compared
 * here and only here, by equality; failures name the Secret and the key, never a value.
 */
import { isNotFound } from '../../operator/kube/client';
import { waitFor } from '../harness/wait';
import { kube } from './lib';

/** The external-secrets.io API root. */
export const ES_API = '/apis/external-secrets.io/v1';

/** A condition as the suites read it. */
export interface TestCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** An ExternalSecret or store as the suites read it. */
export interface EsObject {
  metadata: { name: string; namespace?: string; uid?: string; generation?: number };
  spec: Record<string, unknown>;
  status?: {
    conditions?: TestCondition[];
    refreshTime?: string;
    syncedResourceVersion?: string;
    binding?: { name?: string };
    capabilities?: string;
  };
}

/** A Secret as the suites read it. */
export interface SecretObj {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean; uid?: string }>;
    resourceVersion?: string;
  };
  data?: Record<string, string>;
  immutable?: boolean;
}

/** Path of an ExternalSecret. */
export const esPath = (ns: string, name = ''): string =>
  `${ES_API}/namespaces/${ns}/externalsecrets${name ? '/' + name : ''}`;
/** Path of a SecretStore. */
export const storePath = (ns: string, name = ''): string =>
  `${ES_API}/namespaces/${ns}/secretstores${name ? '/' + name : ''}`;
/** Path of a ClusterSecretStore. */
export const clusterStorePath = (name = ''): string =>
  `${ES_API}/clustersecretstores${name ? '/' + name : ''}`;
/** Path of a Secret. */
export const secretPath = (ns: string, name = ''): string =>
  `/api/v1/namespaces/${ns}/secrets${name ? '/' + name : ''}`;

/** Creates an ExternalSecret. */
export async function createExternalSecret(
  ns: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kube().request('POST', esPath(ns), {
    body: {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name, namespace: ns },
      spec,
    },
  });
}

/** Creates a SecretStore with the given provider block (and extra spec fields). */
export async function createSecretStore(
  ns: string,
  name: string,
  provider: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await kube().request('POST', storePath(ns), {
    body: {
      apiVersion: 'external-secrets.io/v1',
      kind: 'SecretStore',
      metadata: { name, namespace: ns },
      spec: { provider, ...extra },
    },
  });
}

/** Creates a ClusterSecretStore. */
export async function createClusterSecretStore(name: string, spec: Record<string, unknown>): Promise<void> {
  await kube().request('POST', clusterStorePath(), {
    body: { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name }, spec },
  });
}

/** Creates a plain Secret from text values. */
export async function createSecret(
  ns: string,
  name: string,
  values: Record<string, string>,
  metadata: Record<string, unknown> = {},
  type?: string,
): Promise<void> {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) data[k] = Buffer.from(v).toString('base64');
  await kube().request('POST', secretPath(ns), {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, ...metadata }, data, type },
  });
}

/** JSON merge patch of any object. */
export async function mergePatch(path: string, patch: Record<string, unknown>): Promise<void> {
  await kube().request('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' });
}

/** Deletes any object (a missing one is fine). */
export async function remove(path: string): Promise<void> {
  try {
    await kube().request('DELETE', path, { query: { propagationPolicy: 'Background' } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Reads an object; undefined when missing. */
export async function read<T>(path: string): Promise<T | undefined> {
  try {
    return await kube().request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The Ready condition of an ExternalSecret or store. */
export function readyOf(obj: EsObject | undefined): TestCondition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === 'Ready');
}

/**
 * Waits until the object at `path` satisfies `pred`; the timeout message shows its status (conditions
 * carry key names only, never values).
 */
export async function waitForObject(
  path: string,
  pred: (o: EsObject) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<EsObject> {
  let last: EsObject | undefined;
  try {
    return await waitFor(
      async () => {
        last = await read<EsObject>(path);
        return last && pred(last) ? last : undefined;
      },
      { timeoutMs, what },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

/** Waits for Ready with the given status (and reason, when given). */
export function waitForReady(
  path: string,
  status: 'True' | 'False',
  reason?: string,
  timeoutMs = 60_000,
): Promise<EsObject> {
  // An ExternalSecret reconciled before its new store was validated is Ready False for that alone (as
  // ESO): a transient state, not the refusal a test waits for (it raced a NUL-byte test once).
  const transient = (o: EsObject): boolean =>
    status === 'False' && /is not ready \(not validated yet\)/.test(readyOf(o)?.message ?? '');
  return waitForObject(
    path,
    (o) => readyOf(o)?.status === status && (!reason || readyOf(o)?.reason === reason) && !transient(o),
    `${path} Ready=${status}${reason ? ` (${reason})` : ''}`,
    timeoutMs,
  );
}

/** The Secret's decoded data; undefined when the Secret is missing. */
export async function secretValues(ns: string, name: string): Promise<Record<string, string> | undefined> {
  const s = await read<SecretObj>(secretPath(ns, name));
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/**
 * Why `actual` differs from `expected`, naming keys only (never values); undefined when equal.
 */
export function valueMismatch(
  actual: Record<string, string> | undefined,
  expected: Record<string, string>,
): string | undefined {
  if (!actual) return 'the Secret does not exist';
  const have = Object.keys(actual).sort();
  const want = Object.keys(expected).sort();
  if (have.join(',') !== want.join(','))
    return `keys are [${have.join(', ')}], expected [${want.join(', ')}]`;
  const wrong = want.filter((k) => actual[k] !== expected[k]);
  return wrong.length ? `keys [${wrong.join(', ')}] do not hold the expected values` : undefined;
}

/** Fails (naming keys, not values) unless Secret `ns/name` holds exactly `expected`. */
export async function assertSecretValues(
  ns: string,
  name: string,
  expected: Record<string, string>,
): Promise<void> {
  const why = valueMismatch(await secretValues(ns, name), expected);
  if (why) throw new Error(`Secret ${ns}/${name}: ${why}`);
}

/** Waits until Secret `ns/name` holds exactly `expected`. */
export async function waitForSecretValues(
  ns: string,
  name: string,
  expected: Record<string, string>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  let why: string | undefined;
  try {
    await waitFor(
      async () => {
        why = valueMismatch(await secretValues(ns, name), expected);
        return why === undefined;
      },
      { timeoutMs, what },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}: Secret ${ns}/${name}: ${why ?? ''}`);
  }
}

/** Waits until Secret `ns/name` is gone. */
export async function waitForSecretGone(
  ns: string,
  name: string,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(async () => !(await read(secretPath(ns, name))), { timeoutMs, what });
}

/** The reasons of the Events recorded about an object. */
export async function eventReasons(ns: string, name: string): Promise<string[]> {
  const list = await kube().request<{
    items: Array<{ reason?: string; involvedObject?: { name?: string } }>;
  }>('GET', `/api/v1/namespaces/${ns}/events`, { query: { fieldSelector: `involvedObject.name=${name}` } });
  return list.items.map((e) => e.reason ?? '');
}

/**
 * Waits until an Event with `reason` is recorded about the object `ns/name`. Events are recorded beside
 * the status write, after the Secret (or the push) they report, so a test that has just seen the
 * Secret waits for its event instead of reading the list once.
 */
export async function waitForEvent(ns: string, name: string, reason: string, what: string): Promise<void> {
  await waitFor(async () => (await eventReasons(ns, name)).includes(reason), { timeoutMs: 20_000, what });
}
