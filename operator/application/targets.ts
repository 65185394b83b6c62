/**
 * Compare pipeline step "place": the rendered objects of an app become its desired resources. Duplicates
 * are dropped (the last rendering wins), hooks are set apart, each object gets its resource type and
 * namespace from discovery and the app's tracking, and the project's per-object check marks what it
 * refuses. Nothing here reads the cluster but discovery.
 */
import { Discovery, ResourceType, UnknownKindError } from '../kube/discovery';
import { KubeObject, groupVersion } from '../kube/object';
import type { ObjectIdentity } from '../appproject/resources';
import { withTracking } from '../sync/tracking';
import type { ManagedResource } from '../sync/resource';
import { classifyHook, HookType } from '../sync/hooks';
import type { ProjectGate } from './project';
import type { ComparableApp, Comparison } from './compare';

/** A rendered hook and its hook types, before placement. */
export interface RenderedHook {
  obj: KubeObject;
  types: HookType[];
}

/** Splits rendered objects into plain resources and hooks (objects marked to be skipped are dropped). */
export function splitHooks(objects: KubeObject[]): { plain: KubeObject[]; hooks: RenderedHook[] } {
  const plain: KubeObject[] = [];
  const hooks: RenderedHook[] = [];
  for (const obj of objects) {
    const c = classifyHook(obj);
    if (c.kind === 'resource') plain.push(obj);
    else if (c.kind === 'hook') hooks.push({ obj, types: c.types });
  }
  return { plain, hooks };
}

/** An object rendered more than once (Argo CD's RepeatedResourceWarning). */
export interface RepeatedResource {
  /** `group/Kind/namespace/name`, the destination namespace filled in where the object has none. */
  key: string;
  /** How many times it was rendered. */
  count: number;
  /** The indexes of the sources that rendered it, in order; the last one's object is used. */
  sources: number[];
}

/**
 * Later duplicates of the same object (same apiVersion group, kind, namespace, name) replace earlier ones, as
 * Argo CD's `DeduplicateTargetObjects`: in a multi-source app the last source to render an object wins. As
 * there, an object without a namespace counts as in the destination namespace, so that a chart's
 * `{{ .Release.Namespace }}` object and a plain manifest of another source are the same object.
 * @param origins - the source index of each object, same order.
 * @param destinationNamespace - `spec.destination.namespace`.
 */
export function dedupe(
  objects: KubeObject[],
  origins: number[] = [],
  destinationNamespace = '',
): { objects: KubeObject[]; repeated: RepeatedResource[] } {
  const byKey = new Map<string, KubeObject>();
  const seen = new Map<string, number[]>();
  objects.forEach((o, i) => {
    const ns = o.metadata.namespace || destinationNamespace;
    const key = `${groupVersion(o.apiVersion).group}/${o.kind}/${ns}/${o.metadata.name ?? ''}`;
    byKey.set(key, o);
    seen.set(key, [...(seen.get(key) ?? []), origins[i] ?? 0]);
  });
  const repeated = [...seen]
    .filter(([, from]) => from.length > 1)
    .map(([key, from]) => ({ key, count: from.length, sources: from }));
  return { objects: [...byKey.values()], repeated };
}

/**
 * Resolves a rendered object's resource type and fills in the destination namespace for namespaced
 * kinds (cluster-scoped ones lose any namespace), as Argo CD does.
 */
export async function placeObject(
  discovery: Discovery,
  obj: KubeObject,
  destinationNamespace: string | undefined,
): Promise<{ obj: KubeObject; rt?: ResourceType }> {
  try {
    const rt = await discovery.resourceFor(obj.apiVersion, obj.kind);
    const metadata = { ...obj.metadata };
    if (rt.namespaced && !metadata.namespace && destinationNamespace)
      metadata.namespace = destinationNamespace;
    if (!rt.namespaced) delete metadata.namespace;
    return { obj: { ...obj, metadata }, rt };
  } catch (err) {
    if (!(err instanceof UnknownKindError)) throw err;
    const metadata = { ...obj.metadata };
    if (!metadata.namespace && destinationNamespace) metadata.namespace = destinationNamespace;
    return { obj: { ...obj, metadata } };
  }
}

/**
 * The desired resources of an app: placed, tracked and checked against the project. A resource the
 * project refuses is Unknown (as Argo CD: not even dry-run, since a dry-run is a write request the
 * project does not allow), one of a kind the server does not serve is OutOfSync; both are final here.
 * Every other one is OutOfSync until the assess step (assess.ts) reads its live object and diffs it.
 * @returns the resources, in render order, and which of them the assess step compares.
 */
export async function placeTargets(
  discovery: Discovery,
  app: ComparableApp,
  appInstance: string,
  rendered: KubeObject[],
  gate: ProjectGate,
): Promise<PlacedTarget[]> {
  const out: PlacedTarget[] = [];
  for (const raw of rendered) {
    const { obj, rt } = await placeObject(discovery, raw, app.spec.destination.namespace);
    const target = withTracking(obj, appInstance);
    const base = identify(target, rt);
    const denied = gate.objectViolation(objectIdentity(base));
    if (denied) {
      out.push({ resource: { ...base, status: 'Unknown', message: denied, denied }, compare: false });
    } else if (!rt) {
      const message = `the server has no resource for ${target.kind} in ${target.apiVersion}`;
      out.push({ resource: { ...base, status: 'OutOfSync', message }, compare: false });
    } else {
      out.push({ resource: { ...base, status: 'OutOfSync' }, compare: true });
    }
  }
  return out;
}

/** A desired resource, and whether the assess step compares it with its live object. */
export interface PlacedTarget {
  resource: ManagedResource;
  /** False when its status is final already (refused by the project, or a kind the server lacks). */
  compare: boolean;
}

/**
 * The destination namespace that `CreateNamespace=true` would create, as a refused resource when the project
 * does not permit that Namespace (Argo CD: "resource :Namespace is not permitted in project P"), so that
 * status shows it and the sync fails before it creates anything; nothing when it is permitted or not asked.
 */
export function refusedManagedNamespace(
  app: ComparableApp,
  gate: ProjectGate,
  resources: ManagedResource[],
): ManagedResource[] {
  const name = app.spec.destination.namespace;
  if (!name || !(app.spec.syncPolicy?.syncOptions ?? []).includes('CreateNamespace=true')) return [];
  // Rendered from git too: that resource is checked already.
  if (resources.some((r) => r.group === '' && r.kind === 'Namespace' && r.name === name)) return [];
  const denied = gate.objectViolation({
    group: '',
    kind: 'Namespace',
    name,
    namespace: '',
    namespaced: false,
  });
  if (!denied) return [];
  const target: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  return [
    {
      group: '',
      version: 'v1',
      kind: 'Namespace',
      namespace: '',
      name,
      target,
      status: 'Unknown',
      message: denied,
      denied,
    },
  ];
}

/**
 * What the project checks of a resource. A kind the server does not serve yet counts as namespaced (as
 * Argo CD); once its CRD exists the next comparison knows its scope.
 */
function objectIdentity(r: Omit<ManagedResource, 'status'>): ObjectIdentity {
  return {
    group: r.group,
    kind: r.kind,
    name: r.name,
    namespace: r.namespace,
    namespaced: r.rt ? r.rt.namespaced : true,
  };
}

/** The identity fields of a managed resource for a desired object. */
function identify(target: KubeObject, rt: ResourceType | undefined): Omit<ManagedResource, 'status'> {
  const { group, version } = groupVersion(target.apiVersion);
  return {
    group,
    version,
    kind: target.kind,
    namespace: target.metadata.namespace ?? '',
    name: target.metadata.name ?? '',
    target,
    rt,
  };
}

/** The app's hooks, placed and tracked (a `generateName` hook has no name to track), checked against the project. */
export async function placeHooks(
  discovery: Discovery,
  app: ComparableApp,
  appInstance: string,
  hooks: RenderedHook[],
  gate: ProjectGate,
): Promise<Comparison['hooks']> {
  const out: Comparison['hooks'] = [];
  for (const h of hooks) {
    const { obj, rt } = await placeObject(discovery, h.obj, app.spec.destination.namespace);
    // A hook with generateName has no name to track it by until it is created.
    const target = obj.metadata.name ? withTracking(obj, appInstance) : obj;
    const base = identify(target, rt);
    // Hooks are objects the sync creates: the project bounds them like any other (Argo CD checks every task).
    const denied = gate.objectViolation(objectIdentity(base));
    out.push({ types: h.types, resource: { ...base, status: 'Synced', ...(denied ? { denied } : {}) } });
  }
  return out;
}
