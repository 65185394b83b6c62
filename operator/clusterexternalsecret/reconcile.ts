/**
 * One reconcile of one ClusterExternalSecret, level-based, as ESO's controller:
 *
 *   get -> validate (terminal: Ready False, nothing created, changed or removed)
 *   -> compare (list namespaces, read the ExternalSecret of that name in each target and provisioned one)
 *   -> decide (one NamespaceDecision per namespace, plan.ts) -> act (apply / delete, each failure
 *   recorded against its namespace) -> status (provisionedNamespaces, failedNamespaces, Ready)
 *   -> requeue after `spec.refreshTime` (default 1m).
 *
 * The ExternalSecrets carry a controller reference to the ClusterExternalSecret, so deleting it lets
 * the garbage collector remove them (ESO's owner references).
 */
import type {
  ClusterExternalSecret,
  ClusterExternalSecretStatus,
} from '../../generated/clusterexternalsecret';
import { parseGoDuration } from '../common/goduration';
import { setCondition, type Condition } from '../externalsecret/conditions';
import { externalSecretPath } from '../externalsecret/api';
import { serverSideApply } from '../kube/apply';
import { isNotFound, type KubeClient } from '../kube/client';
import type { ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import type { Logger } from '../log';
import type { ReconcileResult } from '../runtime/workqueue';
import { validateResource } from '../validation/validate';
import {
  CES_API_VERSION,
  CES_PLURAL,
  CONDITION_READY,
  DEFAULT_REFRESH_MS,
  MSG_APPLY_FAILED,
  MSG_DELETE_FAILED,
  MSG_INVALID_SPEC,
  MSG_NAMESPACES_FAILED,
} from './constants';
import {
  controlledBy,
  decide,
  externalSecretName,
  targetNamespaces,
  type NamespaceDecision,
  type NamespaceView,
} from './plan';

/** What a reconcile needs. */
export interface CesContext {
  client: KubeClient;
  log: Logger;
  now: () => number;
}

/** ExternalSecrets, for server-side apply. */
export const EXTERNAL_SECRETS: ResourceType = {
  group: 'external-secrets.io',
  version: 'v1',
  kind: 'ExternalSecret',
  plural: 'externalsecrets',
  namespaced: true,
};

/** The field manager of the ExternalSecrets a ClusterExternalSecret writes. */
export const FIELD_MANAGER = 'capstan-clusterexternalsecret';

const MAX_REASON = 300;

/** The API path of a ClusterExternalSecret. */
export function cesPath(name: string): string {
  return `/apis/${CES_API_VERSION}/${CES_PLURAL}/${encodeURIComponent(name)}`;
}

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The spec's problems (schema, the embedded ExternalSecret spec, refreshTime), as `field: problem`. */
export function cesProblems(ces: ClusterExternalSecret): string[] {
  const result = validateResource('ClusterExternalSecret', ces);
  const problems = result.valid ? [] : [...result.errors];
  if (!problems.length) {
    const es = validateResource('ExternalSecret', { metadata: {}, spec: ces.spec.externalSecretSpec });
    if (!es.valid) problems.push(...es.errors.map((e) => `spec.externalSecretSpec: ${e}`));
  }
  const refresh = ces.spec?.refreshTime;
  if (refresh !== undefined && parseGoDuration(refresh) === undefined) {
    problems.push('spec.refreshTime: must be a Go duration such as 1m or 1h');
  }
  return problems;
}

/** `spec.refreshTime` in ms (ESO default 1m; 0 means no periodic requeue). */
export function refreshMs(ces: ClusterExternalSecret): number {
  const parsed = ces.spec.refreshTime === undefined ? undefined : parseGoDuration(ces.spec.refreshTime);
  return parsed ?? DEFAULT_REFRESH_MS;
}

async function listNamespaces(client: KubeClient): Promise<NamespaceView[]> {
  const list = await client.request<{ items?: KubeObject[] }>('GET', '/api/v1/namespaces');
  return (list.items ?? []).map((ns) => ({
    name: String(ns.metadata.name),
    labels: ns.metadata.labels,
    terminating: !!ns.metadata.deletionTimestamp,
  }));
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, MAX_REASON);
}

async function writeStatus(
  ctx: CesContext,
  ces: ClusterExternalSecret,
  status: Omit<ClusterExternalSecretStatus, 'conditions'>,
  ready: Omit<Condition, 'lastTransitionTime'>,
): Promise<void> {
  const conditions = setCondition(
    ces.status?.conditions as Condition[] | undefined,
    ready,
    new Date(ctx.now()).toISOString(),
  );
  const next = { ...ces.status, ...status, conditions };
  if (JSON.stringify(next) === JSON.stringify(ces.status ?? {})) return;
  try {
    await ctx.client.request('PATCH', `${cesPath(String(ces.metadata.name))}/status`, {
      body: { status: next },
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes the ExternalSecret `name` in `namespace` when this ClusterExternalSecret controls it. */
async function deleteOwned(ctx: CesContext, namespace: string, name: string, cesName: string): Promise<void> {
  const es = await getOrUndefined<KubeObject>(ctx.client, externalSecretPath(namespace, name));
  if (!es || !controlledBy(es, cesName)) return;
  try {
    await ctx.client.request('DELETE', externalSecretPath(namespace, name));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Carries out the decisions; each failure is recorded against its namespace, never thrown. */
async function act(
  ctx: CesContext,
  decisions: NamespaceDecision[],
  cesName: string,
): Promise<{ failed: Map<string, string>; provisioned: string[] }> {
  const failed = new Map<string, string>();
  const provisioned: string[] = [];
  for (const d of decisions) {
    try {
      if (d.action === 'conflict') failed.set(d.namespace, d.reason);
      else if (d.action === 'delete') await deleteOwned(ctx, d.namespace, d.name, cesName);
      else {
        await serverSideApply(ctx.client, EXTERNAL_SECRETS, d.desired, {
          fieldManager: FIELD_MANAGER,
          force: true,
        });
        provisioned.push(d.namespace);
      }
    } catch (err) {
      const prefix = d.action === 'delete' ? MSG_DELETE_FAILED : MSG_APPLY_FAILED;
      failed.set(d.namespace, `${prefix}: ${errorText(err)}`);
    }
  }
  return { failed, provisioned };
}

/**
 * Reconciles the ClusterExternalSecret `name`.
 * @returns when to run again (`spec.refreshTime`).
 * @throws on API errors reading the ClusterExternalSecret or the namespaces (the queue retries).
 */
export async function reconcileClusterExternalSecret(
  ctx: CesContext,
  name: string,
): Promise<ReconcileResult> {
  const ces = await getOrUndefined<ClusterExternalSecret>(ctx.client, cesPath(name));
  if (!ces || ces.metadata.deletionTimestamp) return {}; // the garbage collector removes the ExternalSecrets
  const problems = cesProblems(ces);
  if (problems.length) {
    await writeStatus(
      ctx,
      ces,
      {},
      {
        type: CONDITION_READY,
        status: 'False',
        message: `${MSG_INVALID_SPEC}: ${problems.join('; ')}`.slice(0, 1000),
      },
    );
    ctx.log.warn('ClusterExternalSecret spec is invalid; nothing is changed.', {
      clusterExternalSecret: name,
      reason: problems.join('; '),
    });
    return {};
  }
  // compare
  const esName = externalSecretName(ces);
  const targets = targetNamespaces(ces, await listNamespaces(ctx.client));
  const existing = new Map<string, KubeObject | undefined>();
  for (const ns of targets)
    existing.set(ns, await getOrUndefined<KubeObject>(ctx.client, externalSecretPath(ns, esName)));
  // decide
  const previous = ces.status?.externalSecretName;
  const decisions = decide(ces, targets, existing, ces.status?.provisionedNamespaces ?? [], previous);
  // act
  const { failed, provisioned } = await act(ctx, decisions, name);
  // status
  const failedNamespaces = [...failed]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([namespace, reason]) => ({ namespace, reason }));
  const ready = failed.size
    ? { type: CONDITION_READY, status: 'False' as const, message: MSG_NAMESPACES_FAILED }
    : { type: CONDITION_READY, status: 'True' as const };
  await writeStatus(
    ctx,
    ces,
    { externalSecretName: esName, provisionedNamespaces: provisioned.sort(), failedNamespaces },
    ready,
  );
  if (failed.size)
    ctx.log.warn('Some namespaces did not get their ExternalSecret.', {
      clusterExternalSecret: name,
      namespaces: [...failed.keys()],
    });
  const every = refreshMs(ces);
  return every > 0 ? { requeueAfterMs: every } : {};
}
