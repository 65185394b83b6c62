/**
 * Compare pipeline step "prune candidates": the objects tracked by the app (tracking id names the app and
 * the object) that git no longer renders, found through the live cache's index by tracking id: O(this
 * app's objects), not O(every managed object).
 */
import { UnknownKindError } from '../kube/discovery';
import { trackedBy } from '../sync/tracking';
import type { ManagedResource } from '../sync/resource';
import { classifyHook } from '../sync/hooks';
import { recentWrites } from '../sync/recent';
import { ProjectGate, liveObjectViolation } from './project';
import { ApplicationContext } from './context';
import type { ComparableApp } from './compare';

/** The message of a prune candidate. */
export const MSG_PRUNE = 'not in git any more';

/**
 * Starts the informers of every kind recorded in `status.resources`, so that objects of a kind git no
 * longer renders are still seen (for prune and cascade deletion), also after a restart. Kinds the
 * server no longer serves are skipped.
 */
export async function watchRecordedKinds(
  ctx: ApplicationContext,
  recorded: Array<{ group?: string; version?: string; kind: string }>,
): Promise<void> {
  for (const r of recorded) {
    const apiVersion = r.group ? `${r.group}/${r.version ?? ''}` : (r.version ?? 'v1');
    try {
      await ctx.live.ensure(await ctx.discovery.resourceFor(apiVersion, r.kind));
    } catch (err) {
      if (!(err instanceof UnknownKindError)) throw err;
    }
  }
}

/**
 * Objects tracked by this app (tracking id names the app and the object) that git no longer renders.
 * Informers are started for the kinds recorded in `status.resources` too, so that a kind removed from
 * git entirely is still found after a restart.
 */
export async function pruneCandidates(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  targets: ManagedResource[],
  gate: ProjectGate,
): Promise<ManagedResource[]> {
  await watchRecordedKinds(ctx, app.status?.resources ?? []);
  const wanted = new Set(targets.map((t) => `${t.group}/${t.kind}/${t.namespace}/${t.name}`));
  const out: ManagedResource[] = [];
  // The live cache indexes managed objects by tracking id (ApplicationOperator): O(this app's objects).
  for (const { rt, obj } of ctx.live.indexed(appInstance)) {
    if (trackedBy(obj) !== appInstance) continue;
    const key = `${rt.group}/${rt.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
    // Hooks are never pruned (Argo CD); their delete policies clean them up.
    if (wanted.has(key) || obj.metadata.deletionTimestamp || classifyHook(obj).kind !== 'resource') continue;
    // Pruned by capstan a moment ago, while the cache still holds the version before the delete.
    if (!recentWrites.resolve(rt, obj.metadata.namespace, obj.metadata.name ?? '', obj)) continue;
    // As Argo CD: a live object the project does not permit is left out, so it is never pruned.
    if (liveObjectViolation(gate, rt, obj)) continue;
    out.push({
      group: rt.group,
      version: rt.version,
      kind: rt.kind,
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name ?? '',
      rt,
      live: obj,
      status: 'OutOfSync',
      requiresPruning: true,
      message: MSG_PRUNE,
    });
  }
  return out;
}
