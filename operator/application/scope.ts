/**
 * What an Application may deploy when capstan runs with `--watch-namespaces` (a tenant install whose
 * RBAC is Roles in the listed namespaces, see kube/scope.ts): namespaced objects in the listed
 * namespaces only. Its destination namespace must be listed, and it may render no cluster-scoped
 * object (nor ask `CreateNamespace=true`, which creates one). Anything else is a ComparisonError
 * naming the flag, raised before any live read, dry-run or apply, so a scoped capstan never sends a
 * request its Roles forbid and nothing of the app changes in the cluster.
 *
 * Argo CD's namespaced install behaves alike in effect (its cluster secret lists `namespaces`, and a
 * cluster-scoped resource is refused unless `clusterResources` is true); capstan says so up front, in
 * one condition, instead of a forbidden error per resource.
 */
import type { Discovery, ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import { WATCH_NAMESPACES_FLAG, inScope, isScoped } from '../kube/scope';

/** Most offending objects one message names (the rest are counted). */
const MAX_NAMED = 5;

/** The app does not fit the watched namespaces; reported as a ComparisonError. */
export class WatchScopeError extends Error {
  override name = 'WatchScopeError';
}

/** The parts of an app the scope check reads. */
export interface ScopedApp {
  spec: {
    destination: { namespace?: string };
    syncPolicy?: { syncOptions?: string[] } | null;
  };
}

/** One rendered object after placement: its type (undefined when the server has no such kind). */
export interface PlacedObject {
  obj: KubeObject;
  rt?: ResourceType;
}

/** `--watch-namespaces=a,b` as the user wrote it (for messages). */
function flag(watch: readonly string[]): string {
  return `${WATCH_NAMESPACES_FLAG}=${watch.join(',')}`;
}

/**
 * Why the app's destination cannot be used by a scoped capstan, or undefined when it can (always
 * when cluster-wide). An empty destination namespace is left to the per-object check: an app of
 * namespaced objects that all name their namespace is fine.
 */
export function destinationScopeProblem(
  watch: readonly string[] | undefined,
  app: ScopedApp,
): string | undefined {
  if (!isScoped(watch)) return undefined;
  const ns = app.spec.destination.namespace;
  if (ns && !inScope(watch, ns))
    return `destination namespace "${ns}" is not watched: capstan runs with ${flag(watch)}`;
  if ((app.spec.syncPolicy?.syncOptions ?? []).includes('CreateNamespace=true'))
    return `CreateNamespace=true creates a Namespace (cluster-scoped), which capstan running with ${flag(watch)} may not manage`;
  return undefined;
}

/**
 * The rendered objects a scoped capstan may not manage, one line each: cluster-scoped ones, and
 * namespaced ones outside the watched namespaces (a kind the server does not serve counts as
 * namespaced, as in the comparison). Empty when cluster-wide.
 */
export function objectScopeProblems(watch: readonly string[] | undefined, placed: PlacedObject[]): string[] {
  if (!isScoped(watch)) return [];
  const out: string[] = [];
  for (const { obj, rt } of placed) {
    const id = `${obj.kind}/${obj.metadata.name ?? ''}`;
    if (rt && !rt.namespaced) out.push(`${id} is cluster-scoped`);
    else if (!obj.metadata.namespace) out.push(`${id} has no namespace (destination.namespace is empty)`);
    else if (!inScope(watch, obj.metadata.namespace))
      out.push(`${id} is in namespace "${obj.metadata.namespace}", which is not watched`);
  }
  return out;
}

/**
 * Throws when a scoped capstan may not deploy the app's destination.
 * @throws WatchScopeError naming `--watch-namespaces`.
 */
export function assertDestinationInScope(watch: readonly string[] | undefined, app: ScopedApp): void {
  const problem = destinationScopeProblem(watch, app);
  if (problem) throw new WatchScopeError(problem);
}

/**
 * Throws when a scoped capstan may not manage some rendered objects (see {@link objectScopeProblems});
 * places each object first (its kind's scope from discovery, the destination namespace filled in).
 * Does nothing, not even placement, when cluster-wide.
 * @param place - compare's placement (`placeObject`), passed in so that this module stays below it.
 * @throws WatchScopeError naming `--watch-namespaces` and up to five objects.
 */
export async function assertObjectsInScope(
  ctx: { discovery: Discovery; settings: { watchNamespaces?: readonly string[] } },
  app: ScopedApp,
  objects: KubeObject[],
  place: (d: Discovery, obj: KubeObject, ns: string | undefined) => Promise<PlacedObject>,
): Promise<void> {
  const watch = ctx.settings.watchNamespaces;
  if (!isScoped(watch)) return;
  const placed = await Promise.all(
    objects.map((o) => place(ctx.discovery, o, app.spec.destination.namespace)),
  );
  const problems = objectScopeProblems(watch, placed);
  if (!problems.length) return;
  const named = problems.slice(0, MAX_NAMED).join('; ');
  const more = problems.length > MAX_NAMED ? ` (and ${problems.length - MAX_NAMED} more)` : '';
  throw new WatchScopeError(
    `capstan runs with ${flag(watch)} and manages namespaced objects in those namespaces only: ${named}${more}`,
  );
}
