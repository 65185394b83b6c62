/**
 * API discovery: which resource (plural) serves a kind, and whether it is namespaced. No hard-coded
 * kind tables: every answer comes from the API server's `/api/v1` and `/apis/<group>/<version>`
 * resource lists, fetched once per group-version and re-fetched on a miss (a CRD applied in the same
 * sync becomes known as soon as it is established).
 */
import { KubeApiError, KubeClient, isNotFound } from './client';
import { groupVersion } from './object';

/** A resource type as discovery reports it. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  /** The plural resource name used in URLs, e.g. `deployments`. */
  plural: string;
  namespaced: boolean;
}

/** Thrown when no served resource matches an apiVersion and kind. */
export class UnknownKindError extends Error {
  override name = 'UnknownKindError';
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`the server has no resource for kind ${kind} in ${apiVersion}`);
  }
}

interface APIResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/** Caching discovery client. */
export class Discovery {
  private readonly lists = new Map<string, Promise<ResourceType[]>>();

  constructor(private readonly client: KubeClient) {}

  /**
   * The resource type serving `kind` in `apiVersion`.
   * @throws UnknownKindError when the group-version does not serve the kind (after one re-fetch).
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceType> {
    let found = (await this.list(apiVersion)).find((r) => r.kind === kind);
    if (!found) {
      this.lists.delete(apiVersion);
      found = (await this.list(apiVersion)).find((r) => r.kind === kind);
    }
    if (!found) throw new UnknownKindError(apiVersion, kind);
    return found;
  }

  /** Forgets everything (for example after CRDs changed). */
  invalidate(apiVersion?: string): void {
    if (apiVersion) this.lists.delete(apiVersion);
    else this.lists.clear();
  }

  private list(apiVersion: string): Promise<ResourceType[]> {
    let p = this.lists.get(apiVersion);
    if (!p) {
      p = this.fetch(apiVersion);
      this.lists.set(apiVersion, p);
      p.catch(() => this.lists.delete(apiVersion));
    }
    return p;
  }

  private async fetch(apiVersion: string): Promise<ResourceType[]> {
    const { group, version } = groupVersion(apiVersion);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    try {
      const list = await this.client.request<APIResourceList>('GET', path);
      return list.resources
        .filter((r) => !r.name.includes('/'))
        .map((r) => ({ group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced }));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }
}

/**
 * The URL path of a resource collection or object.
 * @param rt - the resource type.
 * @param namespace - required for namespaced types when naming one object or one namespace's list.
 * @param name - an object's name, or undefined for the collection.
 */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string): string {
  let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  return p;
}

export { KubeApiError };
