/**
 * Orphaned resources, as Argo CD reports them for a project with `orphanedResources` set: the top-level
 * objects (no ownerReferences) in the app's destination namespace that no application tracks are
 * orphaned, except Argo CD's known exclusions (the `kubernetes` Service of `default`, every `default`
 * ServiceAccount, every `kube-root-ca.crt` ConfigMap), the project's `ignore` entries (group, kind and
 * name as globs), kinds the project does not permit in a namespace, and the app's own Application
 * object when the app lives in its destination namespace. With `warn` (true when unset, as
 * Argo CD's `IsWarn`) the app gets an `OrphanedResourceWarning` condition; capstan's message also lists
 * the objects (group/kind, name), where Argo CD shows them in its UI's resource tree.
 *
 * Argo CD watches every kind of the cluster all the time; capstan watches only what it manages, so the
 * namespace is listed at each refresh of an app whose project asks for the check: one metadata-only list
 * per namespaced resource type the API server serves (no object data is read, Secrets included), shared
 * by the apps of the namespace for a few seconds.
 */
import { KubeClient } from '../kube/client';
import { groupKindNamePermitted } from '../appproject/resources';
import type { ProjectSpec } from '../appproject/permissions';
import type { App } from './api';
import type { ApplicationContext } from './context';
import { globToRegExp } from '../render/glob';
import { AppCondition, ConditionType } from './conditions';
import { trackedBy } from '../sync/tracking';

/** The project's `spec.orphanedResources`. */
export interface OrphanedResourcesSettings {
  /** Report orphans with a condition; true when unset (Argo CD). */
  warn?: boolean | null;
  /** Never reported: group, kind and name as globs; an empty kind or name matches any, an empty group only the core group. */
  ignore?: Array<{ group?: string; kind?: string; name?: string }>;
}

/** An object's identity and what decides whether it is an orphan. */
export interface NamespacedObjectMeta {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** Has ownerReferences: not top-level, never an orphan (its owner is judged). */
  owned: boolean;
  /** The app instance its tracking id names, if any. */
  trackedBy?: string;
}

/** How many orphans a condition names; the count always covers them all. */
const MAX_LISTED = 20;

/** Argo CD's glob.Match (gobwas, no separators); a malformed pattern matches nothing. */
function glob(pattern: string, value: string): boolean {
  if (pattern === value) return true;
  try {
    return globToRegExp(pattern).matches(value);
  } catch {
    return false;
  }
}

/**
 * Whether an object is never an orphan (Argo CD's `isKnownOrphanedResourceExclusion`): the objects
 * Kubernetes itself creates in every namespace, and the project's `ignore` entries.
 */
export function ignoredOrphan(o: NamespacedObjectMeta, settings: OrphanedResourcesSettings): boolean {
  if (o.group === '' && o.kind === 'Service' && o.name === 'kubernetes' && o.namespace === 'default')
    return true;
  if (o.group === '' && o.kind === 'ServiceAccount' && o.name === 'default') return true;
  if (o.group === '' && o.kind === 'ConfigMap' && o.name === 'kube-root-ca.crt') return true;
  return (settings.ignore ?? []).some(
    (i) =>
      (!i.kind || glob(i.kind, o.kind)) && glob(i.group ?? '', o.group) && (!i.name || glob(i.name, o.name)),
  );
}

/**
 * The orphans among a namespace's objects, sorted by group, kind and name.
 * @param objects - the namespace's objects ({@link NamespaceLister.list}).
 * @param permitted - whether the project permits the group/kind in a namespace; others are not reported.
 */
export function findOrphans(
  objects: NamespacedObjectMeta[],
  settings: OrphanedResourcesSettings,
  permitted: (o: NamespacedObjectMeta) => boolean = () => true,
): NamespacedObjectMeta[] {
  return objects
    .filter((o) => !o.owned && !o.trackedBy && !ignoredOrphan(o, settings) && permitted(o))
    .sort((a, b) => `${a.group}/${a.kind}/${a.name}`.localeCompare(`${b.group}/${b.kind}/${b.name}`, 'en'));
}

/**
 * The `OrphanedResourceWarning` condition, or undefined when there are no orphans or `warn` is false.
 * @returns e.g. `Application has 2 orphaned resources: ConfigMap/stray, apps/Deployment/old` (Argo CD's
 *   sentence, then the first 20 objects).
 */
export function orphanCondition(
  orphans: NamespacedObjectMeta[],
  settings: OrphanedResourcesSettings,
): AppCondition | undefined {
  if (orphans.length === 0 || settings.warn === false) return undefined;
  const names = orphans.slice(0, MAX_LISTED).map((o) => `${o.group ? `${o.group}/` : ''}${o.kind}/${o.name}`);
  const more = orphans.length > MAX_LISTED ? ` and ${orphans.length - MAX_LISTED} more` : '';
  return {
    type: ConditionType.OrphanedResourceWarning,
    message: `Application has ${orphans.length} orphaned resources: ${names.join(', ')}${more}`,
  };
}

/**
 * Resource types never listed, as Argo CD's default resource exclusions and its built-in ones: events,
 * endpoints and endpoint slices, leases, access reviews, metrics, and the intermediate objects of
 * cert-manager, Cilium and Kyverno.
 */
const EXCLUDED_GROUPS = new Set([
  'events.k8s.io',
  'metrics.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
]);
const EXCLUDED_KINDS = new Set([
  '/Event',
  '/Endpoints',
  'discovery.k8s.io/EndpointSlice',
  'coordination.k8s.io/Lease',
  'certificates.k8s.io/CertificateSigningRequest',
  'cert-manager.io/CertificateRequest',
  'cilium.io/CiliumIdentity',
  'cilium.io/CiliumEndpoint',
  'cilium.io/CiliumEndpointSlice',
  'kyverno.io/UpdateRequest',
  'kyverno.io/AdmissionReport',
  'kyverno.io/BackgroundScanReport',
  'reports.kyverno.io/EphemeralReport',
  'wgpolicyk8s.io/PolicyReport',
]);

/** A namespaced resource type that can be listed. */
interface ListableType {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

interface APIResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }>;
}
interface APIGroupList {
  groups: Array<{ name: string; preferredVersion?: { groupVersion: string; version: string } }>;
}
interface MetadataList {
  items?: Array<{
    metadata?: {
      name?: string;
      namespace?: string;
      ownerReferences?: Array<Record<string, unknown>>;
      annotations?: Record<string, string>;
    };
  }>;
  metadata?: { continue?: string };
}

/** One listed item as the orphan check sees it. */
function objectMeta(
  rt: ListableType,
  namespace: string,
  m: NonNullable<NonNullable<MetadataList['items']>[number]['metadata']>,
): NamespacedObjectMeta {
  // A tracking id counts only when it names this very object (a copied annotation does not).
  const apiVersion = rt.group ? `${rt.group}/${rt.version}` : rt.version;
  const tracker = trackedBy({
    apiVersion,
    kind: rt.kind,
    metadata: { ...m, namespace: m.namespace ?? namespace },
  });
  return {
    group: rt.group,
    kind: rt.kind,
    namespace: m.namespace ?? namespace,
    name: m.name ?? '',
    owned: (m.ownerReferences?.length ?? 0) > 0,
    trackedBy: tracker,
  };
}

/** Options of a {@link NamespaceLister}. */
export interface NamespaceListerOptions {
  /** How long one namespace's listing is reused, in ms (default 5 s). */
  ttlMs?: number;
  /** How long the list of resource types is reused, in ms (default 5 min; CRDs come and go). */
  typesTtlMs?: number;
  /** Lists run at once (default 4). */
  concurrency?: number;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * Lists every top-level object of a namespace across the resource types the API server serves, metadata
 * only. Types the caller may not list (403) or that vanished (404) are skipped.
 */
export class NamespaceLister {
  private types?: { at: number; list: Promise<ListableType[]> };
  private readonly cache = new Map<string, { at: number; objects: Promise<NamespacedObjectMeta[]> }>();
  private readonly ttlMs: number;
  private readonly typesTtlMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    opts: NamespaceListerOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.typesTtlMs = opts.typesTtlMs ?? 300_000;
    this.concurrency = opts.concurrency ?? 4;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The namespace's objects (owned ones included, flagged), from a listing at most `ttlMs` old.
   * @throws KubeApiError when discovery fails (a failed list of one type is skipped, see above).
   */
  list(namespace: string): Promise<NamespacedObjectMeta[]> {
    const hit = this.cache.get(namespace);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.objects;
    const objects = this.fetch(namespace);
    this.cache.set(namespace, { at: this.now(), objects });
    objects.catch(() => this.cache.delete(namespace));
    // Entries of namespaces no app asks about any more are dropped.
    for (const [ns, e] of this.cache) if (this.now() - e.at > 10 * this.ttlMs) this.cache.delete(ns);
    return objects;
  }

  private async fetch(namespace: string): Promise<NamespacedObjectMeta[]> {
    const types = await this.listableTypes();
    const out: NamespacedObjectMeta[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < types.length) {
        const rt = types[next++];
        out.push(...(await this.listType(rt, namespace)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, types.length) }, worker));
    return out;
  }

  private async listType(rt: ListableType, namespace: string): Promise<NamespacedObjectMeta[]> {
    const base = `${rt.group ? `/apis/${rt.group}` : '/api'}/${rt.version}/namespaces/${encodeURIComponent(namespace)}/${rt.plural}`;
    const out: NamespacedObjectMeta[] = [];
    let cont: string | undefined;
    do {
      let page: MetadataList;
      try {
        page = await this.client.request<MetadataList>('GET', base, {
          query: { limit: 500, continue: cont },
          accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
        });
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 403 || status === 404 || status === 405) return out;
        throw err;
      }
      for (const item of page.items ?? []) out.push(objectMeta(rt, namespace, item.metadata ?? {}));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  private listableTypes(): Promise<ListableType[]> {
    if (this.types && this.now() - this.types.at < this.typesTtlMs) return this.types.list;
    const list = this.discover();
    this.types = { at: this.now(), list };
    list.catch(() => (this.types = undefined));
    return list;
  }

  /** Preferred version of each group; namespaced resources with the list verb, minus the exclusions. */
  private async discover(): Promise<ListableType[]> {
    const groups = await this.client.request<APIGroupList>('GET', '/apis');
    const gvs = [
      { group: '', version: 'v1', path: '/api/v1' },
      ...groups.groups
        .filter((g) => g.preferredVersion && !EXCLUDED_GROUPS.has(g.name))
        .map((g) => ({
          group: g.name,
          version: g.preferredVersion!.version,
          path: `/apis/${g.preferredVersion!.groupVersion}`,
        })),
    ];
    const out: ListableType[] = [];
    for (const gv of gvs) {
      let list: APIResourceList;
      try {
        list = await this.client.request<APIResourceList>('GET', gv.path);
      } catch {
        continue; // an aggregated API that is down: its objects are not judged this time
      }
      for (const r of list.resources) {
        if (!r.namespaced || r.name.includes('/') || !(r.verbs ?? []).includes('list')) continue;
        if (EXCLUDED_KINDS.has(`${gv.group}/${r.kind}`)) continue;
        out.push({ group: gv.group, version: gv.version, kind: r.kind, plural: r.name });
      }
    }
    return out;
  }
}

/** One lister per API client, shared by the apps of a process. */
const listers = new WeakMap<KubeClient, NamespaceLister>();

/**
 * The app's `OrphanedResourceWarning`, or undefined when its project does not ask for the check
 * (`orphanedResources` unset), `warn` is false, the destination has no namespace, or nothing is orphaned.
 * A listing failure is logged and reported as nothing: the check is advisory and never blocks a sync.
 * @param project - the app's project spec (its `orphanedResources` and resource lists).
 */
export async function orphanedResourceWarning(
  ctx: Pick<ApplicationContext, 'client' | 'log'>,
  app: App,
  project: (ProjectSpec & { orphanedResources?: OrphanedResourcesSettings }) | undefined,
): Promise<AppCondition | undefined> {
  const settings = project?.orphanedResources;
  const namespace = app.spec.destination.namespace;
  if (!project || !settings || settings.warn === false || !namespace) return undefined;
  let lister = listers.get(ctx.client);
  if (!lister) listers.set(ctx.client, (lister = new NamespaceLister(ctx.client)));
  try {
    const objects = await lister.list(namespace);
    // Argo CD reports only kinds the project permits in a namespace.
    // The app's own Application object (an app may live in its destination namespace) is no orphan.
    const self = (o: NamespacedObjectMeta) =>
      o.group === 'argoproj.io' &&
      o.kind === 'Application' &&
      o.name === app.metadata.name &&
      o.namespace === app.metadata.namespace;
    const permitted = (o: NamespacedObjectMeta) =>
      !self(o) && groupKindNamePermitted(project, { ...o, namespaced: true });
    return orphanCondition(findOrphans(objects, settings, permitted), settings);
  } catch (err) {
    ctx.log.warn('Listing the destination namespace for orphaned resources failed.', {
      app: `${app.metadata.namespace}/${app.metadata.name}`,
      namespace,
      error: (err as Error).message,
    });
    return undefined;
  }
}
