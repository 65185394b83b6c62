/**
 * The sync: apply every desired object with server-side apply in install order (CRDs are applied and
 * established before the custom resources that need them), then prune what git no longer holds when
 * pruning is on. Each object yields one result line, as Argo CD's `syncResult.resources`.
 *
 * Waves and hooks build on this ordering (see order.ts).
 */
import { deleteObject, serverSideApply } from '../kube/apply';
import { KubeClient, isNotFound } from '../kube/client';
import { Discovery, ResourceType, resourcePath } from '../kube/discovery';
import { KubeObject } from '../kube/object';
import { Logger } from '../log';
import { ManagedResource } from '../application/compare';
import { compareByKindAndName } from './order';

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
  syncPhase: 'Sync';
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
}

/** What a sync needs. */
export interface SyncDeps {
  client: KubeClient;
  discovery: Discovery;
  log: Logger;
}

/**
 * Runs one sync of the compared resources.
 * @returns the outcome; it never throws for a failure of one object (that object's line says why).
 */
export async function runSync(deps: SyncDeps, resources: ManagedResource[], opts: SyncOptions): Promise<SyncOutcome> {
  const results: ResourceResult[] = [];
  if (opts.createNamespace) await ensureNamespace(deps, opts.createNamespace, results);
  const targets = resources.filter((r) => r.target).sort((a, b) => compareByKindAndName(a.target!, b.target!));
  for (const r of targets) results.push(await applyOne(deps, r, opts));
  for (const r of resources.filter((x) => x.requiresPruning)) results.push(await pruneOne(deps, r, opts));
  const failed = results.filter((r) => r.status === 'SyncFailed');
  return failed.length
    ? { phase: 'Failed', message: `one or more objects failed to apply, reason: ${failed[0].message}`, resources: results }
    : { phase: 'Succeeded', message: 'successfully synced (all tasks run)', resources: results };
}

function line(r: Pick<ManagedResource, 'group' | 'version' | 'kind' | 'namespace' | 'name'>, status: ResultCode, message: string): ResourceResult {
  return { group: r.group, version: r.version, kind: r.kind, namespace: r.namespace, name: r.name, status, message, syncPhase: 'Sync' };
}

async function ensureNamespace(deps: SyncDeps, ns: NonNullable<SyncOptions['createNamespace']>, results: ResourceResult[]): Promise<void> {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name } };
  if (ns.labels) obj.metadata.labels = ns.labels;
  if (ns.annotations) obj.metadata.annotations = ns.annotations;
  const rt = await deps.discovery.resourceFor('v1', 'Namespace');
  try {
    await serverSideApply(deps.client, rt, obj);
  } catch (err) {
    results.push(line({ group: '', version: 'v1', kind: 'Namespace', namespace: '', name: ns.name }, 'SyncFailed', (err as Error).message));
  }
}

async function applyOne(deps: SyncDeps, r: ManagedResource, opts: SyncOptions): Promise<ResourceResult> {
  const target = r.target as KubeObject;
  let rt = r.rt;
  try {
    rt ??= await deps.discovery.resourceFor(target.apiVersion, target.kind);
  } catch (err) {
    return line(r, 'SyncFailed', (err as Error).message);
  }
  try {
    await serverSideApply(deps.client, rt, target);
  } catch (err) {
    return line(r, 'SyncFailed', (err as Error).message);
  }
  if (target.kind === 'CustomResourceDefinition' && rt.group === 'apiextensions.k8s.io') {
    const established = await waitEstablished(deps, rt, target, opts.crdEstablishTimeoutMs ?? 60_000);
    if (!established) return line(r, 'SyncFailed', 'CustomResourceDefinition did not become Established in time');
  }
  const verb = !r.live ? 'created' : r.status === 'Synced' ? 'unchanged' : 'configured';
  return line(r, 'Synced', `${target.kind.toLowerCase()}${r.group ? '.' + r.group : ''}/${r.name} ${verb}`);
}

/** Polls a CRD until its Established condition is True, then forgets discovery of its group-versions. */
async function waitEstablished(deps: SyncDeps, rt: ResourceType, crd: KubeObject, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const live = await deps.client.request<KubeObject>('GET', resourcePath(rt, undefined, crd.metadata.name));
    const conds = ((live.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? []);
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) {
      const spec = live.spec as { group: string; versions: Array<{ name: string }> };
      for (const v of spec.versions) deps.discovery.invalidate(`${spec.group}/${v.name}`);
      return true;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  return false;
}

async function pruneOne(deps: SyncDeps, r: ManagedResource, opts: SyncOptions): Promise<ResourceResult> {
  if (!opts.prune || !r.rt) return line(r, 'PruneSkipped', 'ignored (requires pruning)');
  try {
    await deleteObject(deps.client, r.rt, r.namespace || undefined, r.name, opts.prunePropagationPolicy ?? 'Foreground');
  } catch (err) {
    if (!isNotFound(err)) return line(r, 'SyncFailed', (err as Error).message);
  }
  return line(r, 'Pruned', `${r.kind.toLowerCase()}${r.group ? '.' + r.group : ''}/${r.name} pruned`);
}
