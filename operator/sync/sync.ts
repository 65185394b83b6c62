/**
 * The operations of a sync on one object: apply with server-side apply, prune, and the namespace of
 * `CreateNamespace=true`. Each yields one result line, as Argo CD's `syncResult.resources`. The engine
 * (engine.ts) runs them in the order of the plan (plan.ts). Two applies end in a pending step (steps.ts)
 * that the engine checks once per reconcile with {@link advancePending}, never waiting in a worker: a CRD
 * until it is Established (so that custom resources of a later task can use it), and
 * `Replace=true,Force=true` until the deletion of the live object has ended (then it is created).
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
import {
  DEFAULT_CRD_ESTABLISH_TIMEOUT_MS,
  MSG_CRD_NOT_ESTABLISHED,
  REPLACE_DELETE_TIMEOUT_MS,
  deletingMessage,
  established,
  failedLine,
  finishedLine,
  objectRef,
  pendingLine,
  stageOf,
  timedOut,
} from './steps';

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
  /**
   * Hooks: Running, Succeeded or Failed. Other lines: Running while the apply is a pending step
   * (steps.ts: a CRD not Established yet, a `Replace=true,Force=true` deletion not ended); absent once done.
   */
  hookPhase?: 'Running' | 'Succeeded' | 'Failed';
  /** A pending step's start (RFC 3339): its timeout is measured from here, also after a restart. */
  startedAt?: string;
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
  /**
   * How long an applied CRD may take to become Established, in ms (default 60 s), measured from the
   * apply (the pending step's `startedAt`); then the CRD's line is SyncFailed.
   */
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

/**
 * Applies one desired object.
 * @param now - the time of the step in ms (the start of a pending step).
 * @returns the result line; a pending one (steps.ts) for a CRD the API server has not Established yet and
 *   for a `Replace=true,Force=true` object whose deletion was asked for (the engine advances it with
 *   {@link advancePending}).
 * @throws on transient API failures (no line: the task runs again).
 */
export async function applyOne(
  deps: SyncDeps,
  r: ManagedResource,
  opts: SyncOptions,
  now = Date.now(),
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
    return resultLine(r, 'Synced', `${objectRef(r)} unchanged`);
  }
  const live = await liveForWrite(deps, rt, r, options);
  const shared = sharedRefusal(r, live, opts, options);
  if (shared) return shared;
  let stored: KubeObject | typeof DELETING;
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
  } catch (err) {
    // Transient failures are retried by the caller; the task keeps no result line until it ran.
    if (isTransient(err)) throw err;
    return resultLine(r, 'SyncFailed', (err as Error).message);
  }
  if (stored === DELETING) {
    recentWrites.deleted(rt, r.namespace || undefined, r.name);
    return pendingLine(resultLine(r, 'Synced', ''), deletingMessage(r), now);
  }
  recentWrites.stored(rt, stored);
  return afterWrite(
    deps,
    rt,
    resultLine(r, 'Synced', `${objectRef(r)} ${verb(r, live, stored)}`),
    stored,
    now,
  );
}

/**
 * Checks a pending step once (one GET) and advances it: a CRD that is Established now is done (discovery
 * forgets its group-versions); a `Replace=true,Force=true` object whose deletion has ended is created
 * (and, a CRD, becomes a pending step of its own). A step past its timeout fails with today's message: a
 * CRD with {@link MSG_CRD_NOT_ESTABLISHED}; a deletion that has not ended is created all the same, as
 * the wait of `kubectl replace --force` gives up, and the API server's answer (409, the object still
 * exists) is the line's message.
 * @param line - the task's pending line ({@link isPending}).
 * @param now - the time of the step in ms (timeouts are measured from the line's `startedAt`).
 * @returns the line, still pending or finished (Synced or SyncFailed).
 * @throws on transient API failures (the line stays as it was).
 */
export async function advancePending(
  deps: SyncDeps,
  r: ManagedResource,
  line: ResourceResult,
  opts: SyncOptions,
  now = Date.now(),
): Promise<ResourceResult> {
  const target = r.target as KubeObject;
  const rt = r.rt ?? (await deps.discovery.resourceFor(target.apiVersion, target.kind));
  r.rt = rt;
  if (stageOf(line) === 'establishing') {
    const live = await readObject(deps, rt, target);
    if (live && established(live)) {
      forgetDiscovery(deps, live);
      return finishedLine(line);
    }
    const timeout = opts.crdEstablishTimeoutMs ?? DEFAULT_CRD_ESTABLISH_TIMEOUT_MS;
    return timedOut(line, timeout, now) ? failedLine(line, MSG_CRD_NOT_ESTABLISHED) : line;
  }
  if ((await readObject(deps, rt, target)) && !timedOut(line, REPLACE_DELETE_TIMEOUT_MS, now)) return line;
  let stored: KubeObject;
  try {
    const desired = opts.prepare ? await opts.prepare(r) : target;
    stored = await createObject(deps, rt, desired);
  } catch (err) {
    if (isTransient(err)) throw err;
    return failedLine(line, (err as Error).message);
  }
  recentWrites.stored(rt, stored);
  return afterWrite(deps, rt, finishedLine(line, `${objectRef(r)} replaced`), stored, now);
}

/** True for the type of CustomResourceDefinitions. */
function isCrd(rt: ResourceType): boolean {
  return rt.kind === 'CustomResourceDefinition' && rt.group === 'apiextensions.k8s.io';
}

/**
 * The line of a write that the API server accepted: done, or for a CRD whose answer does not show it
 * Established yet (a new one), a pending step. An Established CRD's group-versions are forgotten by
 * discovery, so that its custom resources in later tasks are found.
 */
function afterWrite(
  deps: SyncDeps,
  rt: ResourceType,
  line: ResourceResult,
  stored: KubeObject,
  now: number,
): ResourceResult {
  if (!isCrd(rt)) return line;
  if (!established(stored)) return pendingLine(line, line.message, now);
  forgetDiscovery(deps, stored);
  return line;
}

/** Makes discovery forget the group-versions a CRD serves (they are read again on next use). */
function forgetDiscovery(deps: SyncDeps, crd: KubeObject): void {
  const spec = crd.spec as { group?: string; versions?: Array<{ name: string }> } | undefined;
  for (const v of spec?.versions ?? []) deps.discovery.invalidate(`${spec?.group}/${v.name}`);
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

/** What {@link replaceObject} answers when it asked for a deletion: the create is a later step's. */
const DELETING = Symbol('deleting');

/**
 * `Replace=true` (Argo CD): create, or replace the whole object (PUT) instead of applying a patch;
 * with `Force=true` too, delete it (foreground, so that dependents go first) to create it again (for
 * immutable fields), as `kubectl replace --force`: the create waits for the deletion to end, as a pending
 * step ({@link advancePending}), not here. An object the comparison did not see (`live` undefined: not
 * labelled as capstan's) may exist all the same: its create answers 409, and it is then read and
 * replaced (or deleted, with `Force=true`).
 * @returns the object as stored, or DELETING when its deletion was asked for.
 */
async function replaceObject(
  deps: SyncDeps,
  rt: ResourceType,
  obj: KubeObject,
  live: KubeObject | undefined,
  force: boolean,
): Promise<KubeObject | typeof DELETING> {
  const { namespace, name } = obj.metadata;
  if (live && force) {
    await deleteObject(deps.client, rt, namespace, name ?? '', 'Foreground').catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    return DELETING;
  }
  if (!live) {
    try {
      return await createObject(deps, rt, obj);
    } catch (err) {
      if (!isConflict(err)) throw err;
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

/** One POST of `obj`, as capstan's field manager. */
function createObject(deps: SyncDeps, rt: ResourceType, obj: KubeObject): Promise<KubeObject> {
  return deps.client.request<KubeObject>('POST', resourcePath(rt, obj.metadata.namespace), {
    body: obj,
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
  return resultLine(r, 'Pruned', `${objectRef(r)} pruned`);
}
