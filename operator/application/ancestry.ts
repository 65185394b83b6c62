/**
 * App-of-apps cycles: an Application that renders, directly or through its children, an Application that
 * manages it. The self-managed bootstrap is one: the root Application renders the `capstan` Application,
 * whose chart renders the root again. capstan's built-in child-Application health (Argo CD has none) would
 * then deadlock: each app's health waits for the other's. The managers of an app are read from tracking
 * ids (`argocd.argoproj.io/tracking-id` of a live Application names the app that applied it), walking up
 * from the app itself; when the walk comes back to the app, every app on the way is both its ancestor and
 * its descendant, and counts as Healthy for its health and sync waves ({@link ancestorApplicationHealth}).
 */
import { ObjectMeta } from '../kube/object';
import { ancestorApplicationHealth } from '../health/application';
import { HealthStatus } from '../health/types';
import { AppCondition, ConditionType } from './conditions';
import { parseAppInstance, trackedBy } from '../sync/tracking';

/** Longest chain of managers walked (deeper app-of-apps trees are not expected). */
export const MAX_ANCESTRY_DEPTH = 32;

/** An app-of-apps cycle through one app. */
export interface AppCycle {
  /**
   * The Applications on the cycle as `namespace/name`, the app itself included (it may render itself):
   * counted as Healthy when the app assesses them.
   */
  members: ReadonlySet<string>;
  /** The cycle in words, from the app, each app managing the next: `root -> capstan -> root`. */
  path: string;
}

/** A live Application as the walk reads it (an `App` or any object of the API). */
export interface LiveApp {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** Reads a live Application; `undefined` when it does not exist. */
export type ReadApp = (namespace: string, name: string) => Promise<LiveApp | undefined>;

/**
 * The app-of-apps cycle the app is on, if any: follows the app's manager (the app instance its tracking
 * id names), then that app's manager, and so on, until the walk returns to the app (a cycle), reaches an
 * app nobody manages or that does not exist, loops without the app, or exceeds
 * {@link MAX_ANCESTRY_DEPTH}. App instances are named as in tracking ids (`name` in the controller's
 * namespace, else `namespace_name`, Argo CD's apps in any namespace).
 * @param app - the live app.
 * @param controllerNamespace - the namespace capstan runs in.
 * @param readApp - reads an Application (the API server; errors are thrown to the caller).
 */
export async function findAppCycle(
  app: LiveApp,
  controllerNamespace: string,
  readApp: ReadApp,
): Promise<AppCycle | undefined> {
  const self = keyOf(app.metadata.namespace ?? '', app.metadata.name ?? '');
  const managers: Array<{ key: string; instance: string }> = [];
  let current: LiveApp | undefined = app;
  while (current && managers.length < MAX_ANCESTRY_DEPTH) {
    // The tracking id must name this Application itself (a copied annotation names another object).
    const instance = trackedBy({
      ...current,
      apiVersion: current.apiVersion ?? '',
      kind: current.kind ?? '',
    });
    if (!instance) return undefined;
    const { namespace, name } = parseAppInstance(instance, controllerNamespace);
    const key = keyOf(namespace, name);
    if (key === self) return cycleOf(self, instance, managers);
    if (managers.some((m) => m.key === key)) return undefined;
    managers.push({ key, instance });
    current = await readApp(namespace, name);
  }
  return undefined;
}

/** The cycle from the app: it manages its last manager found, which manages the one before, ... */
function cycleOf(
  self: string,
  selfInstance: string,
  managers: Array<{ key: string; instance: string }>,
): AppCycle {
  const names = [selfInstance, ...managers.map((m) => m.instance).reverse(), selfInstance];
  return { members: new Set([self, ...managers.map((m) => m.key)]), path: names.join(' -> ') };
}

/**
 * The health a cycle gives a resource of the app: {@link ancestorApplicationHealth} for an Application on
 * the cycle, `undefined` (assess it as usual) for anything else.
 */
export function cycleHealth(
  cycle: AppCycle | undefined,
  r: { group: string; kind: string; namespace: string; name: string },
): HealthStatus | undefined {
  if (!cycle || !isCycleMember(cycle.members, r)) return undefined;
  return ancestorApplicationHealth(cycle.path);
}

/** Whether the resource is an Application whose `namespace/name` is in `members`. */
export function isCycleMember(
  members: ReadonlySet<string> | undefined,
  r: { group: string; kind: string; namespace: string; name: string },
): boolean {
  return (
    !!members &&
    r.group === 'argoproj.io' &&
    r.kind === 'Application' &&
    members.has(keyOf(r.namespace, r.name))
  );
}

/** Whether any resource of the comparison is an Application: only then can the app be on a cycle. */
export function rendersApplications(resources: Array<{ group: string; kind: string }>): boolean {
  return resources.some((r) => r.group === 'argoproj.io' && r.kind === 'Application');
}

/**
 * The condition that shows the cycle once in status (it keeps its transition time while the cycle stays),
 * instead of a warning per refresh.
 */
export function cycleCondition(cycle: AppCycle): AppCondition {
  return {
    type: ConditionType.AppOfAppsCycle,
    message:
      `This application is on an app-of-apps cycle (${cycle.path}): it is managed by an application it ` +
      'deploys, so that application counts as Healthy for its health and sync waves instead of being waited for',
  };
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
