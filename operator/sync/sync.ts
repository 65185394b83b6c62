/**
 * The operations of a sync on one object: apply with server-side apply (a CRD is waited for until
 * Established, so custom resources of a later task can use it), prune, and the namespace of
 * `CreateNamespace=true`. Each yields one result line, as Argo CD's `syncResult.resources`. The engine
 * (engine.ts) runs them in the order of the plan (plan.ts).
 */
import { FIELD_MANAGER, deleteObject, serverSideApply } from '../kube/apply';
import { appliedStates } from './applied';
import { recentWrites } from './recent';
import { trackedBy } from './tracking';
import { SYNC_OPTIONS_ANNOTATION } from './annotations';
import { KubeClient, isConflict, isNotFound } from '../kube/client';
import { Discovery, ResourceType, resourcePath } from '../kube/discovery';
import { KubeObject } from '../kube/object';
import { Logger } from '../log';
import { isTransient } from '../kube/errors';
import { ManagedResource } from './resource';

/** Argo CD's result codes for one resource of a sync. */
export type ResultCode = 'Synced' | 'SyncFailed' | 'Pruned' | 'PruneSkipped';

/** One line of `operationState.syncResult.resources`. */
export interface ResourceResult {
  group: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
  status: ResultCode;
  message: string;
  syncPhase: string;
  /** Hooks only: the hook type. */
  hookType?: string;
  /** Hooks only: Running, Succeeded or Failed. */
  hookPhase?: 'Running' | 'Succeeded' | 'Failed';
}

/** What a sync produced. */
export interface SyncOutcome {
  phase: 'Succeeded' | 'Failed';
  message: string;
  resources: ResourceResult[];
}

/** Options of one sync. */
export interface SyncOptions {
  /** Delete tracked objects no longer in git. */
  prune: boolean;
  /** Namespace to create first (`CreateNamespace=true`), with managedNamespaceMetadata. */
  createNamespace?: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** Propagation of prune deletes (Argo CD's default: foreground). */
  prunePropagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  /** How long to wait for an applied CRD to become Established, in ms (default 60 s). */
  crdEstablishTimeoutMs?: number;
  /**
   * App-level sync options (`syncPolicy.syncOptions`, Argo CD): `ApplyOutOfSyncOnly=true`,
   * `Validate=false`, `Replace=true`, `Force=true`, `FailOnSharedResource=true`. Per-resource options
   * (`argocd.argoproj.io/sync-options`) add to them for one object.
   */
  syncOptions?: string[];
  /** The app instance applying, for `FailOnSharedResource` (another app's tracking id). */
  appInstance?: string;
  /** Rewrites a desired object before it is applied (`RespectIgnoreDifferences=true`). */
  prepare?: (r: ManagedResource) => KubeObject | Promise<KubeObject>;
}

/** All sync options in force for one resource: the app's plus the resource's annotation. */
export function optionsFor(r: ManagedResource, opts: Pick<SyncOptions, 'syncOptions'>): Set<string> {
  const own = ((r.target ?? r.live)?.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return new Set([...(opts.syncOptions ?? []), ...own]);
}

/** What a sync needs. */
export interface SyncDeps {
  client: KubeClient;
  discovery: Discovery;
  log: Logger;
}

/** One result line for a resource. */
export function resultLine(
  r: Pick<ManagedResource, 'group' | 'version' | 'kind' | 'namespace' | 'name'>,
  status: ResultCode,
  message: string,
): ResourceResult {
  return {
    group: r.group,
    version: r.version,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    status,
    message,
    syncPhase: 'Sync',
  };
}

/** Creates (server-side applies) the destination namespace of `CreateNamespace=true`. */
export async function ensureNamespace(
  deps: SyncDeps,
  ns: NonNullable<SyncOptions['createNamespace']>,
  results: ResourceResult[],
): Promise<void> {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name } };
  if (ns.labels) obj.metadata.labels = ns.labels;
  if (ns.annotations) obj.metadata.annotations = ns.annotations;
  const rt = await deps.discovery.resourceFor('v1', 'Namespace');
  try {
    recentWrites.stored(rt, await serverSideApply(deps.client, rt, obj));
  } catch (err) {
    if (isTransient(err)) throw err;
    results.push(
      resultLine(
        { group: '', version: 'v1', kind: 'Namespace', namespace: '', name: ns.name },
        'SyncFailed',
        (err as Error).message,
      ),
    );
  }
}

/** Applies one desired object; a CRD is waited for until Established. */
export async function applyOne(
  deps: SyncDeps,
  r: ManagedResource,
  opts: SyncOptions,
): Promise<ResourceResult> {
  const target = r.target as KubeObject;
  let rt = r.rt;
  try {
    rt ??= await deps.discovery.resourceFor(target.apiVersion, target.kind);
  } catch (err) {
    if (isTransient(err)) throw err;
    return resultLine(r, 'SyncFailed', (err as Error).message);
  }
  const options = optionsFor(r, opts);
  if (options.has('ApplyOutOfSyncOnly=true') && r.live && r.status === 'Synced') {
    return resultLine(
      r,
      'Synced',
      `${target.kind.toLowerCase()}${r.group ? '.' + r.group : ''}/${r.name} unchanged`,
    );
  }
  const live = await liveForWrite(deps, rt, r, options);
  const shared = sharedRefusal(r, live, opts, options);
  if (shared) return shared;
  let stored: KubeObject;
  try {
    const desired = opts.prepare ? await opts.prepare(r) : target;
    if (options.has('Replace=true'))
      stored = await replaceObject(deps, rt, desired, live, options.has('Force=true'));
    else {
      stored = await serverSideApply(deps.client, rt, desired, {
        fieldValidation: options.has('Validate=false') ? 'Ignore' : 'Strict',
      });
      // The comparison after the sync needs no dry-run of what was applied as rendered (applied.ts).
      if (desired === target) appliedStates.record(target, stored);
    }
    recentWrites.stored(rt, stored);
  } catch (err) {
    // Transient failures are retried by the caller; the task keeps no result line until it ran.
    if (isTransient(err)) throw err;
    return resultLine(r, 'SyncFailed', (err as Error).message);
  }
  if (target.kind === 'CustomResourceDefinition' && rt.group === 'apiextensions.k8s.io') {
    const established = await waitEstablished(deps, rt, target, opts.crdEstablishTimeoutMs ?? 60_000);
    if (!established)
      return resultLine(r, 'SyncFailed', 'CustomResourceDefinition did not become Established in time');
  }
  return resultLine(
    r,
    'Synced',
    `${target.kind.toLowerCase()}${r.group ? '.' + r.group : ''}/${r.name} ${verb(r, live, stored)}`,
  );
}

/**
 * The live object before a write. The comparison reads only objects carrying capstan's label
 * (kube/livecache.ts): an object it did not see may still exist, unlabelled or tracked by another tool.
 * Only FailOnSharedResource needs to know before the write, so only then is it read.
 */
async function liveForWrite(
  deps: SyncDeps,
  rt: ResourceType,
  r: ManagedResource,
  options: Set<string>,
): Promise<KubeObject | undefined> {
  if (r.live || !options.has('FailOnSharedResource=true')) return r.live;
  return readObject(deps, rt, r.target as KubeObject);
}

/** The SyncFailed line of `FailOnSharedResource=true` when another app tracks the live object. */
function sharedRefusal(
  r: ManagedResource,
  live: KubeObject | undefined,
  opts: SyncOptions,
  options: Set<string>,
): ResourceResult | undefined {
  const owner = live ? trackedBy(live) : undefined;
  if (!owner || !opts.appInstance || owner === opts.appInstance || !options.has('FailOnSharedResource=true'))
    return undefined;
  return resultLine(
    r,
    'SyncFailed',
    `${r.kind}/${r.name} is part of application ${owner} and FailOnSharedResource is set`,
  );
}

/** created, configured or unchanged, as kubectl and Argo CD say. */
function verb(r: ManagedResource, live: KubeObject | undefined, stored: KubeObject): string {
  if (!live && !adopted(stored)) return 'created';
  return r.status === 'Synced' ? 'unchanged' : 'configured';
}

/**
 * True when the object stored existed before capstan's write: other field managers own fields of it (the
 * comparison, which sees only capstan's labelled objects, did not know it).
 */
function adopted(stored: KubeObject): boolean {
  return (stored.metadata.managedFields ?? []).some(
    (e) => (e as { manager?: unknown } | null)?.manager !== FIELD_MANAGER,
  );
}

/**
 * `Replace=true` (Argo CD): create, or replace the whole object (PUT) instead of applying a patch;
 * with `Force=true` too, delete and recreate it (for immutable fields). An object the comparison did not
 * see (`live` undefined: not labelled as capstan's) may exist all the same: its create answers 409, and it
 * is then read and replaced.
 * @returns the object as stored.
 */
async function replaceObject(
  deps: SyncDeps,
  rt: ResourceType,
  obj: KubeObject,
  live: KubeObject | undefined,
  force: boolean,
): Promise<KubeObject> {
  const { namespace, name } = obj.metadata;
  if (live && force) {
    await deleteObject(deps.client, rt, namespace, name ?? '', 'Foreground');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!(await readObject(deps, rt, obj))) break;
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  if (!live || force) {
    try {
      return await deps.client.request<KubeObject>('POST', resourcePath(rt, namespace), {
        body: obj,
        query: { fieldManager: FIELD_MANAGER },
      });
    } catch (err) {
      if (!isConflict(err) || live) throw err;
      const existing = await readObject(deps, rt, obj);
      if (!existing) throw err;
      if (force) return replaceObject(deps, rt, obj, existing, force);
      live = existing;
    }
  }
  const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: live.metadata.resourceVersion } };
  return deps.client.request<KubeObject>('PUT', resourcePath(rt, namespace, name), {
    body,
    query: { fieldManager: FIELD_MANAGER },
  });
}

/** One GET of the object `obj` names; undefined when it does not exist. */
async function readObject(
  deps: SyncDeps,
  rt: ResourceType,
  obj: KubeObject,
): Promise<KubeObject | undefined> {
  try {
    return await deps.client.request<KubeObject>(
      'GET',
      resourcePath(rt, obj.metadata.namespace, obj.metadata.name),
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Polls a CRD until its Established condition is True, then forgets discovery of its group-versions. */
async function waitEstablished(
  deps: SyncDeps,
  rt: ResourceType,
  crd: KubeObject,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const live = await deps.client.request<KubeObject>('GET', resourcePath(rt, undefined, crd.metadata.name));
    const conds = (live.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? [];
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) {
      const spec = live.spec as { group: string; versions: Array<{ name: string }> };
      for (const v of spec.versions) deps.discovery.invalidate(`${spec.group}/${v.name}`);
      return true;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  return false;
}

/** Deletes one object no longer in git, or reports it PruneSkipped when pruning is off. */
export async function pruneOne(
  deps: SyncDeps,
  r: ManagedResource,
  opts: SyncOptions,
): Promise<ResourceResult> {
  if (!opts.prune || !r.rt) return resultLine(r, 'PruneSkipped', 'ignored (requires pruning)');
  if (optionsFor(r, opts).has('Prune=false')) return resultLine(r, 'PruneSkipped', 'ignored (no prune)');
  try {
    await deleteObject(
      deps.client,
      r.rt,
      r.namespace || undefined,
      r.name,
      opts.prunePropagationPolicy ?? 'Foreground',
    );
  } catch (err) {
    if (isTransient(err)) throw err;
    if (!isNotFound(err)) return resultLine(r, 'SyncFailed', (err as Error).message);
  }
  recentWrites.deleted(r.rt, r.namespace || undefined, r.name);
  return resultLine(r, 'Pruned', `${r.kind.toLowerCase()}${r.group ? '.' + r.group : ''}/${r.name} pruned`);
}
