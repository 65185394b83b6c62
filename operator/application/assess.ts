/**
 * Compare pipeline step "assess": the desired state (desired.ts) against the live state: each desired
 * resource's live object and diff (livestate.ts), the prune candidates (prune.ts), the refused managed
 * namespace, and the app's sync status. Run once per desired state and again after a sync in the same
 * reconcile (live objects then include what the sync wrote, sync/recent.ts), never rendering again.
 */
import { hasCompareOption } from '../diff/ignore';
import type { ManagedResource } from '../sync/resource';
import { ApplicationContext } from './context';
import { DesiredState } from './desired';
import { diffOne, readLive } from './livestate';
import { pruneCandidates } from './prune';
import { refusedManagedNamespace } from './targets';
import type { ComparableApp, Comparison } from './compare';

/**
 * Compares a desired state with the live state.
 * @throws IgnoreRuleError (a jq path of ignoreDifferences that fails), KubeApiError (an informer's first
 *   list): the caller reports a ComparisonError.
 */
export async function assess(
  ctx: ApplicationContext,
  app: ComparableApp,
  appInstance: string,
  desired: DesiredState,
): Promise<Comparison> {
  const ignore = app.spec.ignoreDifferences ?? [];
  const resources: ManagedResource[] = [];
  for (const { resource, compare } of desired.targets) {
    if (!compare || !resource.rt || !resource.target) {
      // A copy: the sync engine sets fields on the resources it runs (a resource type it resolved).
      resources.push({ ...resource });
      continue;
    }
    const live = await readLive(ctx.live, resource.rt, resource.target);
    resources.push({
      ...resource,
      live,
      ...(await diffOne(ctx.client, resource.rt, resource.target, live, ignore)),
    });
  }
  resources.push(...(await pruneCandidates(ctx, app, appInstance, resources, desired.gate)));
  resources.push(...refusedManagedNamespace(app, desired.gate, resources));
  return {
    revisions: desired.revisions,
    sourceTypes: desired.sourceTypes,
    resources,
    hooks: desired.hooks,
    status: syncStatus(resources),
    repeated: desired.repeated,
    desired,
  };
}

/**
 * Synced when every resource is, an object no longer in git with the IgnoreExtraneous compare option left
 * out (it does not make the app OutOfSync, as Argo CD).
 */
export function syncStatus(resources: ManagedResource[]): Comparison['status'] {
  const counted = resources.filter(
    (r) => !(r.requiresPruning && r.live && hasCompareOption(r.live, 'IgnoreExtraneous')),
  );
  return counted.every((r) => r.status === 'Synced') ? 'Synced' : 'OutOfSync';
}
